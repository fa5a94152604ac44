"""The Platform page builds in as many queries with thirty services applied as with three, a failed
platform run included; and it names the first workspaces behind a module and counts the rest."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.capacity import usage
from portal.catalog.onboarding import register_service
from portal.platform import module_versions
from portal.runs.models import Run, RunStatus
from portal.workspaces.layout import network_path, sync_platform_workspaces
from tests.conftest import plan_approve_apply

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("parked_queue")]


@pytest.fixture
def platform_applied(people):
    """The platform's workspaces, each applied once; the network's latest run then failed."""
    for workspace in sync_platform_workspaces():
        Run.objects.create(workspace=workspace, status=RunStatus.APPLIED, variables=workspace.variables, requested_by=people["admin"])
    network = Run.objects.filter(workspace__path=network_path()).get()
    Run.objects.create(
        workspace=network.workspace, status=RunStatus.FAILED, variables=network.variables, requested_by=people["admin"], error="the apply failed"
    )


def services_applied(people, service_form_data, names):
    for name in names:
        _, change = register_service(people["dev"], **{**service_form_data, "name": name})
        plan_approve_apply(change, people["approver"])


def page_queries(client) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("platform:page"))
    assert response.status_code == 200
    return response.content.decode(), len(captured)


def test_the_page_reads_as_much_for_thirty_services_as_for_three(platform_applied, people, service_form_data, client, monkeypatch):
    # What is measured is the reading, not the room: the check before planning would refuse the
    # thirtieth service on the default cluster.
    monkeypatch.setattr(usage, "ensure_room", lambda plans: None)
    client.force_login(people["admin"])
    services_applied(people, service_form_data, [f"few-{index}" for index in range(3)])
    few_html, few = page_queries(client)

    services_applied(people, service_form_data, [f"many-{index}" for index in range(27)])
    many_html, many = page_queries(client)

    assert many == few, f"{few} queries with 3 services, {many} with 30"
    for html, services in ((few_html, 3), (many_html, 30)):
        assert "A platform run failed" in html and "the apply failed" in html, "the network's latest run, from the runs the page read"
        assert f"<td>{services}</td>" in html.split('id="capacity-figures"')[1].split("</table>")[0], "tasks used: one per service"


def test_the_first_workspaces_behind_a_module_are_named_and_the_rest_counted(platform_applied, people, service_form_data, client, monkeypatch):
    monkeypatch.setattr(module_versions, "LISTED_BEHIND", 2)
    services_applied(people, service_form_data, ["behind-a", "behind-b", "behind-c"])

    client.force_login(people["admin"])
    html = client.get(reverse("platform:page")).content.decode()

    row = html.split('data-module="ecs-service"')[1].split("</tr>")[0]
    assert row.startswith(' data-behind="3"') and "3 workspaces" in row, row[:200]
    assert row.count("<li>") == 2 and "behind-a" in row and "behind-b" in row and "behind-c" not in row
    assert "and 1 more" in row
