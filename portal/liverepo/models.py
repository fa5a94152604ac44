from django.db import models


class ChangeCommit(models.Model):
    """The live repository's commit of one applied change (portal.liverepo.commits).

    `sha` is blank while the commit has not been made (`error` says why); `pushed` once the remote
    holds it (always False without a remote). A failed push is tried again by the next commit's job:
    pushing the branch pushes every commit before it."""

    change = models.OneToOneField("runs.Change", on_delete=models.CASCADE, related_name="live_commit")
    sha = models.CharField(max_length=64, blank=True)
    pushed = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-committed_at"]

    def __str__(self) -> str:
        return self.sha[:12] or f"not committed ({self.change_id})"
