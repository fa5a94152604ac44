"""Provisioning's order: each platform workspace once what it needs is applied, the independent ones
at the same time (portal.platform.provisioning.side_by_side), with a stand-in for plan-and-apply."""

import threading
import time
from collections import defaultdict

import pytest
from django.test import override_settings

from portal.platform.provisioning import ProvisioningFailed, needed_by, plans_first, side_by_side
from portal.workspaces.layout import platform_early_needs, platform_needs
from portal.workspaces.models import Workspace
from portal.workspaces.paths import access_logs_path, cluster_path, iam_admins_path, network_path, workload_roles_path

PLATFORM = [iam_admins_path(), workload_roles_path(), access_logs_path(), network_path(), cluster_path()]


class Recorder:
    """Records when each step starts and ends; `hold` names steps that wait until `release` names
    them (or a timeout, which fails the test rather than hanging it)."""

    def __init__(self, fail=(), hold=()):
        self.events: list[str] = []
        self.fail, self.hold = set(fail), {path: threading.Event() for path in hold}
        self.lock = threading.Lock()
        self.planned = defaultdict(threading.Event)  # set as a step asks may_apply

    def note(self, event):
        with self.lock:
            self.events.append(event)

    def step(self, workspace, may_apply=lambda: True):
        """Start (plan), ask may_apply as a plan waiting for approval does, then apply (held, when
        `hold` names it) and end, or fail."""
        self.note(f"start {workspace.path}")
        self.note(f"planned {workspace.path}")
        self.planned[workspace.path].set()
        if not may_apply():
            self.note(f"discarded {workspace.path}")
            raise ProvisioningFailed(f"{workspace.path}: planned and discarded")
        self.note(f"apply {workspace.path}")
        if workspace.path in self.hold:
            assert self.hold[workspace.path].wait(10), f"{workspace.path} was never released"
        if workspace.path in self.fail:
            self.note(f"failed {workspace.path}")
            raise ProvisioningFailed(f"{workspace.path}: it failed")
        self.note(f"end {workspace.path}")
        return f"change of {workspace.path}"

    def release(self, path):
        self.hold[path].set()

    def index(self, event):
        return self.events.index(event)


def workspaces(paths):
    return [Workspace(path=path) for path in paths]


def test_each_workspace_waits_for_what_it_needs_and_the_changes_come_back_in_the_given_order():
    recorder = Recorder()
    changes = side_by_side(workspaces(PLATFORM), platform_needs(), recorder.step, say=lambda line: None)
    assert changes == [f"change of {path}" for path in PLATFORM]
    needs = platform_needs()
    for path in PLATFORM:
        for needed in needs[path]:
            assert recorder.index(f"end {needed}") < recorder.index(f"start {path}"), (path, needed, recorder.events)


def test_the_roles_and_the_access_log_bucket_are_applied_at_the_same_time():
    # The roles' step holds until the bucket's step has started: one after the other, it never would.
    recorder = Recorder(hold=[workload_roles_path()])
    started = threading.Event()
    original = recorder.step

    def step(workspace, may_apply):
        if workspace.path == access_logs_path():
            started.set()
        elif workspace.path == workload_roles_path():
            threading.Thread(target=lambda: started.wait(10) and recorder.release(workload_roles_path())).start()
        return original(workspace, may_apply)

    side_by_side(workspaces(PLATFORM), platform_needs(), step, say=lambda line: None)
    assert started.is_set()
    assert recorder.index(f"start {access_logs_path()}") < recorder.index(f"end {workload_roles_path()}")


def test_a_failure_starts_nothing_that_needs_it_lets_the_step_under_way_finish_and_is_raised():
    # The roles fail while the bucket is still applying: the bucket's apply finishes, and neither the
    # network nor the cluster (which need the roles) is started.
    recorder = Recorder(fail=[workload_roles_path()], hold=[access_logs_path()])

    said = []

    def say(line):
        said.append(line)
        if "failed" in line:
            recorder.release(access_logs_path())

    with pytest.raises(ProvisioningFailed, match="workload-roles"):
        side_by_side(workspaces(PLATFORM), platform_needs(), recorder.step, say=say)
    assert f"end {access_logs_path()}" in recorder.events
    # The operator hears of the failure while the bucket is still applying, not once it has ended.
    assert f"{workload_roles_path()} failed; provisioning stops once what is under way ends ({access_logs_path()})." in said
    assert f"start {network_path()}" not in recorder.events
    assert f"start {cluster_path()}" not in recorder.events


@override_settings(LOAD_BALANCER_ACCESS_LOGS=False)
def test_without_access_logs_the_cluster_needs_no_bucket_and_still_comes_last():
    paths = [p for p in PLATFORM if p != access_logs_path()]
    needs = platform_needs()
    assert access_logs_path() not in needs and access_logs_path() not in needs[cluster_path()]
    recorder = Recorder()
    side_by_side(workspaces(paths), needs, recorder.step, say=lambda line: None)
    assert recorder.events[-1] == f"end {cluster_path()}"


def test_needs_no_order_can_meet_are_refused_with_the_workspaces_named():
    needs = {"a": {"b"}, "b": {"a"}, "c": set()}
    recorder = Recorder()
    with pytest.raises(ProvisioningFailed, match="need each other: a, b"):
        side_by_side(workspaces(["a", "b", "c"]), needs, recorder.step, say=lambda line: None)
    assert recorder.events == ["start c", "planned c", "apply c", "end c"]


def test_the_platform_is_destroyed_in_the_needs_read_backwards_the_network_and_bucket_together():
    # Destroying: a workspace goes once every workspace that needs it has gone; the administrators
    # stay (destroy_platform leaves them out).
    recorder = Recorder(hold=[network_path()])
    original = recorder.step

    def step(workspace, may_apply):
        if workspace.path == access_logs_path():
            recorder.release(network_path())  # the network's destroy is still under way
        return original(workspace, may_apply)

    going = [cluster_path(), network_path(), access_logs_path(), workload_roles_path()]
    side_by_side(workspaces(going), needed_by(platform_needs()), step, say=lambda line: None)
    assert recorder.events[:4] == [f"start {cluster_path()}", f"planned {cluster_path()}", f"apply {cluster_path()}", f"end {cluster_path()}"]
    assert recorder.index(f"start {access_logs_path()}") < recorder.index(f"end {network_path()}")
    assert recorder.index(f"start {workload_roles_path()}") > recorder.index(f"end {network_path()}")
    assert needed_by(platform_needs())[iam_admins_path()] == {workload_roles_path(), access_logs_path(), network_path(), cluster_path()}


def test_a_workspace_ready_before_its_apply_ends_lets_what_needs_it_apply_while_it_is_still_under_way():
    # The access log bucket's apply holds (its lifecycle rule) until the cluster's apply has begun:
    # the cluster's apply needs only what `ready` says is in place, which here is the moment the
    # network ended.
    recorder = Recorder(hold=[access_logs_path()])
    original = recorder.step
    in_place = threading.Event()
    checks = []

    def bucket_ready():
        checks.append(in_place.is_set())
        return in_place.is_set()

    def step(workspace, may_apply):
        change = original(workspace, may_apply)
        if workspace.path == network_path():
            in_place.set()  # what the cluster needs of the bucket is there by the time the network ends
        if workspace.path == cluster_path():
            recorder.release(access_logs_path())
        return change

    changes = side_by_side(
        workspaces(PLATFORM), platform_needs(), step, say=lambda line: None, ready={access_logs_path(): bucket_ready}, early=platform_early_needs()
    )
    assert changes == [f"change of {path}" for path in PLATFORM]
    assert recorder.index(f"end {cluster_path()}") < recorder.index(f"end {access_logs_path()}")
    assert recorder.index(f"end {network_path()}") < recorder.index(f"start {cluster_path()}")
    assert False in checks and checks[-1] is True  # asked until it was in place, then no more


def test_a_workspace_not_ready_holds_the_apply_of_what_needs_it_until_its_own_apply_ends():
    recorder = Recorder()
    side_by_side(
        workspaces(PLATFORM), platform_needs(), recorder.step, say=lambda line: None, ready={access_logs_path(): lambda: False}, early=platform_early_needs()
    )
    assert recorder.index(f"end {access_logs_path()}") < recorder.index(f"apply {cluster_path()}")


def test_without_early_needs_readiness_lets_nothing_start_before_the_apply_ends():
    # destroy_platform passes neither: each workspace waits for the whole step of what it needs.
    recorder = Recorder()
    side_by_side(workspaces(PLATFORM), platform_needs(), recorder.step, say=lambda line: None, ready={access_logs_path(): lambda: True})
    assert recorder.index(f"end {access_logs_path()}") < recorder.index(f"start {cluster_path()}")


def test_a_ready_workspace_that_fails_later_is_still_the_failure_raised():
    recorder = Recorder(fail=[access_logs_path()], hold=[access_logs_path()])
    original = recorder.step

    def step(workspace, may_apply):
        change = original(workspace, may_apply)
        if workspace.path == cluster_path():
            recorder.release(access_logs_path())
        return change

    with pytest.raises(ProvisioningFailed, match="access-logs"):
        side_by_side(
            workspaces(PLATFORM), platform_needs(), step, say=lambda line: None, ready={access_logs_path(): lambda: True}, early=platform_early_needs()
        )
    assert f"end {cluster_path()}" in recorder.events  # the cluster under way was let finish


def test_a_ready_workspace_lets_only_those_early_names_start_before_it_ends():
    # The roles are ready from the moment they start: the network (which names their flow logs' role)
    # plans and applies while they are under way; the cluster (which reads their outputs) waits for
    # their end. The roles' step holds until a moment after the network's has ended: long enough for
    # a cluster let start on the roles' readiness to be seen starting.
    recorder = Recorder(hold=[workload_roles_path()])
    original = recorder.step

    def step(workspace, may_apply):
        change = original(workspace, may_apply)
        if workspace.path == network_path():
            threading.Timer(0.5, recorder.release, [workload_roles_path()]).start()
        return change

    changes = side_by_side(
        workspaces(PLATFORM), platform_needs(), step, say=lambda line: None, ready={workload_roles_path(): lambda: True}, early=platform_early_needs()
    )
    assert changes == [f"change of {path}" for path in PLATFORM]
    assert recorder.index(f"start {network_path()}") < recorder.index(f"end {workload_roles_path()}")
    assert recorder.index(f"apply {network_path()}") < recorder.index(f"end {workload_roles_path()}")
    assert recorder.index(f"end {workload_roles_path()}") < recorder.index(f"start {cluster_path()}")


def test_a_workspace_plans_while_an_early_need_is_under_way_and_applies_once_it_is_in_place():
    # The network plans as soon as the roles have started; its apply waits until their flow logs'
    # role is in place, which here is the moment the test says so, after the network has planned.
    in_place = threading.Event()
    recorder = Recorder()
    original = recorder.step

    def step(workspace, may_apply):
        if workspace.path == workload_roles_path():
            assert recorder.planned[network_path()].wait(10), "the network never asked to apply while the roles were under way"
            recorder.note("the flow logs' role is in place")
            in_place.set()
            # The rest of the roles' apply: the network applies meanwhile.
            deadline = time.monotonic() + 10
            while f"apply {network_path()}" not in recorder.events and time.monotonic() < deadline:
                time.sleep(0.05)
        return original(workspace, may_apply)

    side_by_side(
        workspaces(PLATFORM),
        platform_needs(),
        step,
        say=lambda line: None,
        ready={workload_roles_path(): in_place.is_set},
        early=platform_early_needs(),
    )
    assert recorder.index(f"start {network_path()}") < recorder.index("the flow logs' role is in place") < recorder.index(f"apply {network_path()}")
    assert recorder.index(f"apply {network_path()}") < recorder.index(f"end {workload_roles_path()}")


def test_when_an_early_need_fails_before_it_is_in_place_the_plan_waiting_on_it_is_not_applied():
    recorder = Recorder(fail=[workload_roles_path()])
    original = recorder.step

    def step(workspace, may_apply):
        if workspace.path == workload_roles_path():
            assert recorder.planned[network_path()].wait(10), "the network never asked to apply while the roles were under way"
        return original(workspace, may_apply)

    with pytest.raises(ProvisioningFailed, match="workload-roles"):
        side_by_side(
            workspaces(PLATFORM), platform_needs(), step, say=lambda line: None, ready={workload_roles_path(): lambda: False}, early=platform_early_needs()
        )
    assert f"discarded {network_path()}" in recorder.events
    assert f"apply {network_path()}" not in recorder.events
    assert f"start {cluster_path()}" not in recorder.events


def test_the_plans_off_the_way_to_the_cluster_start_once_the_plans_on_it_are_done():
    # The access log bucket plans once the network has; the administrators' own plan once the
    # cluster has (they were just bootstrapped, so nothing needs them).
    recorder = Recorder()
    needs = {path: needed - {iam_admins_path()} for path, needed in platform_needs().items()}
    side_by_side(
        workspaces(PLATFORM),
        needs,
        recorder.step,
        say=lambda line: None,
        ready={workload_roles_path(): lambda: True},
        early=platform_early_needs(),
        after=plans_first(iam_admins_path()),
    )
    assert recorder.index(f"planned {network_path()}") < recorder.index(f"start {access_logs_path()}")
    assert recorder.index(f"planned {cluster_path()}") < recorder.index(f"start {iam_admins_path()}")


def test_only_the_bootstrapped_administrators_wait_and_only_for_plans_that_will_run():
    assert plans_first(None) == {access_logs_path(): {network_path()}}
    assert plans_first(iam_admins_path())[iam_admins_path()] == {cluster_path()}
    # A workspace to go after one that is not provisioned (no access log bucket, say) does not wait.
    recorder = Recorder()
    paths = [iam_admins_path(), workload_roles_path(), network_path()]
    side_by_side(workspaces(paths), platform_needs(), recorder.step, say=lambda line: None, after={iam_admins_path(): {cluster_path()}})
    assert recorder.events[0] == f"start {iam_admins_path()}"


def test_the_early_needs_are_needs_and_the_cluster_starts_early_on_nothing_whose_outputs_it_reads():
    needs, early = platform_needs(), platform_early_needs()
    assert early == {network_path(): {workload_roles_path()}, cluster_path(): {access_logs_path()}}
    for path, allowed in early.items():
        assert allowed <= needs[path]


@override_settings(PLATFORM_FLOW_LOGS=False)
def test_without_flow_logs_the_network_needs_no_roles():
    assert platform_needs()[network_path()] == {iam_admins_path()}
    assert network_path() not in platform_early_needs()
