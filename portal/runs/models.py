import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.db import models, transaction
from django.db.models import Exists, F, Lookup, OuterRef, Q, Subquery, Value
from django.db.models.functions import Concat
from django.dispatch import Signal
from django.utils import timezone

from portal.core.choices import Colour, ColouredChoices

# Sent once a run's move to a new status is committed: kwargs `run` and `status` (the status it
# moved to). For apps that follow runs (notifications); the workflow itself never listens.
run_moved = Signal()


class RunGroup:
    """The groups of run statuses code asks about; each status says which it is in (RunStatus)."""

    # Under way: one per workspace at a time (the database's constraint below).
    ACTIVE = "active"
    # A worker is running terraform for these: they have a heartbeat.
    RUNNING = "running"
    # Waiting for a worker to take their job.
    WAITING = "waiting"
    CANCELLABLE = "cancellable"
    # A run that ended like this stops its whole change: the change cannot be applied as approved.
    BREAKING = "breaking"
    # The plan reached AWS: the state is the declaration's, healthy or not. A change whose runs all
    # ended so has applied (its revision is the applied declaration), and the next apply may go ahead.
    APPLIED = "applied"
    # Settled: AWS matches the run's inputs (applied, or planned with no changes, which says it matched).
    DONE = "done"


class RunStatus(ColouredChoices):
    """Each status once: its colour on the pages, its groups, its label. A new status is one line here."""

    QUEUED = "queued", Colour.GREY, {RunGroup.ACTIVE, RunGroup.WAITING, RunGroup.CANCELLABLE}, "Queued for plan"
    PLANNING = "planning", Colour.GREY, {RunGroup.ACTIVE, RunGroup.RUNNING, RunGroup.CANCELLABLE}, "Planning"
    AWAITING_APPROVAL = "awaiting_approval", Colour.YELLOW, {RunGroup.ACTIVE}, "Awaiting approval"
    APPROVED = "approved", Colour.GREY, {RunGroup.ACTIVE, RunGroup.WAITING, RunGroup.CANCELLABLE}, "Approved, queued for apply"
    APPLYING = "applying", Colour.GREY, {RunGroup.ACTIVE, RunGroup.RUNNING, RunGroup.CANCELLABLE}, "Applying"
    APPLIED = "applied", Colour.GREEN, {RunGroup.APPLIED, RunGroup.DONE}, "Applied"
    # Applied, but the service did not report a healthy deployment in time (portal.runner.deploy_health):
    # yellow, as it asks a person to look.
    APPLIED_UNHEALTHY = "applied_unhealthy", Colour.YELLOW, {RunGroup.APPLIED, RunGroup.DONE}, "Applied, unhealthy"
    NO_CHANGES = "no_changes", Colour.GREEN, {RunGroup.DONE}, "No changes"
    FAILED = "failed", Colour.RED, {RunGroup.BREAKING}, "Failed"
    DISCARDED = "discarded", Colour.ORANGE, {RunGroup.BREAKING}, "Discarded"
    STALE = "stale", Colour.RED, {RunGroup.BREAKING}, "Stale (superseded)"
    ABANDONED = "abandoned", Colour.ORANGE, (), "Abandoned (its change cannot go on)"
    CANCELLED = "cancelled", Colour.ORANGE, {RunGroup.BREAKING}, "Cancelled"


# The groups as lists, for `status__in` and `in`: read from the statuses above, never written twice.
ACTIVE_STATUSES = RunStatus.in_group(RunGroup.ACTIVE)
FINISHED_STATUSES = [s for s in RunStatus if s not in ACTIVE_STATUSES]
BREAKING_STATUSES = RunStatus.in_group(RunGroup.BREAKING)
RUNNING_STATUSES = RunStatus.in_group(RunGroup.RUNNING)
WAITING_STATUSES = RunStatus.in_group(RunGroup.WAITING)
CANCELLABLE_STATUSES = RunStatus.in_group(RunGroup.CANCELLABLE)
APPLIED_STATUSES = RunStatus.in_group(RunGroup.APPLIED)
DONE_STATUSES = RunStatus.in_group(RunGroup.DONE)
# What the runs of a change that can be approved now are in: ready for approval, or nothing to do.
APPROVABLE_STATUSES = [RunStatus.AWAITING_APPROVAL, RunStatus.NO_CHANGES]

# Newest finished first; a run that never finished (none that is done) last.
LAST_FINISHED_FIRST = F("finished_at").desc(nulls_last=True)


def in_apply_order(runs, destroys: bool = False) -> list["Run"]:
    """Runs (of one change) in the order they apply: their workspaces' order (Workspace.apply_key),
    reversed when the change destroys. The one home of the apply order for runs."""
    return sorted(runs, key=lambda run: run.workspace.apply_key, reverse=destroys)


class IsAnyOf(Lookup):
    """`lhs = ANY(rhs)`, rhs an array (ArraySubquery): PostgreSQL computes the array once, then
    looks its elements up by index. Used as an expression, never registered as `__is_any_of`."""

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", (*lhs_params, *rhs_params)


class RunQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=ACTIVE_STATUSES)

    def awaiting_approval(self):
        return self.filter(status=RunStatus.AWAITING_APPROVAL)

    def running(self):
        return self.filter(status__in=RUNNING_STATUSES)

    def waiting(self):
        return self.filter(status__in=WAITING_STATUSES)

    def done(self):
        """Runs that settled their workspace: applied, or planned with no changes."""
        return self.filter(status__in=DONE_STATUSES)

    def applied(self):
        """Runs whose plan reached AWS, healthy or not."""
        return self.filter(status__in=APPLIED_STATUSES)

    def newest_first(self):
        return self.order_by("-created_at")

    def last_finished_first(self):
        return self.order_by(LAST_FINISHED_FIRST)

    def settled(self):
        """Done runs that carry inputs: those AWS was brought to (a bootstrap's runs carry none)."""
        return self.done().exclude(variables={})

    def last_applied(self, workspace=None) -> "Run | None":
        """The run AWS was last brought to in `workspace` (or in the one workspace these runs are of:
        `workspace.runs.last_applied()`), whose inputs AWS matches; None before its first apply, or
        when its last apply destroyed it."""
        runs = self if workspace is None else self.filter(workspace=workspace)
        last = runs.settled().last_finished_first().defer("log", "plan_changes").first()
        return None if last is None or last.kind == Run.Kind.DESTROY else last

    def last_settled_per_workspace(self, workspaces=None):
        """The last settled run (a destroy included) of each of `workspaces` (a Workspace queryset;
        every workspace when None), among these runs: one step down the settled runs' index
        (run_settled_idx) per workspace, however long the workspaces' histories grow. Narrow the
        workspaces rather than the runs: the workspaces are what is walked."""
        last = self.settled().filter(workspace=OuterRef("pk")).order_by(LAST_FINISHED_FIRST).values("pk")[:1]
        # The workspaces' model through the foreign key: the workspaces app sits above this one.
        walked = self.model._meta.get_field("workspace").related_model.objects.all() if workspaces is None else workspaces
        # In no order: the workspaces' own (apply order, path) sorted them all for nothing, 1.8 of 5 ms
        # with 2,000 workspaces.
        walked = walked.order_by()
        # `id = ANY(ARRAY(...))`: the ids are gathered first, then read by primary key. With `id IN
        # (...)` PostgreSQL hashed the ids and scanned every run to match them.
        ids = ArraySubquery(walked.annotate(last_settled=Subquery(last)).values("last_settled"))
        return self.filter(IsAnyOf(F("pk"), ids))

    def last_applied_per_workspace(self, workspaces=None):
        """Each workspace's last_applied run, in one query: a workspace never applied, or destroyed
        by its last apply, has none."""
        return self.last_settled_per_workspace(workspaces).exclude(kind=Run.Kind.DESTROY)

    def last_applied_values(self, *fields, workspaces=None) -> list[tuple]:
        """last_applied_per_workspace() as tuples of `fields`."""
        rows = self.last_settled_per_workspace(workspaces).order_by().values_list("kind", *fields)
        return [row[1:] for row in rows if row[0] != Run.Kind.DESTROY]

    def latest_of(self, workspace):
        """The id of the latest run of `workspace` (an OuterRef in a subquery): one step down the
        (workspace, -created_at) index."""
        return self.filter(workspace=workspace).newest_first().values("pk")[:1]

    def latest_per_workspace(self):
        """The latest run of each workspace the runs are of (for a Prefetch)."""
        return self.filter(pk=Subquery(Run.objects.latest_of(OuterRef("workspace"))))


class ChangeQuerySet(models.QuerySet):
    def pending(self):
        """Changes still under way: not every run has ended."""
        return self.filter(outcome="")

    def proposing(self):
        """Pending changes that propose a service revision, newest first."""
        return self.pending().filter(revision__isnull=False).order_by("-created_at")

    def awaiting_approval(self):
        """Changes an approver can act on now: every plan has ended, at least one waits for approval
        and the others found nothing to change. The status part of the workflow's approval rule
        (portal.changes.workflow.approval_refusal), asked of many changes at once."""
        runs = Run.objects.filter(change=OuterRef("pk"))
        return self.pending().filter(Exists(runs.filter(status=RunStatus.AWAITING_APPROVAL))).exclude(Exists(runs.exclude(status__in=APPROVABLE_STATUSES)))


class Change(models.Model):
    """Runs planned together and approved with one click, then applied one after another in
    workspace order (destroyed in reverse order), e.g. the repository before the service.

    Its workflow (propose, approve, advance, discard, settle) lives in portal.changes.workflow.
    """

    class Outcome(ColouredChoices):
        PENDING = "", Colour.GREY, "Pending"
        APPLIED = "applied", Colour.GREEN, "Applied"
        ABANDONED = "abandoned", Colour.ORANGE, "Abandoned"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=200)
    service = models.ForeignKey("catalog.Service", null=True, blank=True, on_delete=models.SET_NULL, related_name="changes")
    revision = models.ForeignKey(
        "catalog.ServiceRevision",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="changes",
        help_text="The declaration this change proposes; null for platform changes and decommissions.",
    )
    destroys = models.BooleanField(default=False)
    platform_approval = models.CharField(
        max_length=300,
        blank=True,
        default="",
        help_text="Why an admin of the platform must approve this change whatever its plans show; empty when nothing asks it.",
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="changes_requested")
    created_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    objects = ChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title

    def runs_in_order(self) -> list["Run"]:
        return in_apply_order(self.runs.select_related("workspace"), self.destroys)

    @property
    def is_pending(self) -> bool:
        return self.outcome == self.Outcome.PENDING

    @property
    def outcome_colour(self) -> str:
        return self.Outcome.colour_of(self.outcome)


class Run(models.Model):
    """A plan of one workspace and, once approved, the apply of exactly that plan.

    The row is the truth; the RQ job only carries the row's id. Status changes go through the
    methods below, each a conditional UPDATE, so two workers or two approvers cannot race.
    """

    class Kind(models.TextChoices):
        APPLY = "apply", "Plan and apply"
        DESTROY = "destroy", "Plan and destroy"
        BOOTSTRAP = "bootstrap", "Bootstrap (local backend, then migrated)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="runs")
    change = models.ForeignKey(Change, null=True, blank=True, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.APPLY)
    status = models.CharField(max_length=24, choices=RunStatus.choices, default=RunStatus.QUEUED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="runs_requested")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runs_approved",
    )
    to_add = models.PositiveIntegerField(null=True, blank=True)
    to_change = models.PositiveIntegerField(null=True, blank=True)
    to_destroy = models.PositiveIntegerField(null=True, blank=True)
    plan_sha256 = models.CharField(max_length=64, blank=True)
    inputs_sha256 = models.CharField(max_length=64, blank=True)
    module_sha256 = models.CharField(
        max_length=64,
        blank=True,
        help_text="The version of its module the plan was made with (portal.workspaces.modules); empty for runs planned before versions were recorded.",
    )
    variables = models.JSONField(default=dict, blank=True, help_text="The inputs this run plans, written to terraform.tfvars.json.")
    plan_changes = models.JSONField(
        null=True,
        blank=True,
        help_text="The plan's resource changes as a reviewer reads them (portal.runner.plan_review); null until planned.",
    )
    outputs = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    log = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    planned_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the run was last put on the queue: a waiting run whose job is lost is queued again.
    queued_at = models.DateTimeField(null=True, blank=True)

    # The worker running the current step, and its heartbeat (portal.runner.attendance).
    worker_name = models.CharField(max_length=255, blank=True)
    worker_host = models.CharField(max_length=255, blank=True)
    worker_pid = models.PositiveIntegerField(null=True, blank=True)
    worker_started = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="When the process worker_pid names started (clock ticks since boot, as terraform_started).",
    )
    terraform_pid = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="The process group of the terraform command running now; on a run that has ended, one whose "
        "state lock may be left behind (the recovery pass releases it once that terraform is known dead).",
    )
    terraform_started = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="When the process terraform_pid names started (clock ticks since boot): its id may be another "
        "process's once it has ended, its start may not. Empty on runs recorded before it was kept.",
    )
    step_started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    lock_id = models.CharField(max_length=64, blank=True, help_text="The Terraform state lock this run's terraform holds, from the lockfile.")

    # Who the run acted as (portal.workspaces.identities): the type's administrator role, which the
    # AWS provider assumed, with the session name CloudTrail shows. Blank: the portal's own
    # credentials, in the one-time bootstrap.
    identity_type = models.CharField(max_length=32, blank=True)
    role_arn = models.CharField(max_length=255, blank=True)
    session_name = models.CharField(max_length=64, blank=True)

    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs_cancelled")

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("approve_run", "Can approve a plan so that it is applied"),
            ("cancel_any_run", "Can cancel any run, whoever requested it"),
        ]
        constraints = [
            # Principle 4: one active run per workspace, enforced by the database.
            models.UniqueConstraint(
                fields=["workspace"],
                condition=Q(status__in=ACTIVE_STATUSES),
                name="one_active_run_per_workspace",
            )
        ]
        # The runs page lists newest first, filtered by status or workspace; the API and the service
        # page read each workspace's latest run.
        indexes = [
            models.Index(fields=["-created_at"], name="run_created_idx"),
            models.Index(fields=["status", "-created_at"], name="run_status_created_idx"),
            models.Index(fields=["workspace", "-created_at"], name="run_workspace_created_idx"),
            # Each workspace's last settled run (RunQuerySet.last_settled_per_workspace): the capacity
            # panel, the module versions and the drift sweep read it for every workspace.
            models.Index(
                F("workspace"),
                LAST_FINISHED_FIRST,
                name="run_settled_idx",
                condition=Q(status__in=DONE_STATUSES) & ~Q(variables={}),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.workspace.path} ({self.status})"

    @property
    def state_key(self) -> str:
        return self.workspace.state_key

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def status_colour(self) -> str:
        return RunStatus.colour_of(self.status)

    @property
    def has_plan_summary(self) -> bool:
        return self.to_add is not None

    @property
    def plan_summary(self) -> dict | None:
        if not self.has_plan_summary:
            return None
        return {"add": self.to_add, "change": self.to_change, "destroy": self.to_destroy}

    # --- state changes -----------------------------------------------------------------------------
    def _move(self, from_statuses, to_status, **fields) -> bool:
        """Change status only if the row is still in one of from_statuses; refresh self on success."""
        updated = Run.objects.filter(pk=self.pk, status__in=from_statuses).update(status=to_status, **fields)
        if updated:
            self.refresh_from_db()
            transaction.on_commit(lambda: run_moved.send(sender=Run, run=self, status=to_status))
        return bool(updated)

    def start_planning(self, **worker) -> bool:
        now = timezone.now()
        return self._move(
            [RunStatus.QUEUED],
            RunStatus.PLANNING,
            started_at=now,
            step_started_at=now,
            heartbeat_at=now,
            lock_id="",
            **worker,
        )

    def record_plan(self, *, to_add, to_change, to_destroy, plan_sha256, inputs_sha256, plan_changes=None, module_sha256="") -> None:
        status = RunStatus.AWAITING_APPROVAL if (to_add or to_change or to_destroy) else RunStatus.NO_CHANGES
        self._move(
            [RunStatus.PLANNING],
            status,
            to_add=to_add,
            to_change=to_change,
            to_destroy=to_destroy,
            plan_sha256=plan_sha256,
            inputs_sha256=inputs_sha256,
            plan_changes=plan_changes,
            module_sha256=module_sha256,
            planned_at=timezone.now(),
            finished_at=timezone.now() if status == RunStatus.NO_CHANGES else None,
        )

    def approve(self, user) -> bool:
        """Only through portal.changes.workflow.approve, which decides who may."""
        return self._move([RunStatus.AWAITING_APPROVAL], RunStatus.APPROVED, approved_by=user, approved_at=timezone.now())

    def discard(self) -> bool:
        return self._move([RunStatus.QUEUED, RunStatus.AWAITING_APPROVAL], RunStatus.DISCARDED, finished_at=timezone.now())

    def mark_stale(self, reason: str) -> bool:
        return self._move(
            [RunStatus.QUEUED, RunStatus.AWAITING_APPROVAL, RunStatus.APPROVED],
            RunStatus.STALE,
            error=reason,
            finished_at=timezone.now(),
        )

    def abandon(self, reason: str) -> bool:
        return self._move(
            [RunStatus.QUEUED, RunStatus.AWAITING_APPROVAL, RunStatus.APPROVED],
            RunStatus.ABANDONED,
            error=reason,
            finished_at=timezone.now(),
        )

    def start_applying(self, **worker) -> bool:
        now = timezone.now()
        return self._move([RunStatus.APPROVED], RunStatus.APPLYING, step_started_at=now, heartbeat_at=now, lock_id="", **worker)

    def finish_unchanged(self) -> None:
        """A run that applies as it goes (the bootstrap's) found nothing to change."""
        self._move([RunStatus.APPLYING], RunStatus.NO_CHANGES, finished_at=timezone.now())

    def finish_applied(self, outputs: dict) -> None:
        self._move([RunStatus.APPLYING], RunStatus.APPLIED, outputs=outputs, finished_at=timezone.now())

    def finish_applied_unhealthy(self, outputs: dict, reason: str) -> None:
        """Applied, but the deploy did not report healthy: `reason` says why and what to do."""
        self._move(
            [RunStatus.APPLYING],
            RunStatus.APPLIED_UNHEALTHY,
            outputs=outputs,
            error=reason,
            finished_at=timezone.now(),
        )

    def fail(self, error: str, from_statuses=ACTIVE_STATUSES, **fields) -> bool:
        from portal.core.masking import mask_secrets

        fields = {"terraform_pid": None, "terraform_started": None, **fields}
        return self._move(from_statuses, RunStatus.FAILED, error=mask_secrets(error), finished_at=timezone.now(), **fields)

    def cancel(self, reason: str, from_statuses=CANCELLABLE_STATUSES, **fields) -> bool:
        fields = {"terraform_pid": None, "terraform_started": None, **fields}
        return self._move(from_statuses, RunStatus.CANCELLED, error=reason, finished_at=timezone.now(), **fields)

    @property
    def acted_as(self) -> str:
        """Who the run acted as, in words; empty before its first step."""
        if self.role_arn:
            return f"the {self.identity_type} administrator"
        if self.kind == self.Kind.BOOTSTRAP:
            return "the portal's own credentials (the one-time bootstrap)"
        return ""

    def request_cancel(self, user) -> bool:
        """Ask the worker running this run to stop it; it interrupts terraform (portal.runner.attendance)."""
        return bool(
            Run.objects.filter(pk=self.pk, status__in=RUNNING_STATUSES, cancel_requested_at=None).update(cancel_requested_at=timezone.now(), cancelled_by=user)
        )

    @property
    def is_running(self) -> bool:
        return self.status in RUNNING_STATUSES

    @property
    def worker_silent(self) -> bool:
        """A running run whose worker has not written its heartbeat for RUN_DEAD_AFTER: dead."""
        cutoff = timezone.now() - timedelta(seconds=settings.RUN_DEAD_AFTER)
        return self.is_running and (self.heartbeat_at is None or self.heartbeat_at < cutoff)

    def log_from(self, offset: int) -> tuple[str, int]:
        """The log from character `offset` on, and the offset to read from next time."""
        text = self.log[offset:]
        return text, min(offset, len(self.log)) + len(text)

    def append_log(self, text: str) -> None:
        """Append in the database (no read-modify-write), so readers see the log grow."""
        Run.objects.filter(pk=self.pk).update(log=Concat(F("log"), Value(text)))


class SavedPlan(models.Model):
    """A run's saved plan, kept in PostgreSQL so that any worker machine can apply it.

    Deleted as soon as its run has ended (portal.runs.plans), like the file it replaced. It holds
    the workspace's inputs in clear, as Run.variables does: the same database, the same readers.
    """

    run = models.OneToOneField(Run, primary_key=True, on_delete=models.CASCADE, related_name="saved_plan")
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)


class LockRelease(models.Model):
    """A Terraform state lock the portal removed: by whom (a person, or the portal when the run that
    held it was found dead), whose lock it was and why."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="lock_releases")
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="lock_releases")
    lock_id = models.CharField(max_length=64)
    holder = models.CharField(max_length=255, blank=True, help_text="`Who` in the lockfile: user@host.")
    operation = models.CharField(max_length=64, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="lock_releases",
        help_text="Empty when the portal released it on its own.",
    )
    reason = models.TextField()
    released_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-released_at"]

    def __str__(self) -> str:
        return f"Lock {self.lock_id} of {self.workspace.path}"
