"""What one platform holds, refused before a plan could fail at AWS: one target group and one
listener rule per service on its one load balancer, which takes at most 100 target groups (a quota AWS
does not raise) and 100 rules by default ("Quotas for your Application Load Balancers"). The
listener rule priorities 1 to 100 are the slots."""

import pytest
from django.urls import reverse

from portal.catalog import rules
from portal.catalog.models import Lifecycle, Service
from portal.catalog.onboarding import register_service
from portal.runs.models import Change
from tests.builders import a_team
from tests.conftest import api_for
from tests.integration.api.test_concurrent_requests import at_once

pytestmark = pytest.mark.usefixtures("parked_queue")


def occupy(user, slots, status=Lifecycle.ACTIVE):
    """Services holding these slots, as earlier registrations left them."""
    Service.objects.bulk_create(
        [Service(name=f"held-{slot:03d}", created_by=user, team=a_team(), status=status, listener_rule_priority=slot) for slot in slots]
    )


@pytest.mark.django_db
def test_the_hundredth_service_takes_the_last_slot_and_the_next_is_refused_on_the_page_and_the_api(client, make_user, service_form_data):
    developer = make_user("dev", "developers")
    occupy(developer, range(1, rules.LOAD_BALANCER_SERVICE_SLOTS))

    last, _ = register_service(developer, **service_form_data)
    assert last.listener_rule_priority == rules.LOAD_BALANCER_SERVICE_SLOTS == 100

    client.force_login(developer)
    page = client.post(reverse("catalog:service-register"), {**service_form_data, "name": "one-too-many"})
    response = api_for(developer).post("/api/v1/services/", {**service_form_data, "name": "one-too-many"}, format="json")

    assert page.status_code == 400
    assert "The platform holds 100 services" in page.content.decode()
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "platform_full"
    assert "a quota AWS does not raise" in response.json()["detail"] and "Decommission" in response.json()["detail"]
    assert not Service.objects.filter(name="one-too-many").exists()
    assert Change.objects.count() == 1, "nothing was proposed for the refused registrations"


@pytest.mark.django_db
def test_a_decommissioned_service_frees_its_slot_and_the_lowest_free_slot_is_taken(make_user, service_form_data):
    developer = make_user("dev", "developers")
    occupy(developer, [1, 2, 4])
    occupy(developer, [3], status=Lifecycle.DECOMMISSIONED)

    service, _ = register_service(developer, **service_form_data)

    assert service.listener_rule_priority == 3
    assert Service.objects.filter(listener_rule_priority=3).count() == 2, "a decommissioned service keeps its history"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(2))
def test_two_registrations_at_once_never_share_a_slot(make_user, service_form_data, attempt):
    first, second = api_for(make_user("one", "developers")), api_for(make_user("two", "developers"))

    responses = at_once(
        lambda: first.post("/api/v1/services/", {**service_form_data, "name": "first-one"}, format="json"),
        lambda: second.post("/api/v1/services/", {**service_form_data, "name": "second-one"}, format="json"),
    )

    assert [r.status_code for r in responses] == [201, 201], [r.content[:200] for r in responses]
    assert sorted(Service.objects.values_list("listener_rule_priority", flat=True)) == [1, 2]


@pytest.mark.django_db
def test_a_services_rule_carries_its_slot(make_user, service_form_data):
    from portal.catalog import layout

    developer = make_user("dev", "developers")
    occupy(developer, [1])
    service, change = register_service(developer, **service_form_data)

    (service_run,) = [run for run in change.runs_in_order() if run.workspace.module == "ecs-service"]
    assert service_run.variables["listener_rule_priority"] == service.listener_rule_priority == 2
    assert layout.inputs(service_run.workspace, service, service.base_revision())["listener_rule_priority"] == 2
