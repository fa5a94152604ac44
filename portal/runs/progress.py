"""How far a run has got, read from its log: terraform says each resource it finishes on a line of
its own, and the plan's summary says how many there are to do."""

import re
from dataclasses import asdict, dataclass

from portal.runs.models import APPLIED_STATUSES, Run, RunStatus

# `module.service.aws_ecs_service.this[0]: Creation complete after 2s [id=...]`; a replacement says
# both its creation and its destruction, as the plan's summary counts it as one add and one destroy.
DONE = re.compile(r"^\S+: (?:Creation|Modifications|Destruction) complete after ", re.MULTILINE)
# `aws_vpc.this: Refreshing state... [id=vpc-...]`: the plan reads what is already there.
READ = re.compile(r"^\S+: (?:Refreshing state|Reading)\.\.\.", re.MULTILINE)
APPLY_STARTS = "$ terraform apply"


@dataclass(frozen=True)
class Progress:
    phase: str  # planning, applying, done or "" (nothing to tell)
    done: int
    total: int | None  # None while planning: terraform knows the count only at the end
    text: str

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(100, round(100 * self.done / self.total))

    def as_dict(self) -> dict:
        return asdict(self) | {"percent": self.percent}


def progress_of(run: Run) -> Progress:
    """The log is read only while terraform runs: a page that follows a change loads no finished log."""
    if run.status == RunStatus.PLANNING:
        read = len(READ.findall(run.log))
        return Progress("planning", read, None, f"Planning: {read} resource{'s' if read != 1 else ''} read so far")
    total = (run.to_add or 0) + (run.to_change or 0) + (run.to_destroy or 0)
    if run.status == RunStatus.APPLYING:
        log = run.log
        start = log.rfind(APPLY_STARTS)
        done = len(DONE.findall(log, start)) if start >= 0 else 0
        return Progress("applying", min(done, total), total, f"Applying: {min(done, total)} of {total} resources done")
    if run.status in APPLIED_STATUSES:
        return Progress("done", total, total, f"Applied: {total} of {total} resources done")
    return Progress("", 0, None, "")
