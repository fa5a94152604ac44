from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.approvals.models import ApprovalRule
from portal.changes import inbox
from portal.changes.change_pages import view_runs

RECENT = 25


@view_runs
@require_GET
def policy_page(request):
    """The approval policy in force, in words and as set, and the latest decisions it made on the
    changes this person may read."""
    decisions = ApprovalRule.objects.filter(change__in=inbox.readable(request.user)).select_related("change").order_by("-decided_at")[:RECENT]
    return render(
        request,
        "approvals/policy.html",
        {"policy": settings.APPROVAL_POLICY, "lines": settings.APPROVAL_POLICY.as_text(), "decisions": decisions},
    )
