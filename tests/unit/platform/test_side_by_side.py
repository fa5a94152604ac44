"""Provisioning's order: each platform workspace once what it needs is applied, the independent ones
at the same time (portal.platform.provisioning.side_by_side), with a stand-in for plan-and-apply."""

import threading

import pytest
from django.test import override_settings

from portal.platform.provisioning import ProvisioningFailed, needed_by, side_by_side
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

    def note(self, event):
        with self.lock:
            self.events.append(event)

    def step(self, workspace):
        self.note(f"start {workspace.path}")
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

    def step(workspace):
        if workspace.path == access_logs_path():
            started.set()
        elif workspace.path == workload_roles_path():
            threading.Thread(target=lambda: started.wait(10) and recorder.release(workload_roles_path())).start()
        return original(workspace)

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
    assert recorder.events == ["start c", "end c"]


def test_the_platform_is_destroyed_in_the_needs_read_backwards_the_network_and_bucket_together():
    # Destroying: a workspace goes once every workspace that needs it has gone; the administrators
    # stay (destroy_platform leaves them out).
    recorder = Recorder(hold=[network_path()])
    original = recorder.step

    def step(workspace):
        if workspace.path == access_logs_path():
            recorder.release(network_path())  # the network's destroy is still under way
        return original(workspace)

    going = [cluster_path(), network_path(), access_logs_path(), workload_roles_path()]
    side_by_side(workspaces(going), needed_by(platform_needs()), step, say=lambda line: None)
    assert recorder.events[:2] == [f"start {cluster_path()}", f"end {cluster_path()}"]
    assert recorder.index(f"start {access_logs_path()}") < recorder.index(f"end {network_path()}")
    assert recorder.index(f"start {workload_roles_path()}") > recorder.index(f"end {network_path()}")
    assert needed_by(platform_needs())[iam_admins_path()] == {workload_roles_path(), access_logs_path(), network_path(), cluster_path()}


def test_a_workspace_ready_before_its_apply_ends_lets_what_needs_it_start_while_it_is_still_under_way():
    # The access log bucket's step holds (its lifecycle rule) until the cluster has started: the
    # cluster needs only what `ready` says is in place, which here is the moment the bucket started.
    recorder = Recorder(hold=[access_logs_path()])
    original = recorder.step

    def step(workspace):
        if workspace.path == cluster_path():
            recorder.release(access_logs_path())
        return original(workspace)

    in_place = threading.Event()
    checks = []

    def bucket_ready():
        checks.append(in_place.is_set())
        return in_place.is_set()

    def step_marking(workspace):
        if workspace.path == network_path():
            in_place.set()  # what the cluster needs of the bucket is there by the time the network ends
        return step(workspace)

    changes = side_by_side(workspaces(PLATFORM), platform_needs(), step_marking, say=lambda line: None, ready={access_logs_path(): bucket_ready})
    assert changes == [f"change of {path}" for path in PLATFORM]
    assert recorder.index(f"start {cluster_path()}") < recorder.index(f"end {access_logs_path()}")
    assert recorder.index(f"end {network_path()}") < recorder.index(f"start {cluster_path()}")
    assert False in checks and checks[-1] is True  # asked until it was in place, then no more


def test_a_workspace_not_ready_holds_what_needs_it_until_its_apply_ends():
    recorder = Recorder()
    side_by_side(workspaces(PLATFORM), platform_needs(), recorder.step, say=lambda line: None, ready={access_logs_path(): lambda: False})
    assert recorder.index(f"end {access_logs_path()}") < recorder.index(f"start {cluster_path()}")


def test_a_ready_workspace_that_fails_later_is_still_the_failure_raised():
    recorder = Recorder(fail=[access_logs_path()], hold=[access_logs_path()])
    original = recorder.step

    def step(workspace):
        if workspace.path == cluster_path():
            recorder.release(access_logs_path())
        return original(workspace)

    with pytest.raises(ProvisioningFailed, match="access-logs"):
        side_by_side(workspaces(PLATFORM), platform_needs(), step, say=lambda line: None, ready={access_logs_path(): lambda: True})
    assert f"end {cluster_path()}" in recorder.events  # the cluster under way was let finish


def test_a_ready_workspace_lets_only_those_early_names_start_before_it_ends():
    # The roles are ready from the moment they start: the network (which names their flow logs' role)
    # starts while they are under way; the cluster (which reads their outputs) waits for their end.
    # The roles' step holds until a moment after the network's has ended: long enough for a cluster
    # let start on the roles' readiness to be seen starting.
    recorder = Recorder(hold=[workload_roles_path()])
    original = recorder.step

    def step(workspace):
        change = original(workspace)
        if workspace.path == network_path():
            threading.Timer(0.5, recorder.release, [workload_roles_path()]).start()
        return change

    changes = side_by_side(
        workspaces(PLATFORM), platform_needs(), step, say=lambda line: None, ready={workload_roles_path(): lambda: True}, early=platform_early_needs()
    )
    assert changes == [f"change of {path}" for path in PLATFORM]
    assert recorder.index(f"start {network_path()}") < recorder.index(f"end {workload_roles_path()}")
    assert recorder.index(f"end {workload_roles_path()}") < recorder.index(f"start {cluster_path()}")


def test_the_early_needs_are_needs_and_the_cluster_starts_early_on_nothing_whose_outputs_it_reads():
    needs, early = platform_needs(), platform_early_needs()
    assert early == {network_path(): {workload_roles_path()}, cluster_path(): {access_logs_path()}}
    for path, allowed in early.items():
        assert allowed <= needs[path]


@override_settings(PLATFORM_FLOW_LOGS=False)
def test_without_flow_logs_the_network_needs_no_roles():
    assert platform_needs()[network_path()] == {iam_admins_path()}
    assert network_path() not in platform_early_needs()
