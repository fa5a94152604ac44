"""What the iam administrator may not change about itself, and what to do when a plan would.

The iam administrator runs the administrators' workspace, but is denied every write to its own
role and policies, to both permissions boundaries and to the runner policy
(infra_modules/iam-service-admins, ProtectOwnRolePolicyAndBoundary): otherwise it could widen itself.
A plan that changes them (a release of the module that changes a boundary, say) would stop at AWS
with AccessDenied half applied. It is refused approval, saying to apply it with the bootstrap identity
(`manage.py upgrade_administrators`); the emulator, which evaluates none of this, refuses it alike."""

from portal.changes.workflow import Refusal
from portal.workspaces.paths import iam_admins_path

PROTECTED_ADDRESSES = frozenset(
    f"module.this.{address}"
    for address in (
        "aws_iam_policy.boundary",
        "aws_iam_policy.workload_boundary",
        "aws_iam_policy.runner",
        'aws_iam_policy.admin["iam"]',
        'aws_iam_policy.base["iam"]',
        'aws_iam_role.admin["iam"]',
        'aws_iam_role_policy_attachment.admin["iam"]',
        'aws_iam_role_policy_attachment.base["iam"]',
    )
)


def protected_changes(runs) -> list[str]:
    """The protected resources the administrators' plans among `runs` would change."""
    return sorted(
        {
            change["address"]
            for run in runs
            if run.workspace.path == iam_admins_path()
            for change in run.plan_changes or []
            if change.get("address") in PROTECTED_ADDRESSES and change.get("action") != "move"
        }
    )


def approval_refusal(change, user, runs) -> Refusal | None:
    """workflow.approval_checks' rule for the administrators' workspace."""
    touched = protected_changes(runs)
    if not touched:
        return None
    return Refusal(
        "bootstrap_identity_needed",
        "This plan changes what the iam administrator may not change about itself ("
        + ", ".join(address.removeprefix("module.this.") for address in touched)
        + "): applied as the iam administrator it would stop with AccessDenied. Discard it, apply it with the "
        "bootstrap identity (`python manage.py upgrade_administrators`, with credentials of an account "
        "administrator), then plan this workspace again.",
    )
