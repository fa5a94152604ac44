from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from portal.changes import workflow
from portal.changes.change_pages import change_page, view_runs, visible_change
from portal.costs import policy


@view_runs
@require_POST
def change_override(request, change_id):
    """The change page's form: an admin lets a change the cost policy holds be approved, with a reason."""
    change = visible_change(request, change_id)
    try:
        policy.override(change, request.user, request.POST.get("reason", ""))
    except workflow.Refused as exc:
        return change_page(request, change, exc.refusal, exc.refusal.http_status)
    messages.success(request, "The cost policy's hold is lifted: the change may be approved now.")
    return redirect("changes:detail", change_id=change.pk)
