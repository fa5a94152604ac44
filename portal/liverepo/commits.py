"""Every applied change becomes one commit of the live repository (portal.liverepo.repository).

The receiver of `change_settled` only queues a job once the change's transaction has committed: git
never runs inside the database transaction, and nothing here can fail the change (a failure to queue
is logged; a failure to commit or push is recorded on the ChangeCommit row). The job runs on the
terraform queue: the workers are already there, the job takes a fraction of a second, and a push
that hangs is cut off by git's own timeout (GIT_TIMEOUT) rather than holding the applying worker.
"""

import logging

import django_rq
from django.conf import settings
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from portal.changes.workflow import change_settled
from portal.liverepo.models import ChangeCommit
from portal.liverepo.repository import SESSION_NAME, Author, Folder, GitError, LiveRepository, redact, workspace_files
from portal.runs.models import DONE_STATUSES, Change, Run
from portal.workspaces.identities import RunIdentity, identity_for

logger = logging.getLogger(__name__)

COMMIT_CHANGE = "portal.liverepo.commits.commit_change"


@receiver(change_settled, dispatch_uid="live-repository-follows-applied-changes")
def follow_settled_change(sender, change: Change, outcome: str, **kwargs) -> None:
    if outcome != Change.Outcome.APPLIED:
        return
    change_id = str(change.pk)
    # robust: an unreachable Redis is logged; the change has applied whatever happens here.
    transaction.on_commit(lambda: enqueue(change_id), robust=True)


def enqueue(change_id: str) -> None:
    django_rq.get_queue(settings.RQ_QUEUE).enqueue(COMMIT_CHANGE, change_id, job_id=f"live-repository-{change_id}")


def commit_change(change_id: str) -> ChangeCommit:
    """The job: commit the change (once), then push whatever the remote lacks."""
    change = Change.objects.select_related("requested_by").get(pk=change_id)
    record, _ = ChangeCommit.objects.get_or_create(change=change)
    repository = LiveRepository()
    with repository.lock():
        if not record.sha:
            try:
                record.sha = repository.commit(folders_of(change), message_of(change), author_of(change.requested_by))
                record.error = ""
                record.committed_at = timezone.now()
            except Exception as error:  # noqa: BLE001  (recorded and shown; the change stays applied)
                record.error = f"The commit failed: {redact(str(error))}"
                logger.warning("Live repository: change %s was not committed: %s", change.pk, record.error)
            record.save()
        if record.sha and repository.remote:
            push_pending(repository)
    record.refresh_from_db()
    return record


def push_pending(repository: LiveRepository) -> None:
    """Push the branch; every commit not pushed yet goes with it, so a failed push is retried by
    the next job."""
    unpushed = ChangeCommit.objects.filter(pushed=False).exclude(sha="")
    try:
        repository.push()
    except (GitError, OSError) as error:
        message = f"The push failed (tried again with the next commit): {redact(str(error))}"
        logger.warning("Live repository: %s", message)
        unpushed.update(error=message)
    else:
        unpushed.update(pushed=True, error="")


def folders_of(change: Change) -> list[Folder]:
    """The change's workspaces as folders: written with the inputs applied, removed by a destroy."""
    folders = []
    for run in change.runs_in_order():
        if run.status not in DONE_STATUSES:
            continue
        workspace = run.workspace
        if run.kind == Run.Kind.DESTROY:  # a decommission's grant run applies: its folder stays
            folders.append(Folder(workspace.path, workspace.module, None))
            continue
        variables = run.variables or workspace.variables
        folders.append(Folder(workspace.path, workspace.module, workspace_files(workspace, variables, identity_of(run))))
    return folders


def identity_of(run: Run) -> RunIdentity | None:
    """The roles the run acted with, under a session name of the repository's own (a run's session
    name names the run); None when it acted with the portal's own credentials (the bootstrap)."""
    if not run.role_arn:
        return None
    identity = identity_for(run.workspace, SESSION_NAME)
    return identity if isinstance(identity, RunIdentity) else None


def author_of(user) -> Author:
    if user is None:
        return Author("Infra portal", "portal@portal.invalid")
    return Author(user.get_username(), user.email or f"{user.get_username()}@users.portal.invalid")


def message_of(change: Change) -> str:
    title = " ".join(change.title.split()) or f"Change {change.pk}"
    approvers = {run.approved_by for run in change.runs.select_related("approved_by") if run.approved_by is not None}
    trailers = [f"Approved-by: {a.name} <{a.email}>" for a in sorted(map(author_of, approvers), key=lambda a: a.name)]
    trailers.append(f"Portal-Change: {change.pk}")
    return f"{title}\n\n" + "\n".join(trailers) + "\n"
