from botocore.exceptions import BotoCoreError, ClientError
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from portal.access import permissions
from portal.access.decorators import permission_required
from portal.access.models import Team
from portal.catalog.diagram import service_picture
from portal.catalog.forms import DecommissionForm, MoveForm, ServiceChangePageForm, ServicePageForm
from portal.catalog.lookup import service_named, services_in
from portal.catalog.models import Lifecycle, Service
from portal.catalog.onboarding import change_service, decommission_service, move_service, register_service
from portal.catalog.preview import registration_preview
from portal.catalog.running import running_now
from portal.changes import inbox
from portal.changes.listing import page_of
from portal.changes.workflow import Refused
from portal.core.aws import client as aws_client
from portal.workspaces import images


def form_status(form) -> int:
    """A form sent back with its errors is a refusal of bad input: 400, like the API's."""
    return 400 if form.is_bound and form.errors else 200


def change_page_of(change):
    """Where a proposal lands: its change's page, which follows every plan and holds the decision."""
    return redirect("changes:detail", change_id=change.pk)


SERVICES_PER_PAGE = 100


@permission_required("catalog.view_service")
def service_list(request):
    status, team = request.GET.get("status"), request.GET.get("team")
    services = page_of(services_in(status, team, request.user).with_declarations(people=False), request.GET, SERVICES_PER_PAGE, "the services")
    inbox.attach_changes_under_way(services)
    return render(
        request,
        "catalog/service_list.html",
        {
            "services": services,
            "status": status or "live",
            "statuses": Lifecycle.choices,
            "team": team or "",
            "teams": Team.objects.all(),
            "my_teams": Team.objects.of(request.user),
        },
    )


@permission_required("catalog.add_service")
def service_register(request):
    form = ServicePageForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            service, change = register_service(request.user, **form.cleaned_data)
        except ValidationError as exc:  # the same name registered a moment before
            form.add_error(None, exc)
        except Refused as exc:  # the platform is full
            form.add_error(None, exc.refusal.message)
        else:
            messages.success(request, f"{service.name} is registered; its plans are queued.")
            return change_page_of(change)
    # What the name typed will make, also without the page's script and after a refusal.
    preview = registration_preview(form["name"].value() or "") if form.is_bound else None
    return render(
        request,
        "catalog/service_form.html",
        {"form": form, "title": "Register a service", "preview": preview, "registering": True},
        status=form_status(form),
    )


@require_GET
@permission_required("catalog.add_service")
def service_register_preview(request):
    """What registering `?name=` would make, or the name field's messages: always 200, a preview
    refuses nothing (the registration itself answers 400)."""
    return JsonResponse(registration_preview(request.GET.get("name", "")))


@permission_required("catalog.change_service")
def service_change(request, name):
    service = service_named(name)
    permissions.require(permissions.change_service(request.user, service))
    if service.status != Lifecycle.ACTIVE:
        messages.error(request, f"{service.name} is {service.get_status_display().lower()}: it takes no changes.")
        return redirect("catalog:service-detail", name=service.name)
    base = service.base_revision()
    form = ServiceChangePageForm(request.POST or None, initial=base.declaration(), current=(base.cpu, base.memory))
    if request.method == "POST" and form.is_valid():
        try:
            change = change_service(service, request.user, **form.cleaned_data)
        except Refused as exc:
            messages.error(request, exc.refusal.message)
            return redirect("catalog:service-detail", name=service.name)
        except ValidationError as exc:  # the cluster cannot place it (portal.capacity): nothing was kept
            form.add_error(None, exc)
        else:
            if change is None:
                messages.info(request, "Nothing differs from the applied declaration, or from the change already waiting; no plan was queued.")
                return redirect("catalog:service-detail", name=service.name)
            messages.success(request, "Your change is proposed; its plans are queued for approval.")
            return change_page_of(change)
    return render(
        request,
        "catalog/service_form.html",
        {"form": form, "title": f"Change {service.name}", "service": service, "base": base},
        status=form_status(form),
    )


@permission_required("catalog.view_service")
def service_detail(request, name):
    service = service_named(name, Service.objects.with_runs())
    permissions.require(permissions.view_service(request.user, service))
    changes = service.changes.select_related("requested_by", "revision").order_by("-created_at")[:20]
    declared = service.proposed_revision or service.applied_revision
    return render(
        request,
        "catalog/service_detail.html",
        {
            "service": service,
            "changes": changes,
            "picture": service_picture(service),
            "running": running_now(service) if service.is_live else None,
            "image": images.image_section(service, declared.image_tag) if service.is_live and declared else None,
            "change_refusal": permissions.change_service(request.user, service),
            "webhooks_refusal": permissions.manage_webhooks(request.user, service),
            "may_restore": permissions.change_service(request.user, service) is None,
            "decommission_refusal": permissions.decommission_service(request.user, service),
            "may_move": permissions.move_service(request.user, service) is None,
        },
    )


@permission_required("catalog.delete_service")
def service_decommission(request, name):
    service = service_named(name)
    permissions.require(permissions.decommission_service(request.user, service))
    form = DecommissionForm(request.POST or None, service=service)
    if request.method == "POST" and form.is_valid():
        try:
            change = decommission_service(service, request.user)
        except Refused as exc:
            messages.error(request, exc.refusal.message)
            return redirect("catalog:service-detail", name=service.name)
        messages.success(request, "Decommission proposed: its destroy plans are queued for approval.")
        return change_page_of(change)
    return render(
        request,
        "catalog/service_decommission.html",
        {"service": service, "form": form, "images": image_count(service)},
        status=form_status(form),
    )


def image_count(service: Service) -> int | None:
    """How many images the service's repository holds (deleted with it); None when unknown."""
    try:
        pages = aws_client("ecr", timeout=3).get_paginator("list_images").paginate(repositoryName=service.resource_name)
        return sum(len(page["imageIds"]) for page in pages)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "RepositoryNotFoundException":
            return 0
        return None
    except BotoCoreError:
        return None


@permission_required("catalog.view_service")
def service_move(request, name):
    service = service_named(name)
    permissions.require(permissions.move_service(request.user, service))
    form = MoveForm(request.POST or None, initial={"team": service.team.name})
    if request.method == "POST" and form.is_valid():
        try:
            move_service(request.user, service, form.cleaned_data["team"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{service.name} now belongs to {form.cleaned_data['team']}.")
            return redirect("catalog:service-detail", name=service.name)
    return render(request, "catalog/service_move.html", {"service": service, "form": form}, status=400 if form.errors else 200)
