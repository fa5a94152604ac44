from rest_framework.pagination import PageNumberPagination

from portal.core import params


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
