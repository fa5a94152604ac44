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

from portal.refusals import Refusal

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
        f"{service.name} belongs to the team {service.team}: only its members {doing} it. "
        "Ask an admin to add you to that team.",
    )


# --- services --------------------------------------------------------------------------------------
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


def view_change(user, workspaces) -> Refusal | None:
    """Reading a change (its page, its status, its decisions): reading the runs of every workspace it
    touches, so a change is never shown to someone who may not read one of its plans."""
    for workspace in workspaces:
        refusal = view_runs(user, workspace)
        if refusal is not None:
            return refusal
    return None


def view_queue(user) -> Refusal | None:
    """Reading the workers' queue, as the workspace pages show it: which runs wait, in which order."""
    if not user.has_perm("runs.view_run"):
        return forbidden("no_role", "Reading runs needs the developers', approvers' or admins' role.")
    return None


def approve_runs(user, workspaces) -> Refusal | None:
    """The part of approving that is about who asks: an approver of every team whose services the
    change touches; an admin for the platform's workspaces. The workflow adds the rest (not one's own
    change, every plan ready; portal.runs.workflow.approval_refusal)."""
    if not user.has_perm(ROLE_APPROVER):
        return forbidden("not_approver", "Approving needs the approvers' permission.")
    for workspace in workspaces:
        service = service_of(workspace)
        if service is not None and not acts_for(user, service.team_id):
            return forbidden(
                "other_team",
                f"{service.name} belongs to the team {service.team}: its changes are approved by that team's "
                "approvers or an admin.",
            )
    return None


def cancel_run(user, run, may_approve: bool) -> Refusal | None:
    """Cancelling a run: the person who asked for it, an approver of it, or an admin."""
    requesters = {run.requested_by_id, run.change.requested_by_id if run.change_id else None} - {None}
    if user.pk in requesters or may_approve or user.has_perm("runs.cancel_any_run"):
        return None
    return forbidden(
        "not_allowed", "Only the person who requested this run, an approver of its team or an admin can cancel it."
    )


def force_unlock(user, workspace) -> Refusal | None:
    if not user.has_perm("workspaces.force_unlock"):
        return forbidden("no_role", "Removing a state lock by hand needs an admin.")
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
