"""The cluster settings form of the Platform page (admins): propose a new instance type or size."""

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from portal.access import permissions
from portal.access.decorators import allowed
from portal.capacity.cluster_settings import ClusterSettingsForm, propose_cluster_change
from portal.changes.workflow import Refused
from portal.platform.platform_pages import platform_page


@allowed(permissions.manage_platform)
@require_POST
def change_cluster(request):
    form = ClusterSettingsForm(request.POST)
    if form.is_valid():
        try:
            run = propose_cluster_change(request.user, form.cleaned_data)
        except Refused as exc:
            form.add_error(getattr(exc.refusal, "field", None), exc.refusal.message)
        else:
            messages.success(request, "Planned. Another admin approves it on the run's page; then the ecs administrator applies it.")
            return redirect("runs:run-detail", run_id=run.pk)
    return platform_page(request, cluster_form=form, status=400)
