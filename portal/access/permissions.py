"""Who may do what: one function per action, asked by the pages, the API and the tokens alike.

A user's role is one of the portal's groups (portal.access.groups: developers, approvers, admins);
their teams (portal.access.models) say for which services that role counts. Admins act for every
team and alone on the platform. Each function answers None when the user may, or a Refusal that
says why not; `require` turns a refusal into the 403 both surfaces show.

The functions read only attributes of what they are given (a service's `team_id`, a workspace's
`service`), so this module imports nothing above it.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils import timezone

from portal.core.refusals import Refusal

ROLE_DEVELOPER = "catalog.change_service"
ROLE_APPROVER = "runs.approve_run"
ROLE_ADMIN = "workspaces.manage_platform"


class Forbidden(PermissionDenied):
    """A refusal about who asks: the page's 403 and the API's 403 both say its sentence."""

    def __init__(self, refusal: Refusal):
        super().__init__(refusal.message)
        self.refusal = refusal


def require(refusal: Refusal | None) -> None:
    if refusal is not None:
        raise Forbidden(refusal)


# --- what the functions below ask ------------------------------------------------------------------
def is_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(ROLE_ADMIN))


def team_ids(user) -> frozenset[int]:
    """The ids of the user's teams, read once per user object (one request)."""
    if not (user and user.is_authenticated):
        return frozenset()
    cached = getattr(user, "_portal_team_ids", None)
    if cached is None:
        from portal.access.models import Membership

        cached = frozenset(Membership.objects.filter(user=user).values_list("team_id", flat=True))
        user._portal_team_ids = cached
    return cached


def forget_teams(user) -> None:
    """After the user's memberships changed in this request."""
    user.__dict__.pop("_portal_team_ids", None)


def acts_for(user, team_id) -> bool:
    """Whether the user's role counts for this team: a member of it, or an admin."""
    return is_admin(user) or team_id in team_ids(user)


def service_of(workspace):
    """The service a workspace belongs to; None for the platform's."""
    return workspace.service if workspace.service_id is not None else None


def forbidden(code: str, message: str) -> Refusal:
    return Refusal(code, message, forbidden=True)


def other_team(service, doing: str) -> Refusal:
    return forbidden(
        "other_team",
        f"{service.name} belongs to the team {service.team}: only its members {doing} it. Ask an admin to add you to that team.",
    )


# --- services --------------------------------------------------------------------------------------
def list_services(user) -> Refusal | None:
    if not user.has_perm("catalog.view_service"):
        return forbidden("no_role", "Reading services needs the developers', approvers' or admins' role.")
    return None


def view_service(user, service) -> Refusal | None:
    """Reading a service's declaration and history: the catalogue is open to every role unless
    PORTAL_CATALOGUE_OPEN is off; its runs' logs and plans are the team's (view_runs)."""
    if not user.has_perm("catalog.view_service"):
        return forbidden("no_role", "Reading services needs the developers', approvers' or admins' role.")
    if settings.PORTAL_CATALOGUE_OPEN or acts_for(user, service.team_id):
        return None
    return other_team(service, "read")


def register_service(user, team) -> Refusal | None:
    if not user.has_perm("catalog.add_service"):
        return forbidden("no_role", "Registering a service needs the developers' role.")
    if team is None:
        return forbidden("no_team", "A service belongs to a team; you are in none. Ask an admin to add you to one.")
    if not acts_for(user, team.pk):
        return forbidden("other_team", f"You are not a member of the team {team}: register into one of yours.")
    return None


def change_service(user, service) -> Refusal | None:
    """Proposing a new declaration: sizing, health check, secrets, a rollback, a restore."""
    if not user.has_perm(ROLE_DEVELOPER):
        return forbidden("no_role", "Changing a service needs the developers' role.")
    return None if acts_for(user, service.team_id) else other_team(service, "change")


def deploy_service(user, service) -> Refusal | None:
    """Proposing a new image tag, and nothing else."""
    if not user.has_perm(ROLE_DEVELOPER):
        return forbidden("no_role", "Deploying needs the developers' role.")
    return None if acts_for(user, service.team_id) else other_team(service, "deploy")


def decommission_service(user, service) -> Refusal | None:
    if not user.has_perm("catalog.delete_service"):
        return forbidden("no_role", "Decommissioning a service needs an admin.")
    return None


def move_service(user, service) -> Refusal | None:
    """Giving a service to another team."""
    if not is_admin(user):
        return forbidden("no_role", "Moving a service to another team needs an admin.")
    return None


def view_webhooks(user, service) -> Refusal | None:
    """Reading webhooks and their deliveries: a service's with the service, the platform's by its admins."""
    if service is None:
        return manage_platform(user)
    return view_service(user, service)


def manage_webhooks(user, service) -> Refusal | None:
    if service is None:
        return None if is_admin(user) else forbidden("no_role", "The platform's webhooks are managed by an admin.")
    if not user.has_perm(ROLE_DEVELOPER):
        return forbidden("no_role", "Adding or removing a webhook needs the developers' role.")
    return None if acts_for(user, service.team_id) else other_team(service, "add webhooks to")


# --- runs, their logs and plans --------------------------------------------------------------------
def view_runs(user, workspace) -> Refusal | None:
    """Reading a workspace's runs: their logs, plans and outputs. The platform's are its admins';
    a service's are its team's (and every admin's)."""
    if not user.has_perm("runs.view_run"):
        return forbidden("no_role", "Reading runs needs the developers', approvers' or admins' role.")
    service = service_of(workspace)
    if service is None:
        if is_admin(user):
            return None
        return forbidden("platform", "The platform's runs are read by its admins.")
    return None if acts_for(user, service.team_id) else other_team(service, "read the runs of")


def view_change(user, change) -> Refusal | None:
    """Reading a change: its plans and logs, like its runs'. A change of no service is the platform's."""
    if not user.has_perm("runs.view_run"):
        return forbidden("no_role", "Reading runs needs the developers', approvers' or admins' role.")
    if change.service_id is None:
        return None if is_admin(user) else forbidden("platform", "The platform's changes are read by its admins.")
    service = change.service
    return None if acts_for(user, service.team_id) else other_team(service, "read the changes of")


def view_queue(user) -> Refusal | None:
    """Reading the workers' queue, as the workspace pages show it: which runs wait, in which order."""
    if not user.has_perm("runs.view_run"):
        return forbidden("no_role", "Reading runs needs the developers', approvers' or admins' role.")
    return None


def approve_runs(user, workspaces) -> Refusal | None:
    """The part of approving that is about who asks: an approver of every team whose services the
    change touches; an admin for the platform's workspaces. The workflow adds the rest (not one's own
    change, every plan ready; portal.changes.workflow.approval_refusal)."""
    if not user.has_perm(ROLE_APPROVER):
        return forbidden("not_approver", "Approving needs the approvers' permission.")
    for workspace in workspaces:
        service = service_of(workspace)
        if service is not None and not acts_for(user, service.team_id):
            return forbidden(
                "other_team",
                f"{service.name} belongs to the team {service.team}: its changes are approved by that team's approvers or an admin.",
            )
    return None


def cancel_run(user, run, may_approve: bool) -> Refusal | None:
    """Cancelling a run: the person who asked for it, an approver of it, or an admin."""
    requesters = {run.requested_by_id, run.change.requested_by_id if run.change_id else None} - {None}
    if user.pk in requesters or may_approve or user.has_perm("runs.cancel_any_run"):
        return None
    return forbidden("not_allowed", "Only the person who requested this run, an approver of its team or an admin can cancel it.")


def force_unlock(user, workspace) -> Refusal | None:
    if not user.has_perm("workspaces.force_unlock"):
        return forbidden("no_role", "Only an admin can remove a state lock by hand.")
    return None


# --- drift -----------------------------------------------------------------------------------------
def view_drift(user, workspace) -> Refusal | None:
    """Reading a workspace's drift checks: they are on its service's page (view_service), and the
    platform's on the Platform page (its admins')."""
    service = service_of(workspace)
    if service is None:
        return None if is_admin(user) else forbidden("platform", "The platform's drift is read by its admins.")
    return view_service(user, service)


def check_drift(user, workspace) -> Refusal | None:
    service = service_of(workspace)
    if service is None:
        return None if is_admin(user) else forbidden("platform", "The platform's drift is checked by its admins.")
    if not user.has_perm(ROLE_DEVELOPER) and not user.has_perm(ROLE_APPROVER):
        return forbidden("no_role", "Checking drift needs the developers' or approvers' role.")
    return None if acts_for(user, service.team_id) else other_team(service, "check the drift of")


def restore_drift(user, workspace) -> Refusal | None:
    """Proposing a plan that puts AWS back as declared: a change like any other."""
    service = service_of(workspace)
    if service is None:
        return manage_platform(user)
    return change_service(user, service)


# --- the platform, its identities, teams and the audit trail ----------------------------------------
def manage_platform(user) -> Refusal | None:
    return None if is_admin(user) else forbidden("no_role", "The platform is managed by its admins.")


def roll_out(user) -> Refusal | None:
    """A rollout plans every team's workspaces made from a module: proposing and resuming one is the
    platform's admins' call (each wave is still approved by someone else, as any change)."""
    return None if is_admin(user) else forbidden("no_role", "A module is rolled out by an admin of the platform.")


def override_cost_hold(user) -> Refusal | None:
    """Letting a change above the cost policy's limit be approved is the platform's admins' call."""
    return None if is_admin(user) else forbidden("no_role", "A change held by the cost policy is let through by an admin of the platform.")


def manage_administrators(user) -> Refusal | None:
    if not user.has_perm("workspaces.manage_administrators"):
        return forbidden("no_role", "The administrator IAM users are managed by an admin.")
    return None


def manage_teams(user) -> Refusal | None:
    return None if is_admin(user) else forbidden("no_role", "Teams and their members are managed by an admin.")


def view_audit(user) -> Refusal | None:
    if not user.has_perm("audit.view_auditevent"):
        return forbidden("no_role", "The audit trail is read by admins.")
    return None


# --- API tokens ------------------------------------------------------------------------------------
# A token never does more than its user may: the functions above still answer for the user. These
# say what the token's own limits add: its end, its scope and the one service it may be bound to.
# The API asks them once per request (portal.api.scopes.TokenLimits); its authentication asks
# `token_ended` (401).


class TokenScope(models.TextChoices):
    READ = "read", "read: reads only"
    DEPLOY = "deploy", "deploy: reads, and new image tags of its team's services"
    WRITE = "write", "write: whatever its user may"


# Each thing a request may do with a token: what it is called in a refusal, whether it only reads,
# and whether it is done on one service (a service's own endpoint, or a run of its workspaces) or on
# none (the listing, registering, the audit trail).
TOKEN_ACTIONS = {
    "list": ("list services", True, False),
    "read": ("read a service", True, True),
    "read_runs": ("read runs", True, True),
    "read_audit": ("read the audit trail", True, False),
    "register": ("register a service", False, False),
    "change": ("change a service", False, True),
    "deploy": ("deploy an image tag", False, True),
    "decommission": ("decommission a service", False, True),
    "approve": ("approve a change", False, True),
    "discard": ("discard a change", False, True),
    "cancel": ("cancel a run", False, True),
    "override_policy": ("override a policy check", False, True),
    "override_cost": ("lift a cost hold", False, True),
}
TOKEN_ENDED = ("token_expired", "token_revoked")  # the refusals that are 401, not 403


def token_ended(token, now=None) -> Refusal | None:
    """A revoked or expired token authenticates nobody (401): the sentence says which and when."""
    if token.revoked_at is not None:
        because = f" ({token.get_revoked_reason_display()})" if token.revoked_reason else ""
        return forbidden(
            "token_revoked",
            f"This token was revoked on {token.revoked_at:%Y-%m-%d %H:%M} UTC{because}. Issue a new one on the API tokens page.",
        )
    if token.expires_at <= (now or timezone.now()):
        return forbidden(
            "token_expired",
            f"This token expired on {token.expires_at:%Y-%m-%d %H:%M} UTC. Issue a new one on the API tokens page.",
        )
    return None


def token_scope_allows(token, action: str) -> Refusal | None:
    """What the token's end and scope allow, whatever the service (asked before it is looked up)."""
    doing, reads, _ = TOKEN_ACTIONS[action]  # an unknown action is a programming error: KeyError
    if token is None:
        return None  # a person in the browser, not a token
    ended = token_ended(token)
    if ended is not None:
        return ended
    if token.scope == TokenScope.READ and not reads:
        return forbidden("token_scope", f"This token's scope is read: it cannot {doing}. Use a token with the deploy or write scope.")
    if token.scope == TokenScope.DEPLOY and not (reads or action == "deploy"):
        return forbidden(
            "token_scope",
            f"This token's scope is deploy: it reads and deploys new image tags, and cannot {doing}. Use a token with the write scope.",
        )
    return None


def token_allows(token, action: str, service=None) -> Refusal | None:
    """Whether `token` may do `action` on `service` (None: on no service, or the platform's runs).
    A token bound to one service reads the catalogue, and writes, reads runs of, only its service;
    a deploy token deploys only to services of its user's teams (an admin's included: a pipeline
    acts for its team, not with the admin's reach)."""
    refusal = token_scope_allows(token, action)
    if refusal is not None or token is None:
        return refusal
    doing, _, on_a_service = TOKEN_ACTIONS[action]
    if token.service_id is not None and action not in ("list", "read"):
        bound = f"This token is for the service {token.service.name} only"
        if not on_a_service:
            return forbidden("token_service", f"{bound}: it cannot {doing}.")
        if service is None or service.pk != token.service_id:
            return forbidden("token_service", f"{bound}, not {service.name if service else 'the platform'}.")
    if token.scope == TokenScope.DEPLOY and action == "deploy" and service.team_id not in team_ids(token.user):
        return forbidden(
            "token_team",
            f"This deploy token deploys only to its user's teams' services; {service.name} belongs to the team {service.team}.",
        )
    return None


def token_holds(user, scope: str, service) -> Refusal | None:
    """Whether a token of this scope, bound to `service` or not, fits its user: asked when it is issued,
    and again of every live token when the user leaves a team (what no longer fits is revoked).
    Bound, the user acts for the service's team (a member, or an admin for read and write); deploy,
    the user is a member of the service's team, or of some team when unbound."""
    if scope == TokenScope.DEPLOY:
        if service is not None and service.team_id not in team_ids(user):
            return forbidden("token_team", f"A deploy token is for your teams' services: {service.name} belongs to the team {service.team}.")
        if service is None and not team_ids(user):
            return forbidden("token_team", "A deploy token deploys to your teams' services, and you are in no team.")
        return None
    if service is not None and not acts_for(user, service.team_id):
        return forbidden("token_team", f"{service.name} belongs to the team {service.team}, which you do not act for.")
    return None
