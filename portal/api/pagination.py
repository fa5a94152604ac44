from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from portal.core import params
from portal.core.keyset import Keyset


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        # DRF quietly falls back to the default on a bad page_size; a client should hear about it.
        return params.whole_number(request.query_params, self.page_size_query_param, default=self.page_size, minimum=1, maximum=self.max_page_size)

    def get_page_number(self, request, paginator):
        # A malformed page is a bad request (400); a well-formed one past the end is not found (404).
        return params.whole_number(request.query_params, self.page_query_param, default=1, minimum=1)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            bounds = {"page": {"minimum": 1}, "page_size": {"minimum": 1, "maximum": self.max_page_size}}
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters


class KeysetPagination(Pagination):
    """Pages of a newest-first list that only grows (the audit trail): `next` and `previous` link by
    place (`older=`, `newer=`, portal.core.keyset), so that following them to the oldest page costs
    what the first page does, where `page=N` reads past every newer row; `page=N` is still served.
    `count` is every row the filters select, as with page numbers."""

    time_field = "time"

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        keyset = Keyset(self.time_field, self.get_page_size(request))
        if self.page_query_param in request.query_params:
            if "older" in request.query_params or "newer" in request.query_params:
                raise params.InvalidParameter(self.page_query_param, "give page, or older or newer, not both.")
            listed = list(super().paginate_queryset(queryset, request, view))
            self.count = self.page.paginator.count
            self.older, self.newer = keyset.beside(listed, self.page)
            return listed
        page = keyset.page(queryset, request.query_params)
        self.count, self.older, self.newer = queryset.count(), page.older, page.newer
        return page.items

    def check_places(self, request, model) -> None:
        """Refuses (400) a malformed `older` or `newer` where they mean nothing (the unpaginated export)."""
        keyset = Keyset(self.time_field, 1)
        for name in ("older", "newer"):
            if name in request.query_params:
                keyset.parse(model, name, request.query_params[name])

    def link(self, name: str, place: str) -> str | None:
        if not place:
            return None
        url = remove_query_param(remove_query_param(self.request.build_absolute_uri(), self.page_query_param), "older" if name == "newer" else "newer")
        return replace_query_param(url, name, place)

    def get_next_link(self):
        return self.link("older", self.older)

    def get_previous_link(self):
        return self.link("newer", self.newer)

    def get_paginated_response(self, data):
        return Response({"count": self.count, "next": self.get_next_link(), "previous": self.get_previous_link(), "results": data})

    def get_schema_operation_parameters(self, view):
        place = {"type": "string", "pattern": r"^[0-9]{1,17}\.[0-9a-f]{1,32}$"}
        described = {
            "older": "The page just older than this place (as `next` gives it).",
            "newer": "The page just newer than this place (as `previous` gives it).",
        }
        return [
            *super().get_schema_operation_parameters(view),
            *({"name": name, "required": False, "in": "query", "description": text, "schema": place} for name, text in described.items()),
        ]
