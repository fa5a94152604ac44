"""The Teams page: every team with its members and services; admins create teams, add and remove
members. (Moving a service to another team is the service's: portal.catalog.views.)"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.access import permissions, teams
from portal.access.forms import MemberForm, TeamForm
from portal.access.models import Membership, Team
from portal.access.naming import is_team_name


def teams_page(request, *, team_form=None, member_forms=None, status=200):
    listed = Team.objects.annotate(live_services=Count("services", filter=~Q(services__status="decommissioned"))).prefetch_related(
        Prefetch("memberships", queryset=Membership.objects.select_related("user").order_by("user__username"))
    )
    refusal = permissions.manage_teams(request.user)
    member_forms = member_forms or {}
    for team in listed:
        team.member_form = member_forms.get(team.pk) or MemberForm(prefix=f"team-{team.pk}")
    return render(
        request,
        "access/teams.html",
        {
            "teams": listed,
            "mine": permissions.team_ids(request.user),
            "may_manage": refusal is None,
            "refusal": refusal,
            "team_form": team_form or TeamForm(),
        },
        status=status,
    )


def team_named(name: str) -> Team:
    """The team in the URL; 404 for what could not be one's name (never a query that breaks)."""
    if not is_team_name(name):
        raise Http404("No team has this name.")
    return get_object_or_404(Team, name=name)


@login_required
def team_list(request):
    if request.method != "POST":
        return teams_page(request)
    permissions.require(permissions.manage_teams(request.user))
    form = TeamForm(request.POST)
    if form.is_valid():
        try:
            team = teams.create_team(request.user, form.cleaned_data["name"], form.cleaned_data["description"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"The team {team} is created; add its members below.")
            return redirect("access:teams")
    return teams_page(request, team_form=form, status=400)


@login_required
@require_POST
def member_add(request, name):
    permissions.require(permissions.manage_teams(request.user))
    team = team_named(name)
    form = MemberForm(request.POST, prefix=f"team-{team.pk}")
    if form.is_valid():
        try:
            teams.add_member(request.user, team, form.cleaned_data["username"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{form.cleaned_data['username']} is now in {team}.")
            return redirect("access:teams")
    return teams_page(request, member_forms={team.pk: form}, status=400)


@login_required
@require_POST
def member_remove(request, name, username):
    permissions.require(permissions.manage_teams(request.user))
    team = team_named(name)
    if "\x00" in username:
        raise Http404("Nobody has this username.")
    user = get_object_or_404(get_user_model(), username=username)
    try:
        teams.remove_member(request.user, team, user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{username} left {team}.")
    return redirect("access:teams")
