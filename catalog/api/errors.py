"""Errors as JSON of one stable shape, for every API error response.

    {"error": {"code": "invalid", "message": "name: This field is required.", "fields": {"name": ["..."]}}}

``code`` is machine-readable (DRF's codes: ``invalid``, ``not_authenticated``, ``authentication_failed``,
``permission_denied``, ``not_found``, ``method_not_allowed``, ``parse_error``, ``throttled``...; ours:
``managed_by_descriptor``, ``conflict``); ``message`` is one sentence that names the field at fault;
``fields`` maps each field at fault (dotted paths for nested ones, ``non_field_errors`` for the whole
object) to its messages, and is empty when no field is at fault. Django's own ValidationError and
PermissionDenied, raised by the domain functions, come out the same way.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, serializers, status
from rest_framework.views import exception_handler as drf_exception_handler


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "the request conflicts with the current state"
    default_code = "conflict"


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, e.g. invalid, not_found, managed_by_descriptor.")
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
    elif isinstance(exc, DjangoPermissionDenied) and str(exc):
        exc = exceptions.PermissionDenied(str(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    fields = _flatten(exc.detail) if isinstance(exc, exceptions.ValidationError) else {}
    code = _first_code(exc.get_codes()) if isinstance(exc, exceptions.APIException) else "error"
    if isinstance(exc, exceptions.ValidationError):
        if code in (None, "", "required", "invalid_choice", "null", "blank", "min_value", "max_value"):
            code = "invalid"
        message = "; ".join(
            f"{name}: {messages[0]}" if name != "non_field_errors" else messages[0]
            for name, messages in fields.items()
        )
    else:
        message = str(exc.detail) if isinstance(exc, exceptions.APIException) else str(exc)
    response.data = {"error": {"code": code or "error", "message": message, "fields": fields}}
    return response


def _django_messages(exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        return {name: [str(m) for e in errors for m in e.messages] for name, errors in exc.error_dict.items()}
    return list(exc.messages)


def _django_code(exc: DjangoValidationError) -> str | None:
    errors = [e for errors in exc.error_dict.values() for e in errors] if hasattr(exc, "error_dict") else exc.error_list
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
