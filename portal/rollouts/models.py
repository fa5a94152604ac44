from django.conf import settings
from django.db import models

from portal.core.choices import Colour, ColouredChoices


class Rollout(models.Model):
    """One version of one module brought to every workspace behind it, wave by wave; each wave a
    change approved and applied like any other (portal.rollouts.rollout)."""

    class Status(ColouredChoices):
        RUNNING = "running", Colour.GREY, "Running"
        HALTED = "halted", Colour.ORANGE, "Halted"
        DONE = "done", Colour.GREEN, "Done"
        SUPERSEDED = "superseded", Colour.MUTED, "Superseded"  # halted, then a newer version was rolled out

    module = models.CharField(max_length=64, help_text="The folder in infra_modules/ rolled out.")
    sha256 = models.CharField(max_length=64, help_text="The module's version rolled out (portal.workspaces.modules).")
    changelog = models.CharField(max_length=300, blank=True, default="", help_text="The module's changelog line for that version, if it has one.")
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="rollouts_proposed")
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    halted_because = models.TextField(blank=True, default="", help_text="Why the rollout halted, and what to do next.")
    left_out = models.JSONField(default=list, help_text="Workspaces behind that the proposal left out, with why.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["module"], condition=models.Q(status="running"), name="one_running_rollout_per_module"),
        ]

    def __str__(self) -> str:
        return f"{self.module} {self.sha256[:12]}"

    @property
    def status_colour(self) -> str:
        return self.Status.colour_of(self.status)


class Wave(models.Model):
    """A group of the rollout's workspaces planned as one change. A wave is approved once every wave
    before it applied healthy; `replaced` marks one planned again in a later wave (resumed, or its
    plans read outputs that an earlier wave changed)."""

    rollout = models.ForeignKey(Rollout, on_delete=models.CASCADE, related_name="waves")
    number = models.PositiveSmallIntegerField()
    change = models.OneToOneField("runs.Change", on_delete=models.CASCADE, related_name="wave")
    reason = models.CharField(max_length=300, blank=True, default="", help_text="Why the wave is there beyond being behind: dependents of changed outputs.")
    replaced = models.BooleanField(default=False)

    class Meta:
        ordering = ["rollout", "number"]
        constraints = [models.UniqueConstraint(fields=["rollout", "number"], name="one_wave_per_number")]


class ChangedOutputs(models.Model):
    """The outputs a rollout's plan of a platform workspace changes: once it is applied, the
    workspaces that read them are planned again."""

    run = models.OneToOneField("runs.Run", on_delete=models.CASCADE, related_name="changed_outputs")
    names = models.JSONField(default=list)
