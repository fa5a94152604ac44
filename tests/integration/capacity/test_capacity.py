"""The cluster's room, asked before planning: a registration or a change of size or count the cluster
cannot place is refused on the page and by the API alike (400, the same message, nothing saved,
nothing queued); the forms offer only the task sizes one instance holds; the Platform page shows
what is used and free; and an admin changes the instance type and size through a planned change,
refused when the services would not fit."""

import pytest
from django.urls import reverse

from portal.capacity import usage
from portal.catalog.forms import ServicePageForm
from portal.catalog.models import Service
from portal.catalog.onboarding import decommission_service, register_service
from portal.changes.workflow import discard, propose
from portal.runs.models import Change, Run, RunStatus
from portal.workspaces.layout import cluster_path, sync_platform_workspaces
from portal.workspaces.models import Workspace
from tests.conftest import api_for, plan_approve_apply
from tests.integration.api.test_concurrent_requests import at_once

REGISTER = reverse("catalog:service-register")
SERVICES = "/api/v1/services/"
ONE_T3_SMALL = "The cluster (up to 1 x t3.small, each 2 tasks, 2 vCPU and 1689 MiB for tasks)"


@pytest.fixture
def small_cluster(settings):
    """One t3.small (the old default, one instance): 2 tasks, 2 vCPU and 1689 MiB for tasks."""
    settings.CLUSTER_DEFAULTS = {"instance_type": "t3.small", "min_size": 1, "max_size": 1, "desired_capacity": 1}
    settings.CLUSTER_AWSVPC_TRUNKING = False


@pytest.fixture
def dev(people):
    return people["dev"]


@pytest.fixture
def approver(people):
    return people["approver"]


@pytest.fixture
def admins(people):
    return people["admin"], people["other-admin"]


@pytest.fixture
def dev_client(client, dev):
    client.force_login(dev)
    return client


def nothing_kept():
    # Not every run: the session's bootstrap of the platform (tests/conftest.py) keeps its own.
    return not (
        Service.objects.exists()
        or Workspace.objects.filter(service__isnull=False).exists()
        or Run.objects.filter(workspace__service__isnull=False).exists()
        or Change.objects.filter(service__isnull=False).exists()
    )


def offered_pairs(form) -> list[tuple[int, int]]:
    groups = dict(form.fields["memory"].widget.choices)
    return [(int(cpu), int(memory)) for cpu, _ in form.fields["cpu"].widget.choices for memory, _ in groups[form.memory_group(int(cpu))]]


def applied(service, approver):
    """The service's change planned, approved and applied (as the worker records it)."""
    plan_approve_apply(service.changes.order_by("-created_at").first(), approver)
    return Service.objects.get(pk=service.pk)


# --- registrations and changes, page and API alike ----------------------------------------------------
@pytest.mark.django_db
def test_a_registration_the_cluster_cannot_place_is_refused_alike_on_the_page_and_by_the_api(small_cluster, dev, dev_client, service_form_data):
    page = dev_client.post(REGISTER, {**service_form_data, "desired_count": 3})
    api = api_for(dev).post(SERVICES, {**service_form_data, "desired_count": 3}, format="json")

    assert page.status_code == 400 and api.status_code == 400
    (message,) = page.context["form"].errors["desired_count"]
    assert list(page.context["form"].errors) == ["desired_count"]
    assert message == (
        f"{ONE_T3_SMALL} has room for 2 more tasks of 0.25 vCPU / 512 MiB; this change needs 3, and the cluster runs "
        "out of task network interfaces. Choose fewer tasks or a smaller size, or ask an admin to grow the cluster."
    )
    assert api.json() == {"status": 400, "code": "invalid", "detail": "Some fields are invalid; see `fields`.", "fields": {"desired_count": [message]}}
    assert message in page.content.decode().replace("&#x27;", "'")
    assert nothing_kept()


@pytest.mark.django_db
def test_a_task_larger_than_an_instance_is_refused_alike_on_the_page_and_by_the_api(dev, dev_client, service_form_data):
    wide = {**service_form_data, "cpu": 4096, "memory": 8192}

    page = dev_client.post(REGISTER, wide)
    api = api_for(dev).post(SERVICES, wide, format="json")

    expected = (
        "A task of 4 vCPU / 8192 MiB does not fit on one m6i.large (2 vCPU and 7526 MiB for tasks): choose at most "
        "2 vCPU and 7526 MiB, or ask an admin for a larger instance type."
    )
    assert page.status_code == 400 and page.context["form"].errors == {"cpu": [expected]}
    assert api.status_code == 400 and api.json()["fields"] == {"cpu": [expected]}
    assert nothing_kept()


@pytest.mark.django_db(transaction=True)
def test_a_refused_registration_queues_nothing_and_one_that_fits_queues_its_plans(small_cluster, dev, service_form_data, parked_queue):
    api = api_for(dev)

    refused = api.post(SERVICES, {**service_form_data, "desired_count": 3}, format="json")
    assert refused.status_code == 400 and parked_queue.count == 0 and nothing_kept()

    fits = api.post(SERVICES, {**service_form_data, "desired_count": 2}, format="json")
    assert fits.status_code == 201 and parked_queue.count == 2  # the repository's plan and the service's


@pytest.mark.django_db
def test_a_change_is_refused_when_it_or_its_rolling_deployment_does_not_fit(small_cluster, dev, approver, dev_client, service_form_data):
    service, _ = register_service(dev, **{**service_form_data, "desired_count": 2})
    service = applied(service, approver)
    api, url = api_for(dev), f"{SERVICES}{service.name}/"
    changes = Change.objects.count()

    more = api.patch(url, {"desired_count": 3}, format="json")
    new_image = api.post(f"{url}deployments/", {"image_tag": "1.1.0"}, format="json")
    on_the_page = dev_client.post(
        reverse("catalog:service-change", kwargs={"name": service.name}), {**service_form_data, "desired_count": 2, "image_tag": "1.1.0"}
    )

    assert more.status_code == 400 and "this change needs 3" in more.json()["fields"]["desired_count"][0]
    (rolling,) = new_image.json()["fields"]["desired_count"]
    assert new_image.status_code == 400 and rolling.startswith(
        f"{ONE_T3_SMALL} has room for 0 more tasks of 0.25 vCPU / 512 MiB while the deployment replaces the 2 running tasks"
    )
    assert on_the_page.status_code == 400 and on_the_page.context["form"].errors == {"desired_count": [rolling]}
    assert Change.objects.count() == changes and service.revisions.count() == 1

    # Fewer tasks need no more room than the service holds: planned.
    fewer = api.patch(url, {"desired_count": 1}, format="json")
    assert fewer.status_code == 200 and len(fewer.json()["runs"]) == 2


@pytest.mark.django_db
def test_going_back_to_the_last_healthy_revision_is_refused_with_the_message_when_there_is_no_room(settings, dev, approver, client, service_form_data):
    from portal.changes.workflow import advance, approve
    from tests.conftest import record_plan

    settings.CLUSTER_DEFAULTS = {"instance_type": "t3.small", "min_size": 1, "max_size": 2, "desired_capacity": 1}
    settings.CLUSTER_AWSVPC_TRUNKING = False
    service = applied(register_service(dev, **{**service_form_data, "desired_count": 2})[0], approver)
    unhealthy = change_service_to(service, dev, image_tag="2.0.0")
    for run in unhealthy.runs_in_order():
        record_plan(run)
    approve(unhealthy, approver)
    for run in unhealthy.runs_in_order():
        run.refresh_from_db()
        run.start_applying()
        if run.workspace.module == "ecs-service":
            run.finish_applied_unhealthy({}, "Applied, but the deployment did not report healthy.")
        else:
            run.finish_applied({})
    advance(unhealthy)
    register_service(dev, **{**service_form_data, "name": "neighbour", "desired_count": 2})
    changes = Change.objects.count()
    client.force_login(dev)

    answer = client.post(reverse("catalog:service-rollback", args=[service.name]), {"revision": "1"}, follow=True)

    assert answer.status_code == 200 and Change.objects.count() == changes
    (message,) = [str(m) for m in answer.context["messages"]]
    assert message.startswith("The cluster (up to 2 x t3.small, each 2 tasks, 2 vCPU and 1689 MiB for tasks) has room for 0 more tasks")
    assert "while the deployment replaces the 2 running tasks" in message


def change_service_to(service, user, **edits):
    from portal.catalog.onboarding import change_service

    return change_service(Service.objects.get(pk=service.pk), user, **edits)


@pytest.mark.django_db
def test_a_registration_waiting_for_approval_holds_its_room_until_it_is_discarded(small_cluster, dev, approver, service_form_data):
    _, first = register_service(dev, **{**service_form_data, "desired_count": 2})
    api = api_for(dev)
    second = {**service_form_data, "name": "second-service"}

    assert api.post(SERVICES, second, format="json").status_code == 400
    discard(first, approver)
    assert api.post(SERVICES, second, format="json").status_code == 201


@pytest.mark.django_db
def test_a_decommissioned_service_frees_its_room(small_cluster, dev, approver, admins, service_form_data):
    service, _ = register_service(dev, **{**service_form_data, "desired_count": 2})
    service = applied(service, approver)
    api = api_for(dev)
    second = {**service_form_data, "name": "second-service"}
    assert api.post(SERVICES, second, format="json").status_code == 400

    plan_approve_apply(decommission_service(service, admins[0]), approver)

    assert Service.objects.get(pk=service.pk).status == "decommissioned"
    assert api.post(SERVICES, second, format="json").status_code == 201


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_two_registrations_racing_for_the_last_room_one_wins(small_cluster, make_user, service_form_data, parked_queue, attempt):
    first, second = api_for(make_user("one", "developers")), api_for(make_user("two", "developers"))

    responses = at_once(
        lambda: first.post(SERVICES, {**service_form_data, "name": "first-service", "desired_count": 2}, format="json"),
        lambda: second.post(SERVICES, {**service_form_data, "name": "second-service", "desired_count": 2}, format="json"),
    )

    assert sorted(r.status_code for r in responses) == [201, 400], [r.content[:300] for r in responses]
    assert Service.objects.count() == 1


# --- the forms offer what fits --------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_forms_offer_only_the_sizes_one_instance_holds(small_cluster, dev_client):
    page = dev_client.get(REGISTER)
    form = page.context["form"]

    assert offered_pairs(form) == [(256, 512), (256, 1024), (512, 1024)]
    html = page.content.decode()
    assert "one t3.small holds at most 2 vCPU and 1689 MiB for tasks" in html
    assert 'value="1024"' not in html.split('id="id_cpu"')[1].split("</select>")[0], "1 vCPU is not offered"


@pytest.mark.django_db
def test_the_default_cluster_offers_17_of_the_74_sizes():
    assert len(offered_pairs(ServicePageForm())) == 17
    assert max(cpu for cpu, _ in offered_pairs(ServicePageForm())) == 2048


# --- the Platform page ------------------------------------------------------------------------------------
def platform(client, user):
    client.force_login(user)
    response = client.get(reverse("platform:page"))
    assert response.status_code == 200
    return response


@pytest.mark.django_db
def test_the_platform_page_shows_capacity_used_and_free(client, admins, dev, service_form_data, settings):
    settings.CLUSTER_DEFAULTS = {"instance_type": "m6i.large", "min_size": 1, "max_size": 3, "desired_capacity": 1}
    register_service(dev, **{**service_form_data, "desired_count": 3})

    html = platform(client, admins[0]).content.decode()

    room = usage.room()
    assert (room.capacity, room.used) == (usage.Resources(6, 6144, 22578), usage.Resources(3, 768, 1536))
    assert "<strong>m6i.large</strong>, 1 to 3 instances" in html
    figures = html.split('id="capacity-figures"')[1].split("</table>")[0]
    for row in ("Task network interfaces", "CPU", "Memory"):
        assert row in figures
    assert "<td>6</td><td>3</td><td>3</td>" in figures  # task slots: capacity, used, free
    assert "<td>6</td><td>0.75</td><td>5.25</td>" in figures  # vCPU
    assert "<td>22.0</td><td>1.5</td><td>20.5</td>" in figures  # GiB
    # 3 more small tasks fit; but none as a new service while one rolling deployment of the 3-task
    # service must still fit.
    assert "Room for <strong>3</strong> more tasks of 0.25 vCPU / 512 MiB" in html
    assert "or <strong>0</strong> more services of one such task" in html
    assert 'id="cluster-settings-form"' in html


@pytest.mark.django_db
def test_the_platform_page_at_the_default_cluster_against_aws(client, admins, settings):
    settings.CLUSTER_DEFAULTS = {"instance_type": "m6i.large", "min_size": 1, "max_size": 3, "desired_capacity": 1}
    settings.CLUSTER_AWSVPC_TRUNKING = True

    html = platform(client, admins[0]).content.decode()

    assert "ENI trunking on:\n    each 10 tasks, 2 vCPU and 7526 MiB for tasks" in html
    assert "Room for <strong>24</strong> more tasks of 0.25 vCPU / 512 MiB" in html
    assert "or <strong>23</strong> more services of one such task" in html


# --- the cluster's settings, changed by an admin ---------------------------------------------------------
CHANGE_CLUSTER = reverse("capacity:change-cluster")


def post_cluster(client, user, **wanted):
    client.force_login(user)
    data = {"instance_type": "m6i.large", "min_size": 1, "max_size": 3, "desired_capacity": 1, **wanted}
    return client.post(CHANGE_CLUSTER, data)


@pytest.mark.django_db
def test_an_admin_proposes_a_new_instance_type_and_size_as_a_plan_of_the_cluster(client, admins, settings):
    settings.CLUSTER_DEFAULTS = {"instance_type": "t3.small", "min_size": 1, "max_size": 3, "desired_capacity": 1}

    response = post_cluster(client, admins[0], instance_type="m6i.large", max_size=5)

    run = usage.pending_cluster_run()
    assert response.status_code == 302 and response["Location"] == reverse("runs:run-detail", kwargs={"run_id": run.pk})
    assert run.workspace.path == cluster_path() and run.status == RunStatus.QUEUED
    assert {k: run.variables[k] for k in ("instance_type", "min_size", "max_size", "desired_capacity", "awsvpc_trunking")} == {
        "instance_type": "m6i.large",
        "min_size": 1,
        "max_size": 5,
        "desired_capacity": 1,
        "awsvpc_trunking": settings.CLUSTER_AWSVPC_TRUNKING,
    }
    assert run.change.title == "Change the cluster: instance_type t3.small -> m6i.large, max_size 3 -> 5"
    # What is in effect does not move until it has applied; a service must fit both meanwhile.
    assert usage.cluster_in_effect().instance_type == "t3.small"
    assert [c.instance_type for c, _ in usage.clusters_to_fit()] == ["t3.small", "m6i.large"]


@pytest.mark.django_db
def test_what_is_in_effect_is_what_the_cluster_workspace_last_applied(client, admins, settings):
    post_cluster(client, admins[0], instance_type="c6i.xlarge", max_size=4)
    plan_approve_apply(usage.pending_cluster_run().change, admins[1])

    assert usage.cluster_in_effect() == usage.ClusterSettings("c6i.xlarge", 1, 4, 1, settings.CLUSTER_AWSVPC_TRUNKING)
    (cluster,) = [w for w in sync_platform_workspaces() if w.path == cluster_path()]
    assert (cluster.variables["instance_type"], cluster.variables["max_size"]) == ("c6i.xlarge", 4), "the next plan keeps it"
    assert "<strong>c6i.xlarge</strong>, 1 to 4 instances" in platform(client, admins[0]).content.decode()


@pytest.mark.django_db
def test_a_cluster_applied_before_its_sizing_were_inputs_is_the_module_default_of_the_time(admins):
    (cluster,) = [w for w in sync_platform_workspaces() if w.path == cluster_path()]
    legacy = {k: v for k, v in cluster.variables.items() if k not in ("instance_type", "min_size", "max_size", "desired_capacity", "awsvpc_trunking")}
    plan_approve_apply(propose("Provision the cluster", [(cluster, legacy)], admins[0]), admins[1])

    assert usage.cluster_in_effect() == usage.ClusterSettings("t3.small", 1, 3, 1, False)


@pytest.mark.django_db
def test_a_registration_must_also_fit_the_cluster_a_change_under_way_makes(client, admins, dev, service_form_data):
    post_cluster(client, admins[0], instance_type="t3.small", max_size=1)

    refused = api_for(dev).post(SERVICES, {**service_form_data, "cpu": 1024, "memory": 2048}, format="json")

    assert refused.status_code == 400
    assert refused.json()["fields"]["memory"] == [
        "A task of 1 vCPU / 2048 MiB does not fit on one t3.small after the cluster change under way (2 vCPU and 1689 MiB "
        "for tasks): choose at most 2 vCPU and 1689 MiB, or ask an admin for a larger instance type."
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "wanted, field, words",
    [
        ({}, "instance_type", "That is the cluster as applied; nothing to plan."),
        ({"max_size": 1}, "max_size", "With m6i.large, choose a maximum of at least 2 instances"),
        ({"instance_type": "c5.large"}, "instance_type", "big runs tasks of 2 vCPU / 4096 MiB, which do not fit on one c5.large"),
        ({"min_size": 2, "desired_capacity": 1}, "desired_capacity", "Fewest <= to start with <= most must hold (got 2, 1 and 3)"),
        ({"instance_type": "m6g.large"}, "instance_type", "Select a valid choice."),
        ({"max_size": "1000"}, "max_size", "Ensure this value is less than or equal to 100."),
        ({"max_size": "٣"}, "max_size", "Enter a whole number of instances, written with the digits 0-9."),
    ],
)
def test_a_cluster_change_the_services_would_not_fit_or_that_is_malformed_is_refused_on_its_field(
    client, admins, dev, service_form_data, settings, wanted, field, words
):
    settings.CLUSTER_DEFAULTS = {"instance_type": "m6i.large", "min_size": 1, "max_size": 3, "desired_capacity": 1}
    register_service(dev, **{**service_form_data, "name": "big", "cpu": 2048, "memory": 4096, "desired_count": 1})
    runs = Run.objects.count()

    response = post_cluster(client, admins[0], **wanted)

    assert response.status_code == 400
    errors = response.context["cluster_form"].errors
    assert list(errors) == [field] and words in " ".join(errors[field]), errors
    assert Run.objects.count() == runs and usage.pending_cluster_run() is None
    assert 'id="cluster-capacity"' in response.content.decode(), "the Platform page again, with the form's errors"


@pytest.mark.django_db
def test_only_admins_change_the_cluster(client, dev, admins):
    client.force_login(dev)
    assert client.post(CHANGE_CLUSTER, {"instance_type": "m6i.xlarge", "min_size": 1, "max_size": 3, "desired_capacity": 1}).status_code == 403
    client.force_login(admins[0])
    assert client.get(CHANGE_CLUSTER).status_code == 405
    assert not Run.objects.exists()
