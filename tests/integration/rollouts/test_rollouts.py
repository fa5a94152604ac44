"""Module rollouts in the workflow: every workspace behind planned at once in waves, each wave
approved once the one before it applied, a failed or unhealthy wave halting the rest and a resume
planning what is left, busy workspaces left out, and a platform wave whose plan changes outputs having
their readers planned again. The worker's steps are recorded as the worker records them
(tests/conftest.py); the waves' plans on terraform are in benchmarks/rollout.py."""

import pytest
from django.urls import reverse

from portal.audit.models import AuditEvent
from portal.catalog.onboarding import change_service, register_service
from portal.changes import inbox, workflow
from portal.changes.workflow import Refused, advance
from portal.platform.module_versions import module_report
from portal.rollouts import rollout as rollouts
from portal.rollouts.models import Rollout
from portal.runs.models import Change, RunStatus
from portal.workspaces.layout import last_applied_variables, network_path, sync_platform_workspaces
from portal.workspaces.models import Workspace
from portal.workspaces.modules import version_of
from tests.conftest import api_for, plan_approve_apply

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("parked_queue")]


@pytest.fixture(autouse=True)
def waves_of_one_then_two(settings):
    settings.ROLLOUT_WAVE_SIZES = [1, 2]


@pytest.fixture
def services(people, service_form_data):
    """Four services applied, before module versions were recorded: all four behind ecs-service."""
    made = []
    for index in range(4):
        service, change = register_service(people["author"], **{**service_form_data, "name": f"art-service-r{index}", "container_port": 8080 + index})
        plan_approve_apply(change, people["approver"])
        made.append(service)
    return made


def plan(change, outputs: dict | None = None, to_change: int = 1):
    """The worker's plans of a wave: each with the module's current version."""
    for run in change.runs_in_order():
        run.refresh_from_db()
        if run.status != RunStatus.QUEUED:
            continue
        if outputs is not None:
            rollouts.read_plan(sender=None, run=run, plan={"output_changes": outputs}, log=lambda text: None)
        run.start_planning()
        run.record_plan(
            to_add=0, to_change=to_change, to_destroy=0, plan_sha256="0" * 64, inputs_sha256="1" * 64, module_sha256=version_of(run.workspace.module).sha256
        )
        advance(change)


def apply(change, *, fail: str = "", unhealthy: str = ""):
    """The worker's applies, in order: the last one fails or is unhealthy when asked."""
    runs = change.runs_in_order()
    for index, run in enumerate(runs):
        run.refresh_from_db()
        if run.status != RunStatus.APPROVED or not run.start_applying():
            continue
        last = index == len(runs) - 1
        if last and fail:
            run.fail(fail)
        elif last and unhealthy:
            run.finish_applied_unhealthy({}, unhealthy)
        else:
            run.finish_applied({})
        advance(change)
    change.refresh_from_db()


def waves_of(rollout):
    return [[run.workspace.path for run in wave.change.runs_in_order()] for wave in rollout.waves.filter(replaced=False)]


def test_a_rollout_plans_every_service_behind_in_waves_each_approved_once_the_one_before_applied(services, people):
    rollout = rollouts.propose_rollout("ecs-service", people["admin"])
    paths = sorted(Workspace.objects.filter(module="ecs-service").values_list("path", flat=True))
    assert len(paths) == len(services)
    assert waves_of(rollout) == [paths[:1], paths[1:3], paths[3:]]
    first, second, third = (wave.change for wave in rollout.waves.all())
    for change in (first, second, third):  # the blast radius: every plan queued now, with the inputs last applied
        assert all(run.status == RunStatus.QUEUED and run.variables == last_applied_variables(run.workspace) for run in change.runs.all())
        plan(change)
    with pytest.raises(Refused) as refused:
        workflow.approve(second, people["approver"])
    assert refused.value.refusal.code == "wave_waiting" and "once wave 1 has applied" in refused.value.refusal.message
    # The approvers' inbox lists only the wave whose turn it is (and the proposer's, none).
    assert list(inbox.waiting_for(people["approver"])) == [first] and not inbox.waiting_for(people["admin"]).exists()
    assert list(inbox.waiting_for(people["other-admin"])) == [first]
    with pytest.raises(Refused) as refused:
        workflow.approve(first, people["admin"])
    assert refused.value.refusal.code == "own_change"  # the proposer approves no wave of it
    for change in (first, second, third):
        assert list(inbox.waiting_for(people["approver"])) == [change]
        workflow.approve(change, people["approver"])
        apply(change)
        assert change.outcome == Change.Outcome.APPLIED
    rollout.refresh_from_db()
    assert rollout.status == Rollout.Status.DONE and rollout.finished_at is not None
    report = next(report for report in module_report() if report.version.module == "ecs-service")
    assert report.behind == [] and report.current == 4
    assert list(AuditEvent.objects.filter(object_type="rollouts.rollout", object_id=str(rollout.pk)).values_list("action", flat=True).order_by("pk")) == [
        "rollout.propose",
        "rollout.finish",
    ]


def test_a_failed_apply_in_wave_2_halts_the_rollout_and_a_resume_plans_what_is_left(services, people, client):
    rollout = rollouts.propose_rollout("ecs-service", people["admin"])
    first, second, third = (wave.change for wave in rollout.waves.all())
    for change in (first, second, third):
        plan(change)
    workflow.approve(first, people["approver"])
    apply(first)
    workflow.approve(second, people["approver"])
    apply(second, fail="terraform apply exited with 1")
    rollout.refresh_from_db()
    failed = second.runs_in_order()[-1].workspace.path
    assert rollout.status == Rollout.Status.HALTED
    assert f"Wave 2 did not apply ({failed}, failed: terraform apply exited with 1). Resume the rollout" in rollout.halted_because
    assert {run.status for run in third.runs.all()} == {RunStatus.STALE}  # the later wave's plans dropped
    assert "halted at wave 2" in third.runs.get().error

    client.force_login(people["admin"])
    page = client.get(reverse("rollouts:detail", args=[rollout.pk]))
    left = sorted([failed, *(run.workspace.path for run in third.runs.all())])
    assert page.status_code == 200
    text = page.content.decode()
    assert "Did not apply" in text and "Resume" in text and all(path in text for path in left)

    resumed = client.post(reverse("rollouts:resume", args=[rollout.pk]))
    assert resumed.status_code == 302
    rollout.refresh_from_db()
    assert rollout.status == Rollout.Status.RUNNING and rollout.halted_because == ""
    assert [wave.number for wave in rollout.waves.filter(replaced=False)] == [1, 4, 5]  # 2 and 3 replaced
    assert waves_of(rollout)[1:] == [left[:1], left[1:]]  # again a first wave of one
    fourth = rollout.waves.get(number=4).change
    plan(fourth)
    with pytest.raises(Refused) as refused:
        workflow.approve(third, people["approver"])
    assert refused.value.refusal.code == "stale"
    assert rollouts.wave_refusal(third, people["approver"], list(third.runs.all())).code == "wave_replaced"
    workflow.approve(fourth, people["approver"])  # wave 2 did not apply, but it was replaced: 4 goes on
    assert list(AuditEvent.objects.filter(object_type="rollouts.rollout", object_id=str(rollout.pk)).values_list("action", flat=True).order_by("pk")) == [
        "rollout.propose",
        "rollout.halt",
        "rollout.resume",
    ]


def test_a_later_wave_with_nothing_to_change_settles_at_once_and_the_rollout_waits_for_the_others(services, people):
    rollout = rollouts.propose_rollout("ecs-service", people["admin"])
    first, second, third = (wave.change for wave in rollout.waves.all())
    plan(third, to_change=0)
    third.refresh_from_db()
    rollout.refresh_from_db()
    assert third.outcome == Change.Outcome.APPLIED and rollout.status == Rollout.Status.RUNNING
    for change in (first, second):
        plan(change)
        workflow.approve(change, people["approver"])
        apply(change)
    rollout.refresh_from_db()
    assert rollout.status == Rollout.Status.DONE


def test_an_unhealthy_wave_halts_the_rollout_and_says_why(services, people):
    rollout = rollouts.propose_rollout("ecs-service", people["admin"])
    first = rollout.waves.get(number=1).change
    plan(first)
    workflow.approve(first, people["approver"])
    apply(first, unhealthy="1 of 1 tasks stopped: CannotPullContainerError")
    rollout.refresh_from_db()
    assert rollout.status == Rollout.Status.HALTED
    assert "did not report healthy (1 of 1 tasks stopped: CannotPullContainerError)." in rollout.halted_because
    second = rollout.waves.get(number=2).change
    assert {run.status for run in second.runs.all()} == {RunStatus.STALE}
    assert not inbox.waiting_for(people["approver"]).exists()


def test_a_workspace_with_a_change_under_way_is_left_out_not_superseded(services, people):
    pending = change_service(services[0], people["author"], desired_count=2)
    rollout = rollouts.propose_rollout("ecs-service", people["admin"])
    assert rollout.left_out == [{"path": services[0].workspaces.get(module="ecs-service").path, "why": "a change is under way there"}]
    assert sum(len(wave) for wave in waves_of(rollout)) == 3
    assert all(run.is_active for run in pending.runs.all())  # the team's change is still theirs


def test_refusals_change_nothing(services, people, client, settings):
    client.force_login(people["approver"])
    assert client.post(reverse("rollouts:propose"), {"module": "ecs-service"}).status_code == 403
    client.force_login(people["admin"])
    for module, words in [
        ("no-such-module", "No workspace is made from that module"),
        ("", "No workspace is made from that module"),
        ("ecs-cluster", "No workspace made from ecs-cluster has been applied yet"),
    ]:
        answer = client.post(reverse("rollouts:propose"), {"module": module}, follow=True)
        assert answer.status_code == 200 and words in answer.content.decode()
    assert not Rollout.objects.exists() and not Change.objects.filter(title__startswith="Roll out").exists()

    rollout = rollouts.propose_rollout("ecs-service", people["admin"])
    with pytest.raises(Refused) as refused:
        rollouts.propose_rollout("ecs-service", people["other-admin"])
    assert refused.value.refusal.code == "rollout_running"
    with pytest.raises(Refused) as refused:
        rollouts.resume_rollout(rollout, people["admin"])
    assert refused.value.refusal.code == "not_halted"
    assert Rollout.objects.count() == 1 and rollout.waves.count() == 3


def test_a_resume_after_the_module_changed_is_refused(services, people, monkeypatch):
    rollout = rollouts.propose_rollout("ecs-service", people["admin"])
    first = rollout.waves.get(number=1).change
    plan(first)
    workflow.discard(first, people["approver"])  # a discarded wave halts the rollout too
    rollout.refresh_from_db()
    assert rollout.status == Rollout.Status.HALTED and "Wave 1 did not apply" in rollout.halted_because
    version = version_of("ecs-service")
    monkeypatch.setattr(rollouts, "version_of", lambda module: type(version)(module, "f" * 64, ""))
    with pytest.raises(Refused) as refused:
        rollouts.resume_rollout(rollout, people["admin"])
    assert refused.value.refusal.code == "module_changed"
    rollout.refresh_from_db()
    assert rollout.status == Rollout.Status.HALTED and rollout.waves.filter(replaced=True).count() == 0
    # The new version is rolled out instead: the halted rollout is superseded and no longer says to resume.
    newer = rollouts.propose_rollout("ecs-service", people["admin"])
    rollout.refresh_from_db()
    assert newer.sha256 == "f" * 64 and rollout.status == Rollout.Status.SUPERSEDED
    assert rollout.halted_because.startswith("Wave 1 did not apply") and "Resume" not in rollout.halted_because
    assert rollout.halted_because.endswith("A rollout of a newer version of ecs-service took its place.")


def test_a_platform_wave_that_changes_outputs_has_their_readers_planned_again_after_it_applied(services, people):
    platform = {workspace.path: workspace for workspace in sync_platform_workspaces()}
    network = platform[network_path()]
    setup = workflow.propose("Plan the network", [(network, network.variables)], people["admin"])
    plan_approve_apply(setup, people["other-admin"])

    rollout = rollouts.propose_rollout("network", people["admin"])
    assert waves_of(rollout) == [[network.path]]
    first = rollout.waves.get().change
    plan(first, outputs={"private_subnet_ids": {"actions": ["update"]}, "vpc_id": {"actions": ["no-op"]}})
    workflow.approve(first, people["other-admin"])
    apply(first)
    rollout.refresh_from_db()
    assert rollout.status == Rollout.Status.RUNNING
    readers = sorted(workspace.path for workspace in Workspace.objects.all() if f"{network.path}/terraform.tfstate" in workspace.variables.values())
    assert readers and all(path.startswith("ecs/") for path in readers)
    again = list(rollout.waves.filter(number__gt=1))
    assert sorted(path for wave in waves_of(rollout)[1:] for path in wave) == readers
    assert all(wave.reason == "Reads outputs wave 1 changed: private_subnet_ids" for wave in again)


def test_the_api_proposes_reads_and_resumes_a_rollout_as_the_pages_do(services, people):
    admin, developer = api_for(people["admin"]), api_for(people["dev"])
    assert developer.post("/api/v1/rollouts/", {"module": "ecs-service"}, format="json").status_code == 403
    for junk in [{"module": "no-such"}, {"module": ["ecs-service"]}, {"module": {"a": 1}}, {}, {"module": "x" * 500}]:
        answer = admin.post("/api/v1/rollouts/", junk, format="json")
        assert answer.status_code == 400 and "module" in answer.json()["fields"], junk
    assert not Rollout.objects.exists()

    proposed = admin.post("/api/v1/rollouts/", {"module": "ecs-service"}, format="json")
    assert proposed.status_code == 201
    body = proposed.json()
    assert body["status"] == "running" and body["version"] == version_of("ecs-service").sha256
    assert [len(wave["runs"]) for wave in body["waves"]] == [1, 2, 1] and len(body["behind"]) == 4
    assert body["waves"][1]["state"] == "Planning" and body["waves"][1]["runs"][0]["status"] == "queued"
    again = admin.post("/api/v1/rollouts/", {"module": "ecs-service"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "rollout_running"
    assert admin.post(f"/api/v1/rollouts/{body['id']}/resume/").json()["code"] == "not_halted"
    assert admin.get("/api/v1/rollouts/999999/").status_code == 404

    rollout = Rollout.objects.get()
    first = rollout.waves.get(number=1).change
    plan(first)
    workflow.discard(first, people["approver"])
    read = admin.get(f"/api/v1/rollouts/{rollout.pk}/").json()
    assert read["status"] == "halted" and "Wave 1 did not apply" in read["halted_because"]
    resumed = admin.post(f"/api/v1/rollouts/{rollout.pk}/resume/")
    assert resumed.status_code == 200 and resumed.json()["status"] == "running"
    assert [wave["number"] for wave in resumed.json()["waves"] if not wave["replaced"]] == [4, 5, 6]
