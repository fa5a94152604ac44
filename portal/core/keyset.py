"""Pages of a newest-first list found by where they start rather than by how many rows come before
them (keyset pagination): a deep page costs what the first does, where an OFFSET reads its way past
every newer row, and a row added meanwhile does not shift the pages a person is walking through.

A place is a row's time in microseconds since 1970 and its primary key, "1733412345123456.42" (or a
UUID's 32 hex digits after the dot): the rows are listed by (time, primary key) descending, a pair
no two rows share. The pages give places in their Older and Newer links (`older=`, `newer=`)."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError

from portal.core.params import InvalidParameter

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# 17 digits reach the year 5138 at most, so no place overflows a datetime.
PLACE = re.compile(r"([0-9]{1,17})\.([0-9a-f]{1,32})", re.ASCII)


@dataclass
class KeysetPage:
    """A page of rows and where the pages beside it start: `older` and `newer` are the places to give
    back as `older=` and `newer=` ("" where there is no such page)."""

    items: list
    older: str = ""
    newer: str = ""

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


@dataclass(frozen=True)
class Keyset:
    """Newest-first pages of `size` rows ordered by `time_field`, then the primary key. `what` names
    a place in a refusal ("microseconds.run id")."""

    time_field: str
    size: int
    what: str = "microseconds.id"

    def place(self, row) -> str:
        """Where `row` stands: its time in microseconds, then its primary key."""
        key = row.pk.hex if hasattr(row.pk, "hex") else row.pk
        return f"{(getattr(row, self.time_field) - EPOCH) // timedelta(microseconds=1)}.{key}"

    def parse(self, model, name: str, text: str) -> tuple[datetime, object]:
        """A place given as `name`, as (time, primary key of `model`); InvalidParameter (400) when it is
        not one the links give."""
        match = PLACE.fullmatch(text)
        refusal = InvalidParameter(name, f"give a place as the page's Newer and Older links do ({self.what}).")
        if match is None:
            raise refusal
        try:
            key = model._meta.pk.to_python(match[2])
        except ValidationError:
            raise refusal from None
        return EPOCH + timedelta(microseconds=int(match[1])), key

    def beside(self, listed: list, numbered) -> tuple[str, str]:
        """The places of the pages older and newer than `listed`, the rows of `numbered` (a page asked
        for by number, django.core.paginator.Page): a page from a link before places goes on by place."""
        older = self.place(listed[-1]) if numbered.has_next() else ""
        return older, self.place(listed[0]) if numbered.has_previous() else ""

    def ordered(self, rows, newest_first: bool = True):
        direction = "-" if newest_first else ""
        return rows.order_by(f"{direction}{self.time_field}", f"{direction}pk")

    def page(self, rows, query) -> KeysetPage:
        """The page of `rows` (a queryset) the query asks for: the newest `size`, or those just older
        (`older=`) or just newer (`newer=`) than a place. Each is one query that seeks to the place in
        an index on (time, primary key)."""
        older, newer = query.get("older"), query.get("newer")
        if older is not None and newer is not None:
            raise InvalidParameter("older", "give older or newer, not both.")
        if newer is not None:
            time, key = self.parse(rows.model, "newer", newer)
            later = rows.filter(**{f"{self.time_field}__gte": time}).exclude(**{self.time_field: time, "pk__lte": key})
            after = list(self.ordered(later, newest_first=False)[: self.size + 1])
            if len(after) > self.size:  # newer rows still above these: a page in the middle
                listed = after[: self.size][::-1]
                return KeysetPage(listed, older=self.place(listed[-1]), newer=self.place(listed[0]))
            older = None  # these reach the newest row: the first page, full
        if older is not None:
            time, key = self.parse(rows.model, "older", older)
            rows = rows.filter(**{f"{self.time_field}__lte": time}).exclude(**{self.time_field: time, "pk__gte": key})
        listed = list(self.ordered(rows)[: self.size + 1])
        more, listed = len(listed) > self.size, listed[: self.size]
        # Reached through an older place: the newer page starts at this one's first row (or at the
        # place itself when nothing is older any more, say the rows there were removed since).
        newer_place = (self.place(listed[0]) if listed else older) if older is not None else ""
        return KeysetPage(listed, older=self.place(listed[-1]) if more else "", newer=newer_place)
