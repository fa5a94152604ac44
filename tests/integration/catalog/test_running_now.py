"""The service page says what runs now, read from AWS (the emulator's real answers) as the ecs
administrator and kept briefly: tasks running and desired, the deployment's rollout state, the
targets' health, judged as a deploy is judged. On the emulator, which runs no task, it never shows
green; a service nothing was applied for says so."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from portal.catalog.onboarding import register_service
from portal.catalog.running import running_now
from portal.core.choices import Colour
from portal.runs.models import Run
from tests.conftest import plan_approve_apply
from tests.integration.changes.test_deploy_health import aws, deployed_service, network  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("parked_queue")]


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def registered(people, service_form_data):
    service, change = register_service(people["dev"], **service_form_data)
    return service, change


def applied_with(service, change, approver, outputs):
    plan_approve_apply(change, approver)
    Run.objects.filter(workspace__service=service, workspace__module="ecs-service").update(outputs=outputs)


def test_a_service_never_applied_runs_nothing(client, people, registered):
    service, _ = registered
    assert running_now(service).headline == "Nothing runs yet: the service's workspace has not applied."
    client.force_login(people["dev"])
    page = client.get(reverse("catalog:service-detail", args=[service.name])).content.decode()
    assert 'id="running"' in page and "Nothing runs yet" in page


def test_on_the_emulator_the_figures_show_and_the_page_says_they_are_not_health(client, people, registered, network):  # noqa: F811
    service, change = registered
    applied_with(service, change, people["approver"], deployed_service(network))

    running = running_now(service)

    assert (running.seen.running, running.seen.desired, running.seen.rollout_state) == (0, 1, "IN_PROGRESS")
    assert running.colour == Colour.GREY and running.headline == "Not known on the emulator"
    client.force_login(people["dev"])
    page = client.get(reverse("catalog:service-detail", args=[service.name])).content.decode()
    assert "0 running of 1 desired" in page and 'id="running-emulator"' in page and "colour-green" not in page.split('id="running"')[1].split("</section>")[0]


def test_on_aws_a_completed_deployment_with_a_healthy_target_is_green_and_without_one_is_not(people, registered, network, settings, monkeypatch):  # noqa: F811
    settings.ON_EMULATOR = False  # judged as on AWS, on the emulator's answers
    settings.DEPLOY_HEALTH_REQUIRE_TARGETS = True
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "1")  # moto's scripted running count (see test_deploy_health)
    service, change = registered
    outputs = deployed_service(network)
    applied_with(service, change, people["approver"], outputs)

    running = running_now(service)
    assert running.colour == Colour.ORANGE and running.headline == "Not healthy: no healthy target is registered in the target group"

    aws("elbv2").register_targets(TargetGroupArn=outputs["target_group_arn"], Targets=[{"Id": "10.42.1.11", "Port": 8082}])
    assert running_now(service).headline.startswith("Not healthy"), "kept for a few seconds: AWS is not asked on every page"
    cache.clear()
    running = running_now(service)
    assert running.colour == Colour.GREEN and running.headline == "Healthy" and running.seen.healthy_targets == 1


def test_a_service_aws_no_longer_knows_says_so(people, registered, network):  # noqa: F811
    service, change = registered
    outputs = deployed_service(network)
    applied_with(service, change, people["approver"], outputs)
    aws("ecs").delete_service(cluster=outputs["service_name"], service=outputs["service_name"], force=True)

    running = running_now(service)

    assert running.colour == Colour.RED
    assert running.headline in (
        f"the ECS service {outputs['service_arn']} is inactive: it runs nothing",  # described a while after its deletion
        f"the ECS service {outputs['service_arn']} is draining: it runs nothing",
        f"ECS does not know the service {outputs['service_arn']}",  # and then no more
    )
