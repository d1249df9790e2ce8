"""Errors as JSON of one stable shape, for every API error response.

    {"error": {"code": "invalid", "message": "name: This field is required.", "fields": {"name": ["..."]}}}

``code`` is machine-readable: ``invalid`` for bad input (or, more precisely, ``managed_by_descriptor``,
``unique``, ``permission_denied``), else DRF's ``not_authenticated``, ``authentication_failed``,
``permission_denied``, ``not_found``, ``method_not_allowed``, ``parse_error``, ``unsupported_media_type``,
``not_acceptable`` or our ``conflict``; ``message`` is one sentence that names the field at fault;
``fields`` maps each field at fault (dotted paths for nested ones, ``non_field_errors`` for the whole
object) to its messages, and is empty when no field is at fault. Django's own ValidationError and
PermissionDenied, raised by the domain functions, come out the same way, and so do errors no DRF view
answered under /api/ (an unknown path, a crash: ``handler404`` and friends below, ``code`` ``not_found``,
``server_error``...).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views import defaults as django_defaults
from rest_framework import exceptions, serializers, status
from rest_framework.views import exception_handler as drf_exception_handler

# Validation errors keep these codes; any other field error is "invalid".
OUR_CODES = frozenset({"managed_by_descriptor", "permission_denied", "unique"})


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "the request conflicts with the current state"
    default_code = "conflict"


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="Machine-readable, e.g. invalid, not_found, managed_by_descriptor."
    )
    message = serializers.CharField(help_text="One sentence; names the field at fault when there is one.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per field at fault (dotted paths for nested fields); empty when none is.",
    )


class ErrorSerializer(serializers.Serializer):
    """The body of every error response."""

    error = ErrorDetailSerializer()


def exception_handler(exc, context):
    """DRF's handler, with Django's ValidationError and PermissionDenied mapped, and the body reshaped."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_messages(exc), code=_django_code(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    code = _first_code(exc.get_codes()) or exc.default_code
    fields = {}
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        code = code if code in OUR_CODES else "invalid"
        message = "; ".join(
            f"{name}: {messages[0]}" if name != "non_field_errors" else messages[0]
            for name, messages in fields.items()
        )
    else:
        message = str(exc.detail)
    response.data = {"error": {"code": code, "message": message, "fields": fields}}
    return response


def _django_messages(exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        return {name: [str(m) for e in errors for m in e.messages] for name, errors in exc.error_dict.items()}
    return list(exc.messages)


def _django_code(exc: DjangoValidationError) -> str | None:
    errors = (
        [e for errors in exc.error_dict.values() for e in errors]
        if hasattr(exc, "error_dict")
        else exc.error_list
    )
    return next((e.code for e in errors if e.code), None)


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as ``{"dotted.path": [messages]}``."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]} if detail else {}
        flat = {}
        for index, item in enumerate(detail):
            flat.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    return {prefix or "non_field_errors": [str(detail)]}


def _first_code(codes) -> str | None:
    if isinstance(codes, dict):
        for value in codes.values():
            code = _first_code(value)
            if code:
                return code
        return None
    if isinstance(codes, list):
        return next((c for c in (_first_code(v) for v in codes) if c), None)
    return codes


# Django-level errors (no DRF view answered: an unknown path, a body too large, a crash) under /api/
# come out in the same shape; elsewhere they are Django's own pages. Wired as handler400/403/404/500.

API_PREFIX = "/api/"


def _django_error(request, status_code: int, code: str, message: str, page):
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status_code)
    return page


def bad_request(request, exception=None):
    """400 (e.g. a request body too large): JSON under /api/, Django's page elsewhere."""
    page = (
        django_defaults.bad_request(request, exception) if not request.path.startswith(API_PREFIX) else None
    )
    return _django_error(request, 400, "parse_error", "the request could not be read", page)


def permission_denied(request, exception=None):
    """403: JSON under /api/, Django's page elsewhere."""
    page = None
    if not request.path.startswith(API_PREFIX):
        page = django_defaults.permission_denied(request, exception)
    message = str(exception) if exception and str(exception) else "you may not do this"
    return _django_error(request, 403, "permission_denied", message, page)


def page_not_found(request, exception=None):
    """404: JSON naming the path under /api/, the portal's 404 page elsewhere."""
    page = None if request.path.startswith(API_PREFIX) else django_defaults.page_not_found(request, exception)
    message = f"no API endpoint at {request.path[:200]}; see /api/schema/ for the endpoints"
    return _django_error(request, 404, "not_found", message, page)


def server_error(request):
    """500: JSON under /api/, Django's page elsewhere."""
    page = None if request.path.startswith(API_PREFIX) else django_defaults.server_error(request)
    return _django_error(request, 500, "server_error", "the server failed; the error was logged", page)
