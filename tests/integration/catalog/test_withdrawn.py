"""A registration that ends before anything of it reaches AWS withdraws the service: its name is free
again and its history stays; a service nothing was applied for yet says so rather than "Active"."""

import pytest
from django.urls import reverse

from portal.catalog.models import Lifecycle, Service
from portal.catalog.onboarding import change_service, register_service
from portal.changes import workflow
from portal.changes.workflow import Refused
from tests.conftest import record_plan

pytestmark = pytest.mark.usefixtures("parked_queue")


def registered(people, data, name="sourcing-data-service"):
    service, change = register_service(people["author"], **{**data, "name": name})
    for run in change.runs_in_order():
        record_plan(run)
    return service, change


def test_a_discarded_registration_withdraws_the_service_and_frees_its_name(client, people, service_form_data):
    service, change = registered(people, service_form_data)
    workflow.discard(change, people["approver"])
    service.refresh_from_db()

    assert service.status == Lifecycle.WITHDRAWN and not service.is_live
    client.force_login(people["dev"])
    page = client.get(reverse("catalog:service-detail", args=[service.name])).content.decode()
    assert "before anything of it was applied" in page and "Decommissioned" not in page
    again, _ = register_service(people["dev"], **service_form_data)  # the name is free
    assert again.pk != service.pk and Service.objects.filter(name=service.name).count() == 2
    client.force_login(people["dev"])
    history = client.get(reverse("catalog:service-list"), {"status": "withdrawn"}).content.decode()
    assert "Withdrawn" in history
    with pytest.raises(Refused) as refused:
        change_service(service, people["author"], cpu=512)
    assert refused.value.refusal.code == "withdrawn"


def test_a_registration_that_failed_to_plan_withdraws_it_too(people, service_form_data):
    service, change = register_service(people["author"], **service_form_data)
    first, second = change.runs_in_order()
    record_plan(first)
    second.start_planning()
    second.fail("terraform plan exited with code 1")
    workflow.advance(change)

    service.refresh_from_db()
    assert service.status == Lifecycle.WITHDRAWN


def test_a_registration_superseded_by_a_newer_change_is_not_withdrawn(people, service_form_data):
    service, change = registered(people, service_form_data)
    change_service(service, people["author"], cpu=512)  # the registration goes stale; the new one waits

    service.refresh_from_db()
    assert service.status == Lifecycle.ACTIVE


def test_a_service_with_something_applied_stays_active_when_its_change_fails(people, service_form_data):
    service, change = registered(people, service_form_data)
    workflow.approve(change, people["approver"])
    repository, ecs_service = change.runs_in_order()
    repository.start_applying()
    repository.finish_applied({})
    workflow.advance(change)
    ecs_service.refresh_from_db()
    ecs_service.start_applying()
    ecs_service.fail("terraform apply exited with code 1")
    workflow.advance(change)

    service.refresh_from_db()
    assert service.status == Lifecycle.ACTIVE, "its repository is in AWS: it is decommissioned, not withdrawn"


def test_a_service_never_applied_is_pending_its_first_apply(client, people, service_form_data):
    registered(people, service_form_data)
    client.force_login(people["dev"])

    listing = client.get(reverse("catalog:service-list")).content.decode()
    detail = client.get(reverse("catalog:service-detail", kwargs={"name": "sourcing-data-service"})).content.decode()

    assert "Pending first apply" in listing and "Pending first apply" in detail
