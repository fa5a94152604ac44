"""The Administrators page, for admins: see the administrators, and propose a change of them."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from portal.access import permissions
from portal.access.decorators import allowed
from portal.administrators import roster
from portal.administrators.forms import AddTypeForm, RetireForm, ScopeForm
from portal.changes.workflow import Refused
from portal.workspaces import identities
from portal.workspaces.declared import declared_administrators


def page(request, *, add_form=None, errors_for=None, scope_form=None, retire_form=None, status=200):
    rows, pending, declared = roster.rows()
    context = {
        "rows": rows,
        "pending": pending,
        "add_form": add_form or AddTypeForm(declared=declared),
        "errors_for": errors_for,
        "scope_form": scope_form,
        "retire_form": retire_form,
        "path_exceptions": identities.PATH_EXCEPTIONS,
    }
    return render(request, "administrators/list.html", context, status=status)


@allowed(permissions.manage_administrators)
def administrators(request):
    return page(request)


def proposed(request, action, *args):
    """Take a roster action (roster.add, change_scope, retire) as the request's user; a refusal is
    said on the page."""
    try:
        run = action(request.user, *args)
    except Refused as exc:
        messages.error(request, exc.refusal.message)
        return redirect("administrators:list")
    messages.success(request, "Planned. Another admin approves it on the run's page; then the iam administrator applies it.")
    return redirect("runs:run-detail", run_id=run.pk)


@allowed(permissions.manage_administrators)
@require_POST
def add(request):
    form = AddTypeForm(request.POST, declared=declared_administrators())
    if not form.is_valid():
        return page(request, add_form=form, status=400)
    return proposed(request, roster.add, form.cleaned_data["service_type"], form.cleaned_data["name_patterns"])


@allowed(permissions.manage_administrators)
@require_POST
def change_scope(request, service_type):
    if service_type not in declared_administrators():
        return proposed(request, roster.change_scope, service_type, [])  # its refusal: not_declared
    form = ScopeForm(request.POST)
    if not form.is_valid():
        return page(request, errors_for=service_type, scope_form=form, status=400)
    return proposed(request, roster.change_scope, service_type, form.cleaned_data["name_patterns"])


@allowed(permissions.manage_administrators)
@require_POST
def retire(request, service_type):
    if service_type not in declared_administrators():
        return proposed(request, roster.retire, service_type)  # its refusal: not_declared
    form = RetireForm(request.POST)
    if not form.is_valid():
        return page(request, errors_for=service_type, retire_form=form, status=400)
    return proposed(request, roster.retire, service_type)
