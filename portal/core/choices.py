"""Choices that carry, each in one place, their label, their colour on the pages and the groups code
asks about, as NetBox's ChoiceSet does (utilities/choices.py: CHOICES with colours, and the groups
such as JobStatusChoices.TERMINAL_STATE_CHOICES).

    class RunStatus(ColouredChoices):
        APPLIED = "applied", Colour.GREEN, {Group.DONE, Group.APPLIED}, "Applied"

A member is still the plain string it was (`RunStatus.APPLIED == "applied"`), its choices are still
(value, label): the database and the migrations see no difference. A page shows a value with the
colour's CSS class (`colour-green`, base.html), which is all the styling a status has.
"""

from django.db import models


class Colour:
    """The colours a status can be shown in; base.html has one rule for each (`.colour-<name>`)."""

    GREEN = "green"  # reached what was asked
    YELLOW = "yellow"  # waits for, or asks for, a person
    ORANGE = "orange"  # ended without doing what was asked; nothing broke
    RED = "red"  # broke
    GREY = "grey"  # under way, or at rest
    MUTED = "muted"  # gone, kept for the record

    ALL = (GREEN, YELLOW, ORANGE, RED, GREY, MUTED)


class ColouredChoices(models.TextChoices):
    """TextChoices whose members are written `value, colour, groups, label` (groups may be left out)."""

    def __new__(cls, value, colour=Colour.GREY, groups=()):
        member = str.__new__(cls, value)
        member._value_ = value
        member.colour = colour
        member.groups = frozenset(groups)
        return member

    @classmethod
    def in_group(cls, group) -> list:
        """The members in `group`, in the order they are declared."""
        return [member for member in cls if group in member.groups]

    @classmethod
    def colour_of(cls, value) -> str:
        """The colour of a value read from the database (a plain string); grey for one not declared."""
        try:
            return cls(value).colour
        except ValueError:
            return Colour.GREY
