from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render

from portal.catalog.forms import ServiceForm
from portal.catalog.models import Service
from portal.catalog.onboarding import register_service
from portal.workspaces.models import Workspace


@login_required
def service_list(request):
    services = Service.objects.select_related("created_by")
    return render(request, "catalog/service_list.html", {"services": services})


@permission_required("catalog.add_service")
def service_register(request):
    form = ServiceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        service, runs = register_service(request.user, **form.cleaned_data)
        messages.success(request, f"{service.name} is registered; its plan is queued.")
        return redirect("runs:run-detail", run_id=runs[0].pk)
    return render(request, "catalog/service_form.html", {"form": form})


@login_required
def service_detail(request, name):
    service = get_object_or_404(
        Service.objects.prefetch_related(
            Prefetch("workspaces", queryset=Workspace.objects.prefetch_related("runs"))
        ),
        name=name,
    )
    return render(request, "catalog/service_detail.html", {"service": service})
