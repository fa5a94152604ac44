"""A status says once which groups it is in and its colour on the pages (portal/core/choices.py); the
groups code asks about are read from there, and every page shows a status in its colour."""

import re
from pathlib import Path

from django.urls import reverse
from django.utils import timezone

from portal.catalog.models import Lifecycle
from portal.core.choices import Colour
from portal.drift.models import DriftState
from portal.notifications.models import Delivery
from portal.runs import models
from portal.runs.models import Change, Run, RunStatus
from portal.workspaces.models import Workspace

BASE = Path(__file__).resolve().parents[3] / "portal" / "templates" / "base.html"


def test_every_colour_a_status_can_have_has_its_rule_on_the_pages():
    rules = set(re.findall(r"\.colour-(\w+) \{", BASE.read_text()))
    assert rules == set(Colour.ALL)
    for choices in (RunStatus, Change.Outcome, Lifecycle, Delivery.Status, DriftState):
        assert {member.colour for member in choices} <= set(Colour.ALL), choices


def test_the_groups_read_from_the_statuses_are_the_ones_the_code_asked_about():
    """As they were written out by hand before; the active ones in this order, which the database's
    one-active-run constraint (a migration) spells out."""
    S = RunStatus
    assert models.ACTIVE_STATUSES == [S.QUEUED, S.PLANNING, S.AWAITING_APPROVAL, S.APPROVED, S.APPLYING]
    assert models.APPLIED_STATUSES == [S.APPLIED, S.APPLIED_UNHEALTHY]
    assert models.DONE_STATUSES == [S.APPLIED, S.APPLIED_UNHEALTHY, S.NO_CHANGES]
    assert models.BREAKING_STATUSES == [S.FAILED, S.DISCARDED, S.STALE, S.CANCELLED]
    assert models.RUNNING_STATUSES == [S.PLANNING, S.APPLYING]
    assert models.WAITING_STATUSES == [S.QUEUED, S.APPROVED]
    assert set(models.CANCELLABLE_STATUSES) == {S.QUEUED, S.APPROVED, S.PLANNING, S.APPLYING}
    assert set(models.FINISHED_STATUSES) == set(S) - set(models.ACTIVE_STATUSES)


def test_a_status_is_still_the_string_it_was_with_its_label():
    assert RunStatus.APPLIED_UNHEALTHY == "applied_unhealthy" and RunStatus.APPLIED_UNHEALTHY.label == "Applied, unhealthy"
    assert ("no_changes", "No changes") in RunStatus.choices and ("", "Pending") in Change.Outcome.choices
    assert Run(status="applied_unhealthy").status_colour == Colour.YELLOW
    assert Run(status="no_such_status").status_colour == Colour.GREY


def test_an_unhealthy_apply_is_shown_in_its_colour_on_the_run_and_runs_pages(client, make_user):
    client.force_login(make_user("admin", "admins"))
    workspace = Workspace.objects.create(path="ecs/clusters/art-service-cluster", module="ecs-cluster")
    run = Run.objects.create(workspace=workspace, status=RunStatus.APPLIED_UNHEALTHY, finished_at=timezone.now())

    for page in (reverse("runs:run-detail", args=[run.pk]), "/runs/"):
        html = client.get(page).content.decode()
        assert 'class="status status-applied_unhealthy colour-yellow"' in html, page
