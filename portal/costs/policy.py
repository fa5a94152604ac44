"""The cost policy: every plan priced when it is read, and a change whose monthly increase is above
PORTAL_COST_HOLD_ABOVE (or that could not be priced) held from approval until an admin overrides it
with a reason, as blocking policy findings are."""

import logging
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction

from portal import audit
from portal.access import permissions
from portal.changes import workflow
from portal.costs import estimate
from portal.costs.models import REASON_MIN_LENGTH, CostEstimate, CostOverride
from portal.runs.models import Change, Run

logger = logging.getLogger(__name__)


def price_plan(sender, run: Run, plan: dict, log, **kwargs) -> None:
    """plan_read's receiver: price the plan and say the total in the run's log. A plan that cannot
    be priced is not failed; it is recorded as unpriced, and its change is held like a costly one."""
    try:
        found = estimate.estimate(plan, estimate.load_table(settings.AWS_REGION), settings.COST_ASSUMPTIONS)
    except estimate.PriceTableError as exc:
        unpriced(run, log, str(exc))
        return
    except Exception as exc:  # noqa: BLE001 - a flaw in the estimate holds the change; it does not fail the plan
        # Only the exception's type is told: its text may quote the plan, which holds every input in clear.
        logger.exception("The cost estimate of run %s failed", run.pk)
        unpriced(run, log, f"the estimate failed ({type(exc).__name__}); the worker's log has the traceback")
        return
    CostEstimate.objects.update_or_create(
        run=run,
        defaults={"before": found.before, "after": found.after, "difference": found.difference, "detail": found.as_json(), "error": ""},
    )
    sign = "+" if found.difference >= 0 else "-"
    log(
        f"[portal] Cost: {money(found.before)} -> {money(found.after)} a month ({sign}{money(abs(found.difference))}), "
        f"priced from the {found.region} table of {found.as_of}"
        + (f"; {len(found.not_priced)} resource(s) of types the table does not price" if found.not_priced else "")
        + ".\n"
    )


def unpriced(run: Run, log, why: str) -> None:
    CostEstimate.objects.update_or_create(run=run, defaults={"before": None, "after": None, "difference": None, "detail": {}, "error": why})
    log(f"[portal] Cost: not estimated: {why}\n")


def money(amount: Decimal) -> str:
    return f"${amount.quantize(estimate.CENT):,}"


# --- the hold --------------------------------------------------------------------------------------
def estimates_of(runs: list[Run]) -> list[tuple[str, Decimal | None]]:
    """(error, difference) of each run's estimate: one query, without the per-resource detail."""
    return list(CostEstimate.objects.filter(run__in=runs).values_list("error", "difference"))


def increase_of(runs: list[Run], found: list | None = None) -> Decimal | None:
    """The change's monthly increase over its runs' latest estimates; None when one could not be priced."""
    found = estimates_of(runs) if found is None else found
    if any(error for error, _ in found):
        return None
    return sum((difference for _, difference in found), Decimal(0))


def hold_of(runs: list[Run]) -> str | None:
    """Why the cost policy holds these runs' change, or None."""
    found = estimates_of(runs)
    unpriced = next((error for error, _ in found if error), None)
    if unpriced:
        return f"a plan of this change could not be priced ({unpriced})"
    increase = increase_of(runs, found)
    if increase > settings.COST_HOLD_ABOVE:
        return f"it adds {money(increase)} a month, above the cost policy's {money(Decimal(settings.COST_HOLD_ABOVE))} (PORTAL_COST_HOLD_ABOVE)"
    return None


def approval_refusal(change: Change, user, runs: list[Run]) -> workflow.Refusal | None:
    """workflow.approval_checks' rule: a held change waits for an admin's override."""
    why = hold_of(runs)
    if why is None or CostOverride.objects.filter(change=change).exists():
        return None
    return workflow.Refusal(
        "cost_held", f"The cost policy holds this change: {why}. An admin of the platform may let it through with a written reason, then it may be approved."
    )


def override_refusal(change: Change, user, runs: list[Run] | None = None) -> workflow.Refusal | None:
    """An admin who is not the proposer may override a hold while the change waits for approval."""
    refusal = permissions.override_cost_hold(user)
    if refusal is not None:
        return refusal
    if change.requested_by_id is not None and user.pk == change.requested_by_id:
        return workflow.Refusal("own_change", "The cost policy's hold on a change is lifted by someone other than the person who proposed it.", forbidden=True)
    runs = runs if runs is not None else list(change.runs.select_related("workspace"))
    if CostOverride.objects.filter(change=change).exists():
        return workflow.Refusal("already_overridden", "The cost policy's hold on this change was overridden already.")
    if hold_of(runs) is None:
        return workflow.Refusal("nothing_to_override", "The cost policy does not hold this change.")
    if not change.is_pending:
        return workflow.Refusal("not_pending", "This change no longer waits for approval.")
    return None


def override(change: Change, user, reason: str) -> CostOverride:
    """Record `user`'s override of the change's cost hold, with their reason (and in the audit trail)."""
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN_LENGTH:
        raise workflow.Refused(workflow.Refusal("reason_required", f"Say why in at least {REASON_MIN_LENGTH} characters: the reason is recorded."))
    with transaction.atomic():
        runs = list(Run.objects.select_for_update().filter(change=change).select_related("workspace").order_by("pk"))
        refusal = override_refusal(change, user, runs)
        if refusal is not None:
            raise workflow.Refused(refusal)
        increase = increase_of(runs)
        shown = "unknown" if increase is None else money(increase)
        try:
            with transaction.atomic():
                found = CostOverride.objects.create(change=change, by=user, by_username=user.get_username(), reason=reason, increase=shown)
        except IntegrityError:
            raise workflow.Refused(workflow.Refusal("already_overridden", "The cost policy's hold on this change was overridden already.")) from None
        audit.record("cost.override", user, change, reason=reason, increase=shown)
        return found


def cost_of(run: Run) -> dict:
    """The run's estimate, its change's hold and override, as the pages and the API show them."""
    found = CostEstimate.objects.filter(run=run).first()
    override_found = CostOverride.objects.filter(change_id=run.change_id).first() if run.change_id else None
    return {"estimate": found, "override": override_found}
