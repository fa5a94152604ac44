"""A service's lifecycle: active -> decommissioning -> decommissioned once the destroy has applied;
a decommissioned service refuses changes, leaves the default listing, keeps its history, and its
name can be registered again."""

import pytest
from django.urls import reverse

from portal.catalog.models import Lifecycle, Service
from portal.catalog.onboarding import change_service, decommission_service, register_service
from portal.changes import workflow
from portal.core.refusals import Refused
from portal.runs.models import Change, RunStatus
from portal.workspaces.models import Workspace
from tests.conftest import api_for, plan_approve_apply, record_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def onboarded(people, service_form_data):
    service, change = register_service(people["dev"], **service_form_data)
    plan_approve_apply(change, people["approver"])
    return Service.objects.get(pk=service.pk)


def test_register_decommission_and_register_the_name_again(people, onboarded, service_form_data):
    decommission = decommission_service(onboarded, people["admin"])
    assert Service.objects.get(pk=onboarded.pk).status == Lifecycle.DECOMMISSIONING
    assert [run.workspace.module for run in decommission.runs_in_order()] == ["ecs-service", "ecr-repository"]

    plan_approve_apply(decommission, people["approver"])

    gone = Service.objects.get(pk=onboarded.pk)
    assert gone.status == Lifecycle.DECOMMISSIONED and gone.decommissioned_at
    api = api_for(people["dev"])
    assert onboarded.name not in [s["name"] for s in api.get("/api/v1/services/").json()["results"]]
    listed = api.get("/api/v1/services/", {"status": "decommissioned"}).json()["results"]
    assert [(s["name"], s["status"]) for s in listed] == [(onboarded.name, "decommissioned")]
    refused = api.patch(f"/api/v1/services/{onboarded.name}/", {"cpu": 512}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (409, "decommissioned")

    again = api.post("/api/v1/services/", {**service_form_data, "cpu": 512}, format="json")

    assert again.status_code == 201, again.content
    reborn = Service.objects.get(name=onboarded.name, status=Lifecycle.ACTIVE)
    assert reborn.pk != onboarded.pk
    assert {w.service_id for w in Workspace.objects.filter(path__contains=onboarded.name)} == {reborn.pk}
    # The history of the first registration stays with it.
    assert [c.title for c in Change.objects.filter(service=onboarded).order_by("created_at")] == [
        f"Onboard {onboarded.name}",
        f"Decommission {onboarded.name}",
    ]
    assert api.get(f"/api/v1/services/{onboarded.name}/").json()["status"] == "active"


def test_a_discarded_decommission_leaves_the_service_active(people, onboarded):
    decommission = decommission_service(onboarded, people["admin"])
    for run in decommission.runs_in_order():
        record_plan(run)

    workflow.discard(decommission, people["approver"])

    assert Service.objects.get(pk=onboarded.pk).status == Lifecycle.ACTIVE
    assert change_service(onboarded, people["dev"], cpu=512) is not None


def test_a_service_being_decommissioned_refuses_changes(people, onboarded):
    decommission_service(onboarded, people["admin"])

    with pytest.raises(workflow.Refused) as refused:
        change_service(onboarded, people["dev"], cpu=512)

    assert refused.value.refusal.code == "decommissioning"
    with pytest.raises(workflow.Refused) as twice:
        decommission_service(onboarded, people["admin"])
    assert twice.value.refusal.code == "decommission_pending"


def test_a_never_applied_service_decommissions_without_an_approval(people, service_form_data):
    service, onboarding = register_service(people["dev"], **service_form_data)

    decommission = decommission_service(service, people["admin"])  # the registration goes stale
    for run in decommission.runs_in_order():
        record_plan(run, to_add=0)

    assert Service.objects.get(pk=service.pk).status == Lifecycle.DECOMMISSIONED


def test_a_discarded_onboarding_is_withdrawn_with_nothing_left_to_decommission(people, service_form_data):
    service, onboarding = register_service(people["dev"], **service_form_data)
    workflow.discard(onboarding, people["dev"])

    with pytest.raises(Refused) as refused:
        decommission_service(service, people["admin"])

    assert refused.value.refusal.code == "withdrawn"
    assert Service.objects.get(pk=service.pk).status == Lifecycle.WITHDRAWN


def test_decommission_in_the_browser_needs_the_typed_name_and_warns_about_images(client, people, onboarded):
    client.force_login(people["admin"])
    url = reverse("catalog:service-decommission", kwargs={"name": onboarded.name})

    page = client.get(url).content.decode()
    wrong = client.post(url, {"confirm_name": "something-else"})
    right = client.post(url, {"confirm_name": onboarded.name})

    assert 'id="image-warning"' in page and "cannot be restored" in page
    assert wrong.status_code == 400 and f"Type {onboarded.name} exactly" in wrong.content.decode()
    assert right.status_code == 302
    assert Service.objects.get(pk=onboarded.pk).status == Lifecycle.DECOMMISSIONING
    destroy = Change.objects.get(service=onboarded, destroys=True)
    repository_run = destroy.runs_in_order()[1]
    assert repository_run.variables["force_delete"] is True, "the images go with the repository"
    assert {r.status for r in destroy.runs.all()} == {RunStatus.QUEUED}


def test_decommission_in_the_browser_needs_the_permission(client, people, onboarded):
    client.force_login(people["dev"])

    response = client.post(reverse("catalog:service-decommission", kwargs={"name": onboarded.name}), {"confirm_name": onboarded.name})

    assert response.status_code == 403
    assert Service.objects.get(pk=onboarded.pk).status == Lifecycle.ACTIVE


def test_the_listing_filters_by_lifecycle(client, people, onboarded, service_form_data):
    register_service(people["dev"], **{**service_form_data, "name": "other-service"})
    plan_approve_apply(decommission_service(onboarded, people["admin"]), people["approver"])
    client.force_login(people["dev"])

    default = client.get(reverse("catalog:service-list")).content.decode()
    decommissioned = client.get(reverse("catalog:service-list"), {"status": "decommissioned"}).content.decode()

    assert "other-service" in default and f">{onboarded.name}<" not in default
    assert f">{onboarded.name}<" in decommissioned and "other-service" not in decommissioned
