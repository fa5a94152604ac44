"""The platform's workspaces brought to today's settings (sync_platform_workspaces, asked by the
Platform page on every view): a row is written only when what it holds differs."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.workspaces.layout import sync_platform_workspaces
from portal.workspaces.models import Workspace
from portal.workspaces.paths import network_path

pytestmark = pytest.mark.django_db


def writes(captured) -> list[str]:
    return [query["sql"] for query in captured.captured_queries if query["sql"].split(" ", 1)[0] in ("INSERT", "UPDATE", "DELETE")]


def test_a_second_sync_writes_nothing_and_a_changed_setting_writes_its_workspace_alone(settings):
    first = sync_platform_workspaces()
    assert len({workspace.path for workspace in first}) == len(first) == Workspace.objects.filter(service=None).count()

    with CaptureQueriesContext(connection) as again:
        second = sync_platform_workspaces()
    assert writes(again) == []
    assert [(w.pk, w.path, w.module, w.variables, w.apply_order) for w in second] == [(w.pk, w.path, w.module, w.variables, w.apply_order) for w in first]

    settings.LOAD_BALANCER_INGRESS_CIDRS = ("192.0.2.0/24",)
    with CaptureQueriesContext(connection) as changed:
        third = sync_platform_workspaces()
    written = writes(changed)
    assert len(written) == 1 and '"workspaces_workspace"' in written[0]
    network = next(w for w in third if w.path == network_path())
    assert Workspace.objects.get(pk=network.pk).variables["alb_ingress_cidrs"] == ["192.0.2.0/24"]


def test_a_missing_workspace_is_made_again():
    made = sync_platform_workspaces()
    Workspace.objects.filter(path=network_path()).delete()

    again = sync_platform_workspaces()

    assert [w.path for w in again] == [w.path for w in made]
    assert Workspace.objects.filter(path=network_path()).exists()
