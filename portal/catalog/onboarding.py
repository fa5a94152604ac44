"""Registering, changing and decommissioning services: the one code path the pages and the API call.

Each proposes a change (portal.changes.workflow); none of them touches the applied declaration, which
moves only when the change has applied (portal.catalog.lifecycle).
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from portal import audit
from portal.access import permissions
from portal.access.models import Team
from portal.capacity import usage as capacity
from portal.catalog import layout, rules
from portal.catalog.models import DECLARATION_FIELDS, ENDED_STATUSES, Lifecycle, Service, ServiceRevision
from portal.changes.workflow import Refusal, Refused, propose
from portal.runs.models import Change
from portal.workspaces import images


def only_team(user) -> Team | None:
    """The team a registration goes to when none is named: the user's, when they are in one."""
    teams = list(Team.objects.of(user)[:2])
    return teams[0] if len(teams) == 1 else None


@transaction.atomic
def register_service(user, *, name: str, team=None, ends_at=None, **declaration) -> tuple[Service, Change]:
    """Register a validated declaration as revision 1 of a service of `team` (the user's only team
    when None), and plan its workspaces as one change. `ends_at`: when the portal decommissions it
    (portal.environments), None for a service that stays."""
    team = team or only_team(user)
    if team is None and permissions.team_ids(user):
        raise ValidationError({"team": ["Choose the team that will own it: you are in more than one."]})
    permissions.require(permissions.register_service(user, team))
    service = Service(name=name, created_by=user, team=team, ends_at=ends_at)
    service.full_clean()
    # The repository is made by the registration's first apply; one that exists already (made
    # outside the portal, or kept from the name's earlier life) is checked like any other.
    images.require_image(service.resource_name, declaration["image_tag"])
    service.listener_rule_priority = free_listener_rule_priority()
    try:
        with transaction.atomic():
            service.save()
    except IntegrityError:
        # Another registration of the same name committed first.
        raise ValidationError({"name": [rules.NAME_TAKEN]}) from None
    revision = new_revision(service, user, based_on=None, declaration=declaration)
    plans = layout.plans_for(service, revision)
    capacity.ensure_room(plans)  # a size or count the cluster cannot place is refused, nothing kept
    change = propose(
        f"Onboard {service.name}",
        plans,
        user,
        service=service,
        revision=revision,
        platform_approval=layout.secrets_newly_granted(service, revision),
    )
    ends = {"ends_at": ends_at.isoformat()} if ends_at else {}
    audit.record("service.register", user, service, change=change.pk, team=team.name, declaration=declaration, **ends)
    return service, change


@transaction.atomic
def change_service(service: Service, user, *, rollback_to: ServiceRevision | None = None, **edits) -> Change | None:
    """Propose the applied declaration plus these edits, and plan it. None when that is what is
    applied already, or what the change waiting for approval proposes already. `rollback_to`: the
    edits are that earlier revision's declaration, going back to it (portal.catalog.rollback).

    The service row is locked first, so two changes of one service take turns: the later one
    supersedes the earlier (which goes stale) and carries only its own edits."""
    unknown = set(edits) - set(DECLARATION_FIELDS)
    if unknown:
        raise ValueError(f"These fields cannot be changed: {', '.join(sorted(unknown))}")
    deploys_only = set(edits) == {"image_tag"}
    permissions.require((permissions.deploy_service if deploys_only else permissions.change_service)(user, service))
    service = active_locked(service)
    base = service.base_revision()
    declaration = {**base.declaration(), **edits}
    pending = pending_revision(service)
    if declaration == base.declaration() or (pending and declaration == pending.declaration()):
        return None  # applied already, or proposed already by the change that waits
    images.require_image(service.resource_name, declaration["image_tag"])
    revision = new_revision(service, user, based_on=base, declaration=declaration)
    summary = ", ".join(str(change) for change in revision.diff())
    plans = layout.plans_for(service, revision)
    capacity.ensure_room(plans)
    change = propose(
        f"Change {service.name}: {summary}",
        plans,
        user,
        service=service,
        revision=revision,
        platform_approval=layout.secrets_newly_granted(service, revision),
    )
    diff = {c.field: [c.old, c.new] for c in revision.diff()}
    if rollback_to is not None:
        audit.record("service.rollback", user, service, change=change.pk, diff=diff, revision=rollback_to.number)
    else:
        audit.record("service.deploy" if set(diff) == {"image_tag"} else "service.change", user, service, change=change.pk, diff=diff)
    return change


def decommission_service(service: Service, user) -> Change:
    """Plan the destruction of the service's workspaces (service first, repository last). The
    service is decommissioned once that change has applied."""
    permissions.require(permissions.decommission_service(user, service))
    return decommission(service, user, why="")


def decommission_at_its_end(service: Service) -> Change:
    """The portal's own decommission of a service whose end (Service.ends_at) has come."""
    return decommission(service, None, why=f"its end, {service.ends_at:%Y-%m-%d %H:%M} UTC, has come")


@transaction.atomic
def decommission(service: Service, user, *, why: str) -> Change:
    service = locked(service)
    if service.status in ENDED_STATUSES:
        raise Refused(not_active(service))
    if service.status == Lifecycle.DECOMMISSIONING and service.changes.pending().filter(destroys=True).exists():
        raise Refused(Refusal("decommission_pending", f"{service.name} is being decommissioned already."))
    change = propose(f"Decommission {service.name}", layout.plans_for(service, None), user, service=service, destroy=True)
    # After proposing: superseding an earlier decommission may have put the service back to active.
    Service.objects.filter(pk=service.pk).update(status=Lifecycle.DECOMMISSIONING)
    audit.record("service.decommission", user, service, change=change.pk, **({"why": why} if why else {}))
    return change


def free_listener_rule_priority() -> int:
    """The lowest listener rule priority no live service holds, taken under a lock held until the
    registration commits (two registrations at once would otherwise pick the same one); refused when
    the platform is full."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LISTENER_RULE_PRIORITY_LOCK])
    taken = set(Service.objects.live().exclude(listener_rule_priority=None).values_list("listener_rule_priority", flat=True))
    free = next((slot for slot in range(1, rules.LOAD_BALANCER_SERVICE_SLOTS + 1) if slot not in taken), None)
    if free is None:
        raise Refused(Refusal("platform_full", rules.PLATFORM_FULL.format(slots=rules.LOAD_BALANCER_SERVICE_SLOTS)))
    return free


# Any constant unique to this lock in the portal's database.
LISTENER_RULE_PRIORITY_LOCK = 7_240_001


def new_revision(service: Service, user, *, based_on: ServiceRevision | None, declaration: dict) -> ServiceRevision:
    number = (service.revisions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    revision = ServiceRevision(service=service, number=number, based_on=based_on, proposed_by=user, **declaration)
    revision.full_clean()
    revision.save()
    return revision


def pending_revision(service: Service) -> ServiceRevision | None:
    change = service.changes.proposing().first()
    return change.revision if change else None


def locked(service: Service) -> Service:
    return Service.objects.select_for_update().get(pk=service.pk)


def active_locked(service: Service) -> Service:
    """The service locked until the transaction ends, refused unless it is active: every change but a
    decommission asks this first. A change proposed while a decommission waits would supersede it and
    put the service back to active; the decommission is discarded on purpose, never by a side effect."""
    service = locked(service)
    if service.status != Lifecycle.ACTIVE:
        raise Refused(not_active(service))
    return service


def not_active(service: Service) -> Refusal:
    if service.status == Lifecycle.DECOMMISSIONED:
        return Refusal("decommissioned", f"{service.name} is decommissioned; register the name again to bring it back.")
    if service.status == Lifecycle.WITHDRAWN:
        return Refusal("withdrawn", f"{service.name} was withdrawn before anything of it was applied; register the name again.")
    return Refusal(
        "decommissioning",
        f"{service.name} is being decommissioned; discard that change first to change the service.",
    )


@transaction.atomic
def move_service(by, service, team: Team):
    """Give a service to another team: from now on that team's members change, deploy and approve it."""
    permissions.require(permissions.move_service(by, service))
    service = locked(service)
    if service.team_id == team.pk:
        raise ValidationError({"team": [f"{service.name} belongs to {team} already."]})
    before = service.team.name
    service.team = team
    service.save(update_fields=["team", "updated_at"])
    audit.record("service.move", by, service, from_team=before, to_team=team.name)
    return service
