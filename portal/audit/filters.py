"""The filters the audit page, its export and the API share: action, actor, team, object, date range.
Bad input is a bad request (400) that says what is expected, never a 500."""

import re
from datetime import UTC, datetime, time, timedelta

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from portal.audit.models import Action, AuditEvent
from portal.core.forms import NoSilentTruncation
from portal.core.params import InvalidParameter

DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
PARAMETERS = ("action", "actor", "team", "object_type", "object_id", "since", "until")


def moment(text: str, *, end_of_day: bool) -> datetime:
    """An ISO 8601 date (a whole day) or date and time; without a zone, UTC."""
    try:
        if DAY.fullmatch(text):  # before parse_datetime, which reads a bare date as its midnight
            day = parse_date(text)
            when = datetime.combine(day + timedelta(days=1) if end_of_day else day, time.min)
        else:
            when = parse_datetime(text)
            if when is None:
                raise ValueError
    except (ValueError, OverflowError):
        raise forms.ValidationError("give a date (2026-11-25) or a date and time (2026-11-25T10:00:00Z).") from None
    return when if timezone.is_aware(when) else timezone.make_aware(when, UTC)


class AuditFilterForm(NoSilentTruncation, forms.Form):
    action = forms.ChoiceField(choices=[("", "any action"), *Action.choices], required=False)
    actor = forms.CharField(max_length=150, required=False, help_text="A username, exactly.")
    team = forms.CharField(max_length=63, required=False, help_text="A team's name, exactly: what its services went through.")
    object_type = forms.CharField(label="Object type", max_length=100, required=False, help_text="e.g. catalog.service")
    object_id = forms.CharField(label="Object id", max_length=64, required=False)
    since = forms.CharField(max_length=40, required=False, help_text="From this date or time on.")
    until = forms.CharField(max_length=40, required=False, help_text="Up to and including this date, or before this time.")

    def clean_since(self):
        text = self.cleaned_data["since"]
        return moment(text, end_of_day=False) if text else None

    def clean_until(self):
        text = self.cleaned_data["until"]
        # A date is the whole day (before the next midnight); a date and time is exclusive.
        return moment(text, end_of_day=True) if text else None

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise forms.ValidationError({"until": "must be later than since."})
        return data


def filtered(params) -> tuple[AuditFilterForm, "models.QuerySet[AuditEvent]"]:  # noqa: F821
    """The events the query parameters select, newest first; InvalidParameter (400) when one is bad."""
    form = AuditFilterForm({name: params.get(name, "") for name in PARAMETERS})
    if not form.is_valid():
        name, errors = next(iter(form.errors.items()))
        raise InvalidParameter(name if name != "__all__" else "filters", " ".join(errors))
    data = form.cleaned_data
    events = AuditEvent.objects.newest_first()
    for field in ("action", "team", "object_type", "object_id"):
        if data[field]:
            events = events.filter(**{field: data[field]})
    if data["actor"]:
        events = events.filter(actor_username=data["actor"])
    if data["since"]:
        events = events.filter(time__gte=data["since"])
    if data["until"]:
        events = events.filter(time__lt=data["until"])
    return form, events
