"""The evaluation: every recorded call of the runs, and what AWS checks on the side, decided as AWS
would for the identity that made it. See the README, "What the IAM evaluation checks, and what only
AWS can"."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from tests.iam import operations, sar
from tests.iam.calls import Request, parse
from tests.iam.decide import Check, decide, supported
from tests.iam.identities import Identities, Identity
from tests.iam.recorder import Recorded
from tests.iam.world import World

# Denials the caller is known to handle as AWS answers them, each with where the caller's code says so.
TOLERATED = [
    (
        lambda request, check: (
            request.service == "s3"
            and request.operation == "ListObjectsV2"
            and request.params.get("prefix") == "env:/"
            and check.action == "s3:ListBucket"
            and not check.because
        ),
        (
            'Terraform\'s S3 backend lists other workspaces under env:/ and takes AccessDenied as "none" '
            "(hashicorp/terraform v1.11.4, internal/backend/remote-state/s3/backend_state.go, Backend.Workspaces)"
        ),
    ),
]
REFUSALS = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "InvalidClientTokenId", "403"}


@dataclass
class Row:
    identity: str
    action: str
    resource: str
    missing: tuple[str, ...]
    operation: str
    because: str
    context: dict

    @property
    def key(self):
        return (self.identity, self.action, self.resource, self.missing)


@dataclass
class Report:
    recorded: int = 0
    evaluated_calls: int = 0
    own_checks: int = 0
    implicit_checks: int = 0
    unattributed: list[str] = field(default_factory=list)
    harness_errors: list[str] = field(default_factory=list)
    denied: list[Row] = field(default_factory=list)
    denied_calls: set[int] = field(default_factory=set)
    tolerated: list[tuple[Row, str]] = field(default_factory=list)
    refused_on_emulator: list[Row] = field(default_factory=list)
    allowed_but_refused_on_emulator: list[str] = field(default_factory=list)
    per_identity: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    operations: Counter = field(default_factory=Counter)

    def distinct_denied(self) -> list[tuple[Row, int, list[str]]]:
        """(row, how many times, the operations it came from) per distinct (identity, action, resource, missing)."""
        counts = Counter(row.key for row in self.denied)
        first, operations_of = {}, defaultdict(list)
        for row in self.denied:
            first.setdefault(row.key, row)
            if row.operation not in operations_of[row.key]:
                operations_of[row.key].append(row.operation)
        return [(first[key], counts[key], operations_of[key]) for key in sorted(first)]

    def summary(self) -> str:
        lines = [
            (
                f"IAM evaluation: {self.recorded} calls recorded, {self.evaluated_calls} evaluated "
                f"({self.own_checks} authorizations of the calls themselves, {self.implicit_checks} modelled on the side), "
                f"{len(self.denied_calls)} calls denied ({len(self.distinct_denied())} distinct denials), "
                f"{len(self.tolerated)} denials the caller tolerates, {len(self.refused_on_emulator)} refused on the emulator too."
            ),
            "Per identity (calls / checks / denied checks):",
        ]
        for name, counts in sorted(self.per_identity.items()):
            lines.append(f"  {name}: {counts['calls']} / {counts['checks']} / {counts['denied']}")
        if self.unattributed:
            lines.append(f"Not evaluated (no identity of the account, the emulator's own credentials): {len(self.unattributed)} calls")
        return "\n".join(lines)

    def denial_text(self) -> str:
        lines = []
        for row, count, operations_of in self.distinct_denied():
            lines.append(
                f"- {row.identity}: {row.action} on {row.resource} ({', '.join(operations_of)}{', x' + str(count) if count > 1 else ''})\n"
                + "".join(f"    missing: {m}\n" for m in row.missing)
                + (f"    why AWS checks it: {row.because}\n" if row.because else "")
                + f"    context: {operations.dumps(row.context)}"
            )
        return "\n".join(lines)


def base_context(call: Recorded | None, identity: Identity, region: str) -> dict:
    context = {
        # The emulator speaks plain HTTP; a task's agent calls AWS over TLS.
        "aws:SecureTransport": "true" if call is None or call.secure else "false",
        "aws:RequestedRegion": region,
        "aws:PrincipalAccount": identity.principal_arn.split(":")[4] if identity.principal_arn.startswith("arn:") else "",
    }
    if identity.kind == "role session":
        context["aws:PrincipalType"] = "AssumedRole"
    elif identity.kind == "user":
        context["aws:PrincipalType"] = "User"
    return context


def with_service_aliases(action: str, resource_type: str | None, context: dict) -> dict:
    """`<service>:ResourceTag/<key>` beside `aws:ResourceTag/<key>` where the action takes it."""
    prefix = action.split(":", 1)[0]
    out = dict(context)
    for key, value in context.items():
        if key.startswith("aws:ResourceTag/"):
            alias = f"{prefix}:ResourceTag/{key.split('/', 1)[1]}"
            try:
                sar.check_condition_keys(action, resource_type, [alias])
            except sar.TableError:
                continue
            out[alias] = value
    return out


class Evaluation:
    def __init__(self, calls: list[Recorded], identities: Identities, world: World):
        self.calls = sorted(calls, key=lambda c: c.seq)
        self.identities = identities
        self.world = world
        self.report = Report(recorded=len(calls))

    def run(self) -> Report:
        for call in self.calls:
            self.evaluate_call(call)
        self.evaluate_task_starts()
        return self.report

    def evaluate_call(self, call: Recorded) -> None:
        identity = self.identities(call.key_id)
        if identity.kind == "unknown":
            self.report.unattributed.append(call.key_id)
            return
        try:
            request = parse(call)
            self.report.operations[str(request)] += 1
            checks = operations.builder_for(request)(request, self.world)
            if not checks and (request.service, request.operation) not in operations.NO_PERMISSION:
                raise LookupError(f"the table built no authorization for {request}: it would pass unevaluated")
        except (operations.UnknownOperation, sar.TableError, LookupError, KeyError) as error:
            self.report.harness_errors.append(f"call {call.seq} ({call.signing_name} {call.method} {call.path}): {error!r}")
            return
        self.report.evaluated_calls += 1
        counts = self.report.per_identity[self.name(identity)]
        counts["calls"] += 1
        refused = request.error_code in REFUSALS or (request.status == 403 and not request.call.response)
        call_allowed = True
        for check in checks:
            allowed = self.evaluate(request, identity, check)
            call_allowed = call_allowed and allowed
        if refused and call_allowed:
            self.report.allowed_but_refused_on_emulator.append(f"{self.name(identity)}: {request} ({request.error_code})")

    def name(self, identity: Identity) -> str:
        return identity.name + (" (with the run's session policy)" if identity.session_policy else "")

    def evaluate(self, request: Request | None, identity: Identity, check: Check) -> bool:
        who = check.identity or identity
        try:
            resource_type = sar.resource_type_of(check.action, check.resource)
            sar.check_condition_keys(check.action, resource_type, check.context)
            for document in who.policies + [d for d in (who.boundary, who.session_policy, check.resource_policy) if d]:
                supported(document)
        except sar.TableError as error:
            self.report.harness_errors.append(f"{request or 'task start'}: {error}")
            return True
        context = {
            **base_context(request.call if request else None, who, self.world.region),
            **with_service_aliases(check.action, resource_type, check.context),
        }
        if check.because:
            self.report.implicit_checks += 1
        else:
            self.report.own_checks += 1
        counts = self.report.per_identity[self.name(who)]
        counts["checks"] += 1
        decision = decide(who, check, context)
        if decision.allowed:
            return True
        row = Row(self.name(who), check.action, check.resource, tuple(decision.missing), str(request or "task start"), check.because, check.context)
        if request is not None and (request.error_code in REFUSALS or (request.status == 403 and not request.call.response)) and not check.because:
            self.report.refused_on_emulator.append(row)
            return False
        for tolerated, why in TOLERATED:
            if request is not None and tolerated(request, check):
                self.report.tolerated.append((row, why))
                return False
        counts["denied"] += 1
        self.report.denied.append(row)
        self.report.denied_calls.add(request.call.seq if request else f"task start as {who.name}")
        return False

    def evaluate_task_starts(self) -> None:
        """The emulator runs no task: each task definition the runs registered is started here, as
        the ECS agent would, with its execution role."""
        for call in self.calls:
            if call.signing_name != "ecs" or not call.headers.get("x-amz-target", "").endswith(".RegisterTaskDefinition"):
                continue
            request = parse(call)
            role = request.params.get("executionRoleArn")
            if request.status >= 300 or not role:
                continue
            try:
                execution = self.identities.role_session(f"task-start-{call.seq}", role, session_name="ecs-task")
            except LookupError as error:
                self.report.harness_errors.append(f"task start of {request.params['family']}: {error}")
                continue
            self.report.per_identity[self.name(execution)]["calls"] += 1
            for check in operations.task_start(request, self.world):
                check.identity = execution
                self.evaluate(None, execution, check)
