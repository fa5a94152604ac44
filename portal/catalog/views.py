from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render

from portal.catalog.forms import ServiceChangeForm, ServiceForm
from portal.catalog.models import Service
from portal.catalog.onboarding import change_service, register_service
from portal.runs.queueing import WorkspaceBusy


@login_required
def service_list(request):
    services = Service.objects.select_related("created_by")
    return render(request, "catalog/service_list.html", {"services": services})


@permission_required("catalog.add_service")
def service_register(request):
    form = ServiceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        service, change = register_service(request.user, **form.cleaned_data)
        messages.success(request, f"{service.name} is registered; its plans are queued.")
        return redirect("runs:run-detail", run_id=change.runs_in_order()[0].pk)
    return render(request, "catalog/service_form.html", {"form": form, "title": "Register a service"})


@permission_required("catalog.change_service")
def service_change(request, name):
    service = get_object_or_404(Service, name=name)
    form = ServiceChangeForm(request.POST or None, instance=Service.objects.get(pk=service.pk))
    if request.method == "POST" and form.is_valid():
        try:
            change = change_service(service, request.user, **form.cleaned_data)
        except WorkspaceBusy as exc:
            messages.error(request, str(exc))
            return redirect("catalog:service-detail", name=service.name)
        if change is None:
            messages.info(request, "Nothing changed; no plan was queued.")
            return redirect("catalog:service-detail", name=service.name)
        messages.success(request, "Changes saved; plans are queued for approval.")
        return redirect("runs:run-detail", run_id=change.runs_in_order()[0].pk)
    return render(
        request, "catalog/service_form.html", {"form": form, "title": f"Change {service.name}"}
    )


@login_required
def service_detail(request, name):
    service = get_object_or_404(Service.objects.with_runs(), name=name)
    return render(request, "catalog/service_detail.html", {"service": service})
