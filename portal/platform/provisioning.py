"""Provisioning the shared platform: the state bucket and the IAM administrators, then the workloads'
roles, the access log bucket, the network and the cluster.

A platform workspace that reads the outputs of others (or needs their resources) is planned only
once they are applied (portal.workspaces.layout.platform_needs); those that need nothing pending are
planned and applied side by side. One change per workspace.

A step that fails is tried again, a bounded number of times (`attempts`): a failed apply leaves
what it did in the state, so a new plan of the workspace holds only what is left, and applying it
carries on where the failed one stopped. Each new change's title names the run that failed before
it, and `say` tells the operator (the terminal of bin/portal) what failed and what happens next.
"""

import json
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from urllib.parse import unquote

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import connections

from portal import audit
from portal.changes.workflow import Refusal, Refused, approve, discard, propose
from portal.core.aws import client
from portal.runner import leftovers
from portal.runner.bootstrap import bootstrap_administrators, start_state_bucket
from portal.runner.terraform import TerraformError
from portal.runs.models import BREAKING_STATUSES, Change, Run, RunStatus
from portal.workspaces import identities
from portal.workspaces.layout import (
    access_logs_bucket,
    access_logs_path,
    administrators_workspace,
    flow_logs_role_arn,
    platform_early_needs,
    platform_needs,
    state_bucket_workspace,
    sync_platform_workspaces,
    workload_roles_path,
)
from portal.workspaces.models import Workspace
from portal.workspaces.paths import cluster_path, network_path, prefix, state_bucket_path

ATTEMPTS = 3  # what bin/portal's provisioning allows a step (PORTAL_PROVISION_ATTEMPTS)
PAUSE = 5  # seconds between attempts: what was transient has a moment to pass
LOOK_AGAIN = 0.5  # seconds between looks at what may have changed: a readiness, a plan that ended


def plan_workspace(workspace: Workspace, user) -> Change:
    """An admin plans a platform workspace from the Platform page: a change like any other, recorded
    in the audit trail. Refused for the state bucket, which `manage.py bootstrap_state` creates."""
    if workspace.path == state_bucket_path():
        raise Refused(Refusal("state_bucket", "The state bucket is created by `manage.py bootstrap_state`, not planned here."))
    change = propose(f"Plan {workspace.path}", [(workspace, workspace.variables)], user)
    audit.record("platform.plan", user, workspace, change=change.pk)
    return change


class ProvisioningFailed(Exception):
    """A step of provisioning that did not end as wanted. `run` is the run that shows why (its log,
    its page); `retryable` is False where planning again cannot help yet (a run still under way)."""

    def __init__(self, message: str, run: Run | None = None, retryable: bool = True):
        super().__init__(message)
        self.run = run
        self.retryable = retryable


# Terraform's diagnostics (with -no-color): "Error: <summary>", a blank line, "  with <address>,".
DIAGNOSTIC = re.compile(r"^Error: (?P<summary>.+?)\n(?:\s*\n)?(?:  with (?P<address>[^,\n]+),)?", re.MULTILINE)
NOISE = re.compile(r"(RequestID|HostID): [^,]*, ?")


def terraform_errors(log: str, limit: int = 3) -> list[str]:
    """What terraform said went wrong, one line per error ("address: summary"), without the request
    ids AWS adds: the run's own error says only that terraform exited, the reason is in its log."""
    found = []
    for match in DIAGNOSTIC.finditer(log):
        summary = NOISE.sub("", match["summary"]).strip(" ,")
        found.append(f"{match['address']}: {summary}" if match["address"] else summary)
    return found[:limit]


def failure_of(run: Run) -> str:
    """A failed run: where, its error, then terraform's own errors from its log, one a line."""
    errors = terraform_errors(run.log)
    return f"{run.workspace.path}: {run.error or run.get_status_display()}" + "".join(f"\n    {e}" for e in errors)


def wait_for(change: Change, statuses: set[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        runs = list(change.runs.select_related("workspace"))
        if all(run.status in statuses for run in runs):
            return
        failed = [run for run in runs if run.status in (*BREAKING_STATUSES, RunStatus.ABANDONED)]
        if failed:
            # The run that broke the change says why; the ones it abandoned only that it did.
            failed.sort(key=lambda run: run.status == RunStatus.ABANDONED)
            run = failed[0]
            raise ProvisioningFailed(f"{failure_of(run)}\n    (run {run.pk})", run)
        # Ended, or waiting for a person: nothing more happens to it on its own.
        settled = [run for run in runs if not run.is_active or run.status == RunStatus.AWAITING_APPROVAL]
        if len(settled) == len(runs):
            found = ", ".join(f"{run.workspace.path}: {run.status}" for run in runs)
            raise ProvisioningFailed(f"{change} settled elsewhere than {sorted(statuses)}: {found}", runs[0])
        if time.monotonic() > deadline:
            raise ProvisioningFailed(f"{change} did not finish within {timeout:.0f}s", runs[0], retryable=False)
        time.sleep(0.5)


def plan_and_apply(workspace: Workspace, requester, approver, *, destroy=False, timeout=900, title="", may_apply: Callable[[], bool] | None = None) -> Change:
    """Plan one workspace, approve it as `approver` and wait until it is applied (or unchanged).
    `may_apply()`, asked once the plan waits for approval, may hold the approval until what the
    apply uses is in place (side_by_side's early needs); when it says no, the plan is discarded."""
    title = title or f"{'Destroy' if destroy else 'Provision'} {workspace.path}"
    try:
        change = propose(title, [(workspace, workspace.variables)], requester, destroy=destroy)
    except Refused as exc:  # someone's run is planning or applying there: it ends, then we plan
        raise ProvisioningFailed(f"{workspace.path}: {exc.refusal.message}") from exc
    wait_for(change, {RunStatus.AWAITING_APPROVAL, RunStatus.NO_CHANGES}, timeout)
    if change.runs.filter(status=RunStatus.AWAITING_APPROVAL).exists():
        if may_apply is not None and not may_apply():
            why = "what its apply uses (a platform workspace provisioned beside it) failed before it was in place"
            try:
                discard(change, approver)
            except Refused:  # a person approved or discarded it from the Platform page meanwhile: theirs
                pass
            else:
                for run in change.runs.all():
                    run.append_log(f"[portal] Provisioning discarded this plan, unapplied: {why}.\n")
            raise ProvisioningFailed(f"{workspace.path}: planned, then discarded unapplied: {why}", retryable=False)
        approve(change, approver)
        wait_for(change, {RunStatus.APPLIED}, timeout)
    return change


def say_nothing(line: str) -> None:
    pass


def with_attempts(step: Callable[[str], object], name: str, workspace: Workspace, *, attempts: int, say, pause: float, planned: bool = True):
    """Run `step(title)` until it succeeds, at most `attempts` times. Between attempts of a planned
    step, what a failed apply left outside the state is cleared (on the emulator; see
    portal.runner.leftovers), so that the next plan does not fail on it the same way. A bootstrap
    step (`planned=False`) starts from its own local state and is only run again."""
    failure = None
    for attempt in range(1, attempts + 1):
        after = f"; run {failure.run.pk} failed" if failure is not None and failure.run is not None else ""
        title = name if failure is None else f"{name} (attempt {attempt} of {attempts}{after})"
        try:
            return step(title[:200])
        except ProvisioningFailed as exc:
            failure = exc
        except TerraformError as exc:  # a bootstrap step, which runs here rather than on a worker
            failure = ProvisioningFailed(f"{name}: {exc}", Run.objects.filter(workspace=workspace).newest_first().first())
        if not failure.retryable or attempt == attempts:
            break
        say(f"{name}: attempt {attempt} of {attempts} failed: {failure}")
        if planned:
            for found in leftovers.clear(workspace):
                say(f"  {found}")
        say(f"  trying again in {pause:.0f} s" + ("; the new plan holds only what is left to do." if planned else "."))
        time.sleep(pause)
    raise ProvisioningFailed(f"{failure}{f' [after {attempt} attempts]' if attempt > 1 else ''}", failure.run, retryable=False)


def provision_platform(requester, approver, timeout=900, *, attempts: int = 1, say: Callable[[str], None] = say_nothing, pause: float = PAUSE) -> list[Change]:
    """Bring the whole platform up to date; needs a running worker. Idempotent. Each step is tried
    up to `attempts` times (one by default: a test that provisions wants to see the first failure).

    The state bucket's bootstrap ends in two parts: what the bucket needs before it holds state
    comes first, and the rest of it (its lifecycle rule, 55 s of the provider's waiting) is applied
    beside the administrators and the platform, which need only the first part."""

    def tried(step, name: str, workspace: Workspace, planned: bool = True):
        return with_attempts(step, name, workspace, attempts=attempts, say=say, pause=pause, planned=planned)

    state_bucket = state_bucket_workspace()
    say("Bootstrap the state bucket (skipped once its state is in the bucket)...")
    started = tried(lambda title: start_state_bucket(requester), "Bootstrap the state bucket", state_bucket, planned=False)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="state-bucket") as background:
        finishing = None
        if started is not None:
            finishing = background.submit(
                in_own_connection,
                lambda workspace: tried(finishing_step(started, requester), "Bootstrap the state bucket (its lifecycle rule)", workspace, planned=False),
                state_bucket,
            )
        try:
            say("Bootstrap the IAM administrators (skipped once its state is in the bucket)...")
            administrators = administrators_workspace()
            bootstrapped = tried(lambda title: bootstrap_administrators(requester), "Bootstrap the IAM administrators", administrators, planned=False)
            needs = platform_needs()
            if bootstrapped is not None:
                # The bootstrap has just applied the administrators' configuration, which is what the
                # others need of that workspace; its own plan, as the iam administrator (nothing to
                # change, unless someone changed it in between), runs beside them.
                needs = {path: needed - {administrators.path} for path, needed in needs.items()}
            changes = side_by_side(
                sync_platform_workspaces(),
                needs,
                lambda workspace, may_apply: tried(
                    lambda title: plan_and_apply(workspace, requester, approver, timeout=timeout, title=title, may_apply=may_apply),
                    f"Provision {workspace.path}",
                    workspace,
                ),
                say,
                ready_before_applied(),
                platform_early_needs(),
                plans_first(administrators.path if bootstrapped is not None else None),
            )
        except ProvisioningFailed:
            if finishing is not None:
                wait([finishing])  # the bucket's apply is not stopped half way; the first failure is the one told
            raise
    if finishing is not None:
        finishing.result()
    return changes


def plans_first(administrators_bootstrapped: str | None) -> dict[str, set[str]]:
    """For the platform workspaces off the way to the cluster, whose plans go first (side_by_side's
    `after`). On two cores every plan beside the roles' and the network's slows them, and so the
    cluster, whose load balancer alone takes the provider a minute of waiting once it starts. The
    access log bucket is first used by the cluster's apply, which follows the network's: its plan
    goes after the network's, and its bucket and policy are in place long before the cluster's
    apply (its lifecycle rule then takes the provider 55 s, beside the cluster). The administrators'
    own plan, when the bootstrap has just applied them (`administrators_bootstrapped`: their path),
    is used by none: it goes after the cluster's, during the load balancer's minute."""
    first = {access_logs_path(): {network_path()}} if settings.LOAD_BALANCER_ACCESS_LOGS else {}
    if administrators_bootstrapped:
        first[administrators_bootstrapped] = {cluster_path()}
    return first


def ready_before_applied() -> dict[str, Callable[[], bool]]:
    """The platform workspaces whose dependents may start before their apply ends (those of them
    platform_early_needs names). The cluster needs of the access log bucket only that AWS may check,
    when the load balancer's access_logs are set, that the load balancer may write there: the bucket
    and its policy
    (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html),
    made in the first seconds of that bucket's apply, whose lifecycle rule then takes the provider
    55 s (see portal.runner.bootstrap.READY_FOR_STATE). The network needs of the roles only its flow
    logs' role, with its trust and its policy, made in the first seconds of the roles' apply (whose
    instance profile and the provider's waits on IAM then take the rest of it)."""
    ready = {}
    if settings.PLATFORM_FLOW_LOGS:
        ready[workload_roles_path()] = flow_logs_may_write
    if settings.LOAD_BALANCER_ACCESS_LOGS:
        ready[access_logs_path()] = load_balancer_may_write_logs
    return ready


def flow_logs_may_write() -> bool:
    """Whether the flow logs' role (flow_logs_role_arn) is there for VPC Flow Logs: trusted by
    vpc-flow-logs.amazonaws.com, with its policy allowing logs:PutLogEvents; read as the iam
    administrator, which runs the roles' workspace. VPC Flow Logs assume the role to publish to
    CloudWatch Logs (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html)."""
    name = flow_logs_role_arn().rsplit("/", 1)[-1]
    iam = client("iam", role_arn=identities.role_arn("iam", "admin"))
    try:
        role = iam.get_role(RoleName=name)["Role"]
        policy = iam.get_role_policy(RoleName=name, PolicyName=FLOW_LOGS_POLICY)["PolicyDocument"]
    except (ClientError, BotoCoreError):  # no role or no policy yet, or no answer: not known to be in place
        return False
    return (
        role["Arn"] == flow_logs_role_arn()
        and allows(role["AssumeRolePolicyDocument"], "sts:AssumeRole", lambda statement: "vpc-flow-logs.amazonaws.com" in principals(statement))
        and allows(policy, "logs:PutLogEvents", lambda statement: True)
    )


# The flow logs' role's own policy, as infra_modules/workload-roles names it.
FLOW_LOGS_POLICY = "write-flow-logs"


def allows(document, action: str | set[str], also: Callable[[dict], bool]) -> bool:
    """Whether a policy document (URL-encoded JSON as IAM returns it, or parsed) allows `action` (or
    any of a set, e.g. the action and its service's wildcard) in a statement that `also` accepts."""
    if isinstance(document, str):
        document = json.loads(unquote(document))
    wanted = {action} if isinstance(action, str) else action
    for statement in document.get("Statement", []):
        if statement.get("Effect") == "Allow" and wanted & set(listed(statement, "Action")) and also(statement):
            return True
    return False


def listed(statement: dict, key: str) -> list[str]:
    """A statement's Action, Resource and the like as a list: IAM writes one value as a string."""
    values = statement.get(key, [])
    return [values] if isinstance(values, str) else values


def principals(statement: dict) -> list[str]:
    services = (statement.get("Principal") or {}).get("Service", [])
    return [services] if isinstance(services, str) else services


def load_balancer_may_write_logs() -> bool:
    """Whether the access log bucket's policy lets Elastic Load Balancing write under the load
    balancer's prefix; read as the s3 administrator, which runs that bucket's workspace."""
    bucket = access_logs_bucket()
    try:
        policy = client("s3", role_arn=identities.role_arn("s3", "admin")).get_bucket_policy(Bucket=bucket)["Policy"]
    except (ClientError, BotoCoreError):  # no bucket or no policy yet, or no answer: not known to be in place
        return False
    wanted = f":::{bucket}/{prefix()}/AWSLogs/"
    # S3 returns the policy as plain JSON (IAM's documents come URL-encoded): parsed here.
    return allows(json.loads(policy), {"s3:PutObject", "s3:*"}, lambda statement: any(wanted in r for r in listed(statement, "Resource")))


def finishing_step(started, requester) -> Callable[[str], object]:
    """The step that applies what is left of the state bucket: the bootstrap begun, then, should
    that fail, a new bootstrap run that carries on from the state in the bucket."""
    first = [started]

    def step(title):
        bootstrap = first.pop() if first else start_state_bucket(requester)
        return bootstrap.finish() if bootstrap is not None else None

    return step


def side_by_side(
    workspaces: list[Workspace],
    needs: dict[str, set[str]],
    step: Callable[[Workspace, Callable[[], bool]], Change],
    say,
    ready: dict[str, Callable[[], bool]] | None = None,
    early: dict[str, set[str]] | None = None,
    after: dict[str, set[str]] | None = None,
) -> list[Change]:
    """`step(workspace, may_apply)` for each workspace once every workspace it needs (of those
    given) has been stepped; the ones whose needs are met run at the same time, each in a thread of
    its own (they mostly wait on the workers). The changes come back in the order of `workspaces`.

    `early` names, for a workspace, needs whose resources its apply uses but whose outputs its plan
    does not read: it starts (plans) once they are under way, and `may_apply()`, which the step
    calls once its plan waits for approval, holds it until each is in place (`ready[path]()`, asked
    each second while it is under way) or stepped; False when one failed: the step applies nothing.
    `after` names, for a workspace, others whose plans go first (it is needed later than they are):
    it starts once each has been planned (its step called may_apply) or stepped, so that on two
    cores the plans on the way to the cluster are not shared with ones that can wait.

    A step that fails for good starts nothing more: the steps under way finish (an apply is not
    stopped half way), then its failure is raised."""
    ready, early, after = ready or {}, early or {}, after or {}
    given = {workspace.path for workspace in workspaces}
    waiting = list(workspaces)
    done: dict[str, Change] = {}
    failure: ProvisioningFailed | None = None
    started: set[str] = set()
    failed: set[str] = set()
    planned: set[str] = set()  # added to by the steps' threads
    # Stepped, or under way with what the others need of it in place.
    usable = {workspace.path: threading.Event() for workspace in workspaces}

    def needs_met(workspace: Workspace) -> bool:
        path = workspace.path
        allowed = early.get(path, set())
        return all(need in done or (need in allowed and need in started) for need in needs.get(path, set()) & given) and all(
            first in done or first in planned for first in after.get(path, set()) & given
        )

    def gate(workspace: Workspace) -> Callable[[], bool]:
        def may_apply() -> bool:
            planned.add(workspace.path)
            for need in early.get(workspace.path, set()) & given:
                while not usable[need].wait(LOOK_AGAIN):
                    if need in failed:
                        return False
            return True

        return may_apply

    with ThreadPoolExecutor(max_workers=max(len(workspaces), 1), thread_name_prefix="provision") as pool:
        running: dict = {}
        while True:
            for workspace in running.values():
                if workspace.path in ready and not usable[workspace.path].is_set() and ready[workspace.path]():
                    usable[workspace.path].set()
            # Until none is left to start: one started may let another start on it (an early need).
            while startable := [w for w in waiting if needs_met(w)] if failure is None else []:
                for workspace in startable:
                    waiting.remove(workspace)
                    started.add(workspace.path)
                    say(f"{workspace.path}: planning and applying...")
                    running[pool.submit(in_own_connection, step, workspace, gate(workspace))] = workspace
            if not running:
                break
            # Look again every half second while something may change before a step ends: a
            # readiness to ask (a plan waits on it), or a plan that lets a waiting workspace start.
            looking = bool(waiting) or any(w.path in ready and not usable[w.path].is_set() for w in running.values())
            finished, _ = wait(running, timeout=LOOK_AGAIN if looking else None, return_when=FIRST_COMPLETED)
            for future in finished:
                workspace = running.pop(future)
                try:
                    done[workspace.path] = future.result()
                    usable[workspace.path].set()
                except ProvisioningFailed as exc:
                    failed.add(workspace.path)
                    failure = failure or exc
                    if running:  # the operator hears now, not once the others have ended
                        under_way = ", ".join(sorted(w.path for w in running.values()))
                        say(f"{workspace.path} failed; provisioning stops once what is under way ends ({under_way}).")
    if failure is not None:
        raise failure
    if waiting:  # needs that no order can meet: a cycle, or a workspace waiting for itself
        raise ProvisioningFailed(f"These platform workspaces need each other: {', '.join(w.path for w in waiting)}", retryable=False)
    return [done[workspace.path] for workspace in workspaces]


def in_own_connection(step, workspace, *args):
    # Each thread opens its own database connection (Django's are per thread); it is closed when
    # the step ends rather than left to the server's idle timeout.
    try:
        return step(workspace, *args)
    finally:
        connections.close_all()


def destroy_platform(requester, approver, timeout=900) -> list[Change]:
    """Destroy the cluster, network, access log bucket and workload roles, each once every workspace
    that needs it is destroyed (the needs read backwards: the cluster first, then the network and
    the bucket side by side, then the roles). Not the state bucket (prevent_destroy), nor the
    administrators: the iam administrator cannot remove itself, and every run needs them. The
    changes come back in the order they may be applied: the cluster's first."""
    workspaces = list(reversed(sync_platform_workspaces()))[:-1]
    return side_by_side(
        workspaces,
        needed_by(platform_needs()),
        lambda workspace, may_apply: plan_and_apply(workspace, requester, approver, destroy=True, timeout=timeout),
        say_nothing,
    )


def needed_by(needs: dict[str, set[str]]) -> dict[str, set[str]]:
    """The needs read backwards: for each workspace, those that need it (and are to go first)."""
    backwards: dict[str, set[str]] = {path: set() for path in needs}
    for path, needed in needs.items():
        for other in needed:
            backwards.setdefault(other, set()).add(path)
    return backwards
