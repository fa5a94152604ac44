"""The whole platform and one service on the emulator, through the portal's own runs:
provision, a service's whole life in Chromium (tests/browser_journey.py), onboard through the
pages, approve once, check the wiring in AWS, plan again (no changes), change without approval,
decommission and destroy, and check that nothing is left."""

import json

import pytest
from django.conf import settings
from django.urls import reverse

from rest_framework.test import APIClient

from portal.aws import client as aws_client
from portal.catalog.models import Service
from portal.runs.models import ACTIVE_STATUSES, Run, RunStatus, SavedPlan
from portal.catalog import layout
from portal.runs.platform import ProvisioningFailed, destroy_platform, provision_platform, wait_for
from portal.workspaces.layout import sync_platform_workspaces
from portal.workspaces.models import Workspace
from portal.runs.workflow import approve, propose
from tests.browser_journey import browser_journey
from tests.conftest import api_for, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SERVICE = "art-service-sourcing-data-service"
IMAGE_MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023, "digest": "sha256:" + "a" * 64},
        "layers": [],
    }
)


def refreshed(runs):
    return [Run.objects.get(pk=run.pk) for run in runs]


def token_client(user) -> APIClient:
    return api_for(user, label="CI")


def wait_for_runs(client, runs, statuses, timeout):
    def settled():
        current = {client.get(f"/api/v1/runs/{run['id']}/").json()["status"] for run in runs}
        assert not current & {"failed", "stale", "discarded", "abandoned"}, current
        return current <= statuses

    wait_until(settled, timeout, interval=1, message=f"runs to be {statuses}")


def platform_workspaces():
    """The state bucket's workspace, then every platform workspace in the order they are applied."""
    return [Workspace.objects.get(path__startswith="s3/remote-state/"), *sync_platform_workspaces()]


def second_plans(*changes):
    """{workspace path: "no changes" or what the plan would do}, once every run has settled."""
    for change in changes:
        try:
            wait_for(change, {RunStatus.NO_CHANGES}, timeout=600)
        except ProvisioningFailed:
            pass  # the assertion below says what each workspace planned
    runs = [run for change in changes for run in change.runs.select_related("workspace")]
    return {
        run.workspace.path: "no changes" if run.status == RunStatus.NO_CHANGES
        else f"{run.status}: +{run.to_add} ~{run.to_change} -{run.to_destroy} {run.error} {planned_actions(run)}"
        for run in runs
    }


def planned_actions(run):
    return [line.strip() for line in run.log.splitlines() if line.strip().startswith("# ")]


def plan_files_of_ended_runs():
    """Saved plans whose run has ended, in the database or left on disk (a plan is on disk only while
    a terraform command reads or writes it)."""
    on_disk = [str(path) for path in settings.WORKSPACES_DIR.rglob("*.tfplan")]
    kept = list(SavedPlan.objects.exclude(run__status__in=ACTIVE_STATUSES).values_list("run_id", flat=True))
    return on_disk + kept


def a_discarded_edit_never_reaches_aws(service, author, other_developer, approver, ecs, cluster_arn):
    """The trust promise: A's CPU edit is discarded; B's later change carries only B's edit."""
    a, b, reviewer = token_client(author), token_client(other_developer), token_client(approver)
    url = f"/api/v1/services/{service.name}/"
    task_definition = ecs.describe_services(cluster=cluster_arn, services=[SERVICE])["services"][0]["taskDefinition"]

    # 1. A changes the CPU to 1024; an approver discards it.
    proposed = a.patch(url, {"cpu": 1024}, format="json")
    assert proposed.status_code == 200, proposed.content
    a_runs = proposed.json()["runs"]
    wait_for_runs(a, a_runs, {"awaiting_approval", "no_changes"}, timeout=300)
    assert reviewer.post(f"/api/v1/runs/{a_runs[-1]['id']}/discard/").status_code == 202
    # 2. The service still declares what is applied: CPU 256, nothing pending.
    declared = b.get(url).json()
    assert (declared["cpu"], declared["proposed"]) == (256, None)
    # 3. B changes only the desired count: the plan holds B's edit and nothing of A's.
    proposed = b.patch(url, {"desired_count": 2}, format="json")
    b_runs = proposed.json()["runs"]
    assert [d["text"] for d in b_runs[-1]["declaration_diff"]] == ["desired_count 1 -> 2"]
    wait_for_runs(b, b_runs, {"awaiting_approval", "no_changes"}, timeout=300)
    b_service_run = Run.objects.get(pk=b_runs[-1]["id"])
    assert (b_service_run.to_add, b_service_run.to_change, b_service_run.to_destroy) == (0, 1, 0), (
        "only the ECS service's count changes; a CPU edit would replace the task definition"
    )
    assert (b_service_run.variables["cpu"], b_service_run.variables["desired_count"]) == (256, 2)
    rendered = json.loads((b_service_run.workspace.directory / "terraform.tfvars.json").read_text())
    assert (rendered["cpu"], rendered["desired_count"]) == (256, 2)
    saved = SavedPlan.objects.get(run=b_service_run)  # in the database, for whichever worker applies
    assert saved.sha256 == b_service_run.plan_sha256
    assert not (b_service_run.workspace.directory / ".plans" / f"{b_service_run.pk}.tfplan").exists()
    assert reviewer.post(f"/api/v1/runs/{b_runs[-1]['id']}/approve/").status_code == 202
    wait_for_runs(b, b_runs, {"applied", "no_changes"}, timeout=600)

    # A's value never reached AWS; B's did.
    ecs_service = ecs.describe_services(cluster=cluster_arn, services=[SERVICE])["services"][0]
    assert ecs_service["desiredCount"] == 2 and ecs_service["taskDefinition"] == task_definition
    cpu = ecs.describe_task_definition(taskDefinition=ecs_service["taskDefinition"])["taskDefinition"]["cpu"]
    assert cpu == "256"
    applied = b.get(url).json()
    assert (applied["cpu"], applied["desired_count"], applied["applied_revision"], applied["proposed"]) == (256, 2, 3, None)
    assert plan_files_of_ended_runs() == [], "no plan file outlives its run"


def onboard_and_decommission_through_the_api(author, approver, admin, declaration):
    """What a CI pipeline does: register, wait for the plans, approved by someone else, wait for the
    applies, read the log; then decommission the same way."""
    ci, reviewer = token_client(author), token_client(approver)
    name = declaration["name"]

    registered = ci.post("/api/v1/services/", declaration, format="json")
    assert registered.status_code == 201, registered.content
    runs = registered.json()["runs"]
    wait_for_runs(ci, runs, {"awaiting_approval"}, timeout=300)
    assert reviewer.post(f"/api/v1/runs/{runs[-1]['id']}/approve/").status_code == 202
    wait_for_runs(ci, runs, {"applied"}, timeout=600)

    log = ci.get(ci.get(f"/api/v1/runs/{runs[-1]['id']}/").json()["log_url"]).json()
    assert "Apply complete!" in log["text"] and log["active"] is False
    service = ci.get(f"/api/v1/services/{name}/").json()
    assert service["url"].endswith(f"/{settings.SERVICE_NAME_PREFIX}-{name}/")
    assert {w["latest_run"]["status"] for w in service["workspaces"]} == {"applied"}

    # The repository holds an image: the decommission deletes it with the repository.
    aws_client("ecr").put_image(
        repositoryName=f"{settings.SERVICE_NAME_PREFIX}-{name}", imageManifest=IMAGE_MANIFEST, imageTag="1.0.0"
    )
    decommissioned = token_client(admin).delete(f"/api/v1/services/{name}/")
    assert decommissioned.status_code == 202, decommissioned.content
    assert decommissioned.json()["service"]["status"] == "decommissioning"
    runs = decommissioned.json()["runs"]
    wait_for_runs(ci, runs, {"awaiting_approval"}, timeout=300)
    assert reviewer.post(f"/api/v1/runs/{runs[0]['id']}/approve/").status_code == 202
    wait_for_runs(ci, runs, {"applied"}, timeout=600)
    assert ci.get(f"/api/v1/services/{name}/").json()["status"] == "decommissioned"

    # The name can be registered again: its workspaces plan against the same (emptied) state keys.
    again = ci.post("/api/v1/services/", declaration, format="json")
    assert again.status_code == 201, again.content
    runs = again.json()["runs"]
    wait_for_runs(ci, runs, {"awaiting_approval"}, timeout=300)
    assert all(Run.objects.get(pk=run["id"]).to_add > 0 for run in runs)
    assert ci.post(f"/api/v1/runs/{runs[0]['id']}/discard/").status_code == 202
    decommission_the_unapplied = token_client(admin).delete(f"/api/v1/services/{name}/")
    wait_for_runs(ci, decommission_the_unapplied.json()["runs"], {"no_changes"}, timeout=300)
    assert ci.get(f"/api/v1/services/{name}/").json()["status"] == "decommissioned"


def test_platform_and_service_lifecycle(client, make_user, service_form_data, rq_worker, state_bucket, screen):
    admin = make_user("platform-admin", "admins")
    platform_approver = make_user("platform-approver", "admins")
    approver = make_user("approver", "approvers")
    author = make_user("author", "developers")
    other_developer = make_user("other-developer", "developers")

    # The platform, each workspace planned after the one it reads from, approved by another admin.
    # The administrators were made by the session's bootstrap: planned again, they have no changes.
    for change in provision_platform(requester=admin, approver=platform_approver):
        (run,) = change.runs.all()
        expected = RunStatus.NO_CHANGES if run.workspace.path.startswith("iam/service-admins/") else RunStatus.APPLIED
        assert run.status == expected, (run.workspace.path, run.status, run.error)

    # A service's whole life in Chromium, as its developer, its approver and an admin see it.
    browser_journey(screen)

    # Onboarding in the browser: one change, two workspaces.
    client.force_login(author)
    client.post(reverse("catalog:service-register"), service_form_data)
    service = Service.objects.get(name="sourcing-data-service")
    change = service.changes.get()
    repository_run, service_run = change.runs_in_order()
    assert repository_run.workspace.path == f"ecs/ecr-repositories/{SERVICE}"
    assert service_run.workspace.path == f"ecs/services/{SERVICE}"

    def log_while_active():
        service_run.refresh_from_db()
        return service_run.status in ACTIVE_STATUSES and service_run.status != RunStatus.QUEUED and service_run.log

    wait_until(log_while_active, 120, interval=0.05, message="log lines while planning")
    wait_for(change, {RunStatus.AWAITING_APPROVAL}, timeout=300)
    repository_run, service_run = refreshed([repository_run, service_run])
    assert repository_run.to_add == 2 and repository_run.to_destroy == 0
    assert service_run.to_add >= 5 and service_run.to_destroy == 0
    page = client.get(reverse("runs:run-detail", kwargs={"run_id": service_run.pk})).content.decode()
    assert f"ecs/services/{SERVICE}/terraform.tfstate" in page
    assert f"{service_run.to_add} to add" in page

    client.force_login(approver)
    response = client.post(reverse("runs:run-approve", kwargs={"run_id": service_run.pk}))
    assert response.status_code == 302
    wait_for(change, {RunStatus.APPLIED}, timeout=600)
    repository_run, service_run = refreshed([repository_run, service_run])
    assert repository_run.finished_at <= service_run.started_at or repository_run.finished_at <= service_run.finished_at
    assert Run.objects.filter(change=change, approved_by=approver).count() == 2

    # The wiring in AWS: the ECS service is attached to its target group, the listener routes to it.
    ecs = aws_client("ecs")
    cluster_arn = next(
        arn for arn in ecs.list_clusters()["clusterArns"] if ecs.describe_services(cluster=arn, services=[SERVICE])["services"]
    )
    (ecs_service,) = ecs.describe_services(cluster=cluster_arn, services=[SERVICE])["services"]
    target_group_arn = service_run.outputs["target_group_arn"]
    assert ecs_service["loadBalancers"][0]["targetGroupArn"] == target_group_arn
    assert ecs_service["loadBalancers"][0]["containerPort"] == 8082
    elbv2 = aws_client("elbv2")
    (load_balancer,) = elbv2.describe_load_balancers()["LoadBalancers"]
    listeners = elbv2.describe_listeners(LoadBalancerArn=load_balancer["LoadBalancerArn"])["Listeners"]
    rules = [rule for listener in listeners for rule in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]]
    forwarding = [r for r in rules if any(a.get("TargetGroupArn") == target_group_arn for a in r["Actions"])]
    assert forwarding, "a listener rule forwards to the service's target group"
    detail = client.get(reverse("catalog:service-detail", kwargs={"name": service.name})).content.decode()
    assert f"http://{load_balancer['DNSName']}/{SERVICE}/" in detail

    # Planning every workspace again changes nothing: the state bucket, the administrators, the
    # workload roles, the access log bucket, the network, the cluster, and the service's two.
    service = Service.objects.get(pk=service.pk)
    assert service.applied_revision.number == 1
    replan = propose("Plan again", layout.plans_for(service, service.applied_revision), author, service=service)
    platform_replan = propose(
        "Plan the platform again", [(ws, ws.variables) for ws in platform_workspaces()], platform_approver
    )
    changes_per_workspace = second_plans(replan, platform_replan)
    assert len(changes_per_workspace) == 8, changes_per_workspace
    assert changes_per_workspace == {path: "no changes" for path in changes_per_workspace}

    a_discarded_edit_never_reaches_aws(service, author, other_developer, approver, ecs, cluster_arn)

    # A change is planned, but nothing is applied without approval.
    task_definition = ecs_service["taskDefinition"]
    client.force_login(author)
    client.post(reverse("catalog:service-change", kwargs={"name": service.name}), {**service_form_data, "image_tag": "1.1.0"})
    change_run = Run.objects.filter(workspace__path=f"ecs/services/{SERVICE}").order_by("-created_at").first()
    wait_for(change_run.change, {RunStatus.AWAITING_APPROVAL, RunStatus.NO_CHANGES}, timeout=300)
    change_run.refresh_from_db()
    assert change_run.status == RunStatus.AWAITING_APPROVAL
    assert ecs.describe_services(cluster=cluster_arn, services=[SERVICE])["services"][0]["taskDefinition"] == task_definition

    # The same through the API only, as CI does it, for a second service.
    onboard_and_decommission_through_the_api(
        author, approver, admin, {**service_form_data, "name": "api-onboarded", "container_port": 8083}
    )

    # Decommission (the pending change is superseded), then destroy the platform.
    from portal.catalog.onboarding import decommission_service

    decommission = decommission_service(service, admin)
    wait_for(decommission, {RunStatus.AWAITING_APPROVAL, RunStatus.NO_CHANGES}, timeout=300)
    approve(decommission, approver)
    wait_for(decommission, {RunStatus.APPLIED, RunStatus.NO_CHANGES}, timeout=600)
    assert Service.objects.get(pk=service.pk).status == "decommissioned"
    destroy_platform(requester=admin, approver=platform_approver)
    assert plan_files_of_ended_runs() == []

    assert not [c for c in ecs.list_clusters()["clusterArns"] if ecs.describe_clusters(clusters=[c])["clusters"][0]["status"] == "ACTIVE"]
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
    assert elbv2.describe_target_groups()["TargetGroups"] == []
    assert aws_client("ecr").describe_repositories()["repositories"] == []
    assert [v for v in aws_client("ec2").describe_vpcs()["Vpcs"] if not v["IsDefault"]] == []
    assert aws_client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"] == []
    # The administrators stay (every run needs them); the workloads' roles went with the platform.
    iam = aws_client("iam")
    admins = {u["UserName"] for u in iam.list_users(PathPrefix=f"/{settings.SERVICE_NAME_PREFIX}/admins/")["Users"]}
    assert admins == {f"{settings.SERVICE_NAME_PREFIX}-{t}-admin" for t in settings.IAM_ADMIN_SERVICE_TYPES}
    assert iam.list_roles(PathPrefix=f"/{settings.SERVICE_NAME_PREFIX}/workloads/")["Roles"] == []
