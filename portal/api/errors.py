"""Every error the API returns has one shape: {"status", "code", "detail", "fields"}."""

from django.core.exceptions import BadRequest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.views import exception_handler

from portal.changes.workflow import Refused
from portal.core.params import InvalidParameter


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The resource is not in a state that allows this."
    default_code = "conflict"


class Refusal(APIException):
    """A refusal of the change workflow: its code and sentence, as the pages show them."""

    def __init__(self, refusal):
        super().__init__(refusal.message, code=refusal.code)
        self.status_code = refusal.http_status


class ErrorSerializer(serializers.Serializer):
    """Documents the error shape in the schema."""

    status = serializers.IntegerField()
    code = serializers.CharField(help_text="Stable machine-readable reason, e.g. invalid, not_authenticated.")
    detail = serializers.CharField(help_text="What went wrong and what to do about it.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="For code `invalid`: the messages per field ('non_field_errors' for the whole body).",
    )


def handle(exc, context):
    # What DRF's own handler does inside, done here too so that the codes below are DRF's.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        # The portal's own refusals (portal.access.permissions.Forbidden) say who may.
        exc = Refusal(exc.refusal) if hasattr(exc, "refusal") else exceptions.PermissionDenied()
    elif isinstance(exc, InvalidParameter):
        exc = ValidationError({exc.name: [exc.message]})
    elif isinstance(exc, BadRequest):
        exc = exceptions.ParseError(str(exc), code="malformed")
    elif isinstance(exc, DjangoValidationError):
        exc = ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})
    elif isinstance(exc, Refused):
        exc = Refusal(exc.refusal)
    response = exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's 500 handling, logged with its traceback
    if isinstance(exc, ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        body = {"code": "invalid", "detail": "Some fields are invalid; see `fields`.", "fields": fields}
    else:
        body = {"code": exc.get_codes(), "detail": str(exc.detail), "fields": {}}
    response.data = {"status": response.status_code, **body}
    return response


def error_responses(*codes: int) -> dict:
    """The `responses` entries for extend_schema, one per status code."""
    return {code: ErrorSerializer for code in codes}


def document_unsupported_media_type(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation that reads a body answers 415, in the
    error shape, to a body in a media type it does not parse (an empty or unknown Content-Type);
    DRF decides that before any view code runs, so no view's `responses` names it."""
    error = {"$ref": "#/components/schemas/Error"}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation["responses"].setdefault(
                    "415",
                    {"content": {"application/json": {"schema": error}}, "description": "The body's media type is not one this operation reads."},
                )
    return result
