"""Services as the API lists them, read with `values()` and written as plain dicts: the same JSON as
ServiceSerializer, which stays the documented shape in the schema and the reference a test compares
this with (tests/integration/api/test_api_listing.py, on services in every state).

Why not the serializer: a page of 200 services is some 16,000 fields and 2,000 model instances.
DRF resolves each field through `get_attribute`, `inspect.signature` and a field object, and Django
builds every related row (users with their password hashes and dates included) as a model; together
they cost ten times the queries. Here four queries, whatever the page size, return only the columns
shown, and what a row shows that the model decides (who a run acted as, a state key, a revision's
diff) is still decided by the model's own code (the row classes below borrow it)."""

from collections import defaultdict
from types import SimpleNamespace
from uuid import UUID

from django.conf import settings
from django.db.models import CharField, F, Func, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone

from portal.api.serializers import diff_as_json
from portal.catalog.models import DECLARATION_FIELDS, ServiceRevision
from portal.runs.models import Change, Run, RunStatus
from portal.workspaces.models import Workspace

SERVICE_COLUMNS = (
    "pk",
    "name",
    "team__name",
    "status",
    "applied_url",
    "created_by__username",
    "applied_revision__number",
    *(f"applied_revision__{field}" for field in DECLARATION_FIELDS),
)
REVISION_COLUMNS = ("number", *DECLARATION_FIELDS, "based_on_id", "proposed_by__username")
RUN_COLUMNS = (
    "pk",
    "workspace_id",
    "change_id",
    "kind",
    "status",
    "to_add",
    "to_change",
    "to_destroy",
    "error",
    "worker_name",
    "worker_host",
    "worker_pid",
    "identity_type",
    "role_arn",
    "session_name",
    "requested_by__username",
    "approved_by__username",
    "cancelled_by__username",
)
STATUS_DISPLAY = dict(RunStatus.choices)
SERVICE_TIMES = ("created_at", "updated_at", "decommissioned_at", "ends_at")
RUN_TIMES = ("created_at", "started_at", "planned_at", "approved_at", "finished_at", "heartbeat_at", "cancel_requested_at")


class IsoUtc(Func):
    """A timestamp written by PostgreSQL as DRF's DateTimeField writes it in UTC: ISO 8601, the
    microseconds only when there are any, `Z` (a page holds some 2,000; parsing each into a datetime
    and formatting it again was a fifth of the page's time)."""

    template = (
        "to_char(%(expressions)s AT TIME ZONE 'UTC', CASE WHEN date_trunc('second', %(expressions)s) = %(expressions)s "
        'THEN \'YYYY-MM-DD"T"HH24:MI:SS"Z"\' ELSE \'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\' END)'
    )
    output_field = CharField()


def times(names, prefix: str = "") -> dict:
    """`<name>_text` columns of the timestamps `names`: written by PostgreSQL when the portal's time
    zone is UTC (as it ships), else the timestamps themselves, written by Writer.when."""
    if settings.TIME_ZONE == "UTC":
        return {f"{name}_text": IsoUtc(f"{prefix}{name}") for name in names}
    return {f"{name}_text": F(f"{prefix}{name}") for name in names}


class RunRow(SimpleNamespace):
    Kind = Run.Kind
    acted_as = Run.acted_as


class RevisionRow(SimpleNamespace):
    declaration = ServiceRevision.declaration
    diff = ServiceRevision.diff


class WorkspaceRow(SimpleNamespace):
    state_key = Workspace.state_key


def service_rows(services):
    """The services' own columns (a query to paginate): what services_json() takes."""
    return services.with_runs().prefetch_related(None).values(*SERVICE_COLUMNS, **times(SERVICE_TIMES))


def services_json(rows) -> list[dict]:
    """ServiceSerializer(many=True).data for rows from service_rows(), in their order."""
    rows = list(rows)
    ids = [row["pk"] for row in rows]
    proposed = proposed_revisions(ids)
    workspaces = workspaces_with_latest_runs(ids)
    writer = Writer()
    return [writer.service(row, proposed.get(row["pk"]), workspaces[row["pk"]]) for row in rows]


def proposed_revisions(service_ids) -> dict[int, RevisionRow]:
    """Each service's proposed revision: that of its newest pending change that proposes one, as
    Service.objects.with_declarations() finds it."""
    columns = ("service_id", *(f"revision__{c}" for c in REVISION_COLUMNS), *(f"revision__based_on__{f}" for f in DECLARATION_FIELDS))
    changes = (
        Change.objects.proposing()
        .filter(service_id__in=service_ids)
        .order_by("service_id", "-created_at")
        .distinct("service_id")
        .values(*columns, **times(["proposed_at"], prefix="revision__"))
    )
    found = {}
    for change in changes:
        revision = RevisionRow(**{c: change[f"revision__{c}"] for c in REVISION_COLUMNS}, proposed_at_text=change["proposed_at_text"])
        if revision.based_on_id is not None:
            revision.based_on = RevisionRow(**{f: change[f"revision__based_on__{f}"] for f in DECLARATION_FIELDS})
        found[change["service_id"]] = revision
    return found


def workspaces_with_latest_runs(service_ids) -> dict[int, list[tuple[WorkspaceRow, RunRow | None]]]:
    """Each service's workspaces in their order, with each one's latest run: one step down the
    (workspace, -created_at) index per workspace, then the runs by primary key (cheaper, once
    workspaces have a history, than sorting all their runs)."""
    newest = Run.objects.latest_of(OuterRef("pk"))
    workspaces = list(
        Workspace.objects.filter(service_id__in=service_ids)
        .annotate(latest_run_id=Subquery(newest))
        .values("pk", "service_id", "path", "module", "latest_run_id")
    )
    run_ids = [workspace["latest_run_id"] for workspace in workspaces if workspace["latest_run_id"]]
    latest = {run["pk"]: RunRow(**run) for run in Run.objects.filter(pk__in=run_ids).order_by().values(*RUN_COLUMNS, **times(RUN_TIMES))}
    found = defaultdict(list)
    for workspace in workspaces:
        run = latest.get(workspace.pop("latest_run_id"))
        found[workspace["service_id"]].append((WorkspaceRow(**workspace), run))
    return found


class Writer:
    """Values as DRF's fields write them, with what is the same for every row computed once."""

    def __init__(self):
        self.timezone = timezone.get_current_timezone()
        # The run's log URL differs by its id only: one reverse() rather than one per run.
        placeholder = UUID(int=0)
        self.log_url = reverse("api:run-log", kwargs={"pk": placeholder}).replace(str(placeholder), "{}") + "?offset=0"

    def when(self, value) -> str | None:
        """DateTimeField: ISO 8601 in the current time zone, UTC as `Z` (written already by the
        database when that zone is UTC, see times())."""
        if not value or isinstance(value, str):
            return value or None
        text = value.astimezone(self.timezone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    def service(self, row: dict, proposed: RevisionRow | None, workspaces: list) -> dict:
        applied = row["applied_revision__number"] is not None
        declared = {field: row[f"applied_revision__{field}"] if applied else None for field in DECLARATION_FIELDS}
        return {
            "name": row["name"],
            "team": row["team__name"],
            "status": row["status"],
            **declared,
            "secrets": secrets(declared["secrets"]),
            "applied_revision": row["applied_revision__number"],
            "proposed": self.revision(proposed),
            "url": None if row["applied_url"] is None else str(row["applied_url"]),
            "created_by": row["created_by__username"],
            "created_at": self.when(row["created_at_text"]),
            "updated_at": self.when(row["updated_at_text"]),
            "decommissioned_at": self.when(row["decommissioned_at_text"]),
            "ends_at": self.when(row["ends_at_text"]),
            "workspaces": [self.workspace(workspace, run) for workspace, run in workspaces],
        }

    def revision(self, revision: RevisionRow | None) -> dict | None:
        """RevisionSerializer."""
        if revision is None:
            return None
        return {
            "number": revision.number,
            **{field: getattr(revision, field) for field in DECLARATION_FIELDS},
            "secrets": secrets(revision.secrets),
            "proposed_by": revision.proposed_by__username,
            "proposed_at": self.when(revision.proposed_at_text),
            "diff": diff_as_json(revision),
        }

    def workspace(self, workspace: WorkspaceRow, run: RunRow | None) -> dict:
        """WorkspaceSerializer."""
        return {
            "path": workspace.path,
            "module": workspace.module,
            "state_key": workspace.state_key,
            "latest_run": None if run is None else self.run(run, workspace),
        }

    def run(self, run: RunRow, workspace: WorkspaceRow) -> dict:
        """RunSummarySerializer."""
        when = self.when
        acted_as = run.acted_as
        return {
            "id": str(run.pk),
            "kind": run.kind,
            "status": run.status,
            "status_display": STATUS_DISPLAY.get(run.status, run.status),
            "workspace": workspace.path,
            "state_key": workspace.state_key,
            "change_id": None if run.change_id is None else str(run.change_id),
            "plan": None if run.to_add is None else {"add": run.to_add, "change": run.to_change, "destroy": run.to_destroy},
            "error": run.error,
            "requested_by": run.requested_by__username,
            "approved_by": run.approved_by__username,
            "created_at": when(run.created_at_text),
            "started_at": when(run.started_at_text),
            "planned_at": when(run.planned_at_text),
            "approved_at": when(run.approved_at_text),
            "finished_at": when(run.finished_at_text),
            "cancel_requested_at": when(run.cancel_requested_at_text),
            "cancelled_by": run.cancelled_by__username,
            "worker": None
            if not run.worker_host
            else {"name": run.worker_name, "host": run.worker_host, "pid": run.worker_pid, "heartbeat_at": when(run.heartbeat_at_text)},
            "identity": None
            if not acted_as
            else {
                "type": run.identity_type or None,
                "role_arn": run.role_arn or None,
                "session_name": run.session_name or None,
                "description": acted_as,
            },
            "log_url": self.log_url.format(run.pk),
        }


def secrets(value) -> dict | None:
    """DictField(child=CharField())."""
    return None if value is None else {str(name): None if arn is None else str(arn) for name, arn in value.items()}
