"""The API's JSON renderer writes byte for byte what DRF's own would."""

import datetime
import decimal
import uuid

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer as DRFJSONRenderer

from portal.api.renderers import JSONRenderer

SAMPLES = [
    {"when": datetime.datetime(2026, 11, 25, 23, 1, 2, 345678, tzinfo=datetime.timezone.utc), "on": datetime.date(2026, 1, 2)},
    {"at": datetime.datetime(2026, 11, 25, 23, 1, 2, tzinfo=datetime.timezone.utc), "time": datetime.time(4, 5, 6)},
    {"id": uuid.UUID(int=12345), "price": decimal.Decimal("1.50"), "label": gettext_lazy("Pending")},
    {"text": "line\u2028separator\u2029and é ünïcode <b>&amp;</b>", "nested": [{"a": None, "b": True, "c": 1.5}]},
    {1: "a key that is not a string", "big": 2**70},
    [],
    "plain",
]


@pytest.mark.parametrize("data", SAMPLES)
def test_the_same_bytes_as_drfs_renderer(data):
    assert JSONRenderer().render(data) == DRFJSONRenderer().render(data)


def test_pretty_printing_is_drfs():
    data = {"a": [1, 2]}
    assert JSONRenderer().render(data, "application/json; indent=2") == DRFJSONRenderer().render(data, "application/json; indent=2")
    assert b"\n" in JSONRenderer().render(data, "application/json; indent=2")


def test_nothing_renders_as_nothing():
    assert JSONRenderer().render(None) == b""


@pytest.mark.parametrize("microsecond", [0, 1, 120000, 999999])
def test_timestamps_written_by_the_database_read_as_drf_writes_them(db, make_user, microsecond):
    from rest_framework.fields import DateTimeField

    from portal.api.representation import IsoUtc

    user = make_user("someone")
    moment = datetime.datetime(2026, 2, 3, 4, 5, 6, microsecond, tzinfo=datetime.timezone.utc)
    type(user).objects.filter(pk=user.pk).update(date_joined=moment)
    written = type(user).objects.filter(pk=user.pk).values_list(IsoUtc("date_joined"), flat=True).get()
    assert written == DateTimeField().to_representation(moment)
