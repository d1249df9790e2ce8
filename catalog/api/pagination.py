"""Cursor pagination with a total count: ``{"count", "next", "previous", "results"}``.

A cursor page costs one keyset query however deep it goes; ``count`` is one more ``COUNT(*)`` of the
filtered rows, except on a first page that holds them all (then it is the page's length). ``?limit=``
sets the page size (50 by default; a larger value is clamped to 500; zero, a negative number or a
non-number is a 400 naming ``limit``). The view's ordering gets the primary key as a last tie-breaker,
so rows with equal sort values keep a stable order across pages. A cursor whose position does not fit
the ordering field (a tampered or stale cursor: ``p=x`` on an integer, a bad date, a NUL in a string) is
DRF's 404 "Invalid cursor", never a database error.
"""

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, models
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

LIMIT_HELP = "Page size: a positive integer, 50 by default; values above 500 are clamped to 500."


def parse_limit(raw: str | None, *, default: int, maximum: int, name: str = "limit") -> int:
    """``raw`` (a query parameter) as a page size in 1..``maximum`` (larger values clamped), ``default``
    when absent; raises DRF's ValidationError naming ``name`` for zero, negatives and non-numbers."""
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or int(raw) < 1:
        raise ValidationError({name: [f"must be a positive integer (1 to {maximum}), not {raw[:20]!r}"]})
    return min(int(raw), maximum)


def cursor_position_problem(field: models.Field, position: str) -> str | None:
    """Why ``position`` (a decoded cursor's ``p``) cannot be compared with ``field``, or None."""
    if "\x00" in position:
        return "contains a NUL character"
    try:
        value = field.to_python(position)
    except (DjangoValidationError, TypeError, ValueError, OverflowError):
        return f"is not a valid {field.get_internal_type()}"
    if isinstance(field, models.IntegerField | models.AutoField):
        low, high = connection.ops.integer_field_range(field.get_internal_type())
        if (low is not None and value < low) or (high is not None and value > high):
            return "is out of range"
    if isinstance(field, models.DateTimeField) and value is not None and value.tzinfo is None:
        return "has no time zone"
    return None


class CursorPagination(pagination.CursorPagination):
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500
    ordering = ("pk",)

    def get_page_size(self, request):
        return parse_limit(
            request.query_params.get(self.page_size_query_param),
            default=self.page_size,
            maximum=self.max_page_size,
            name=self.page_size_query_param,
        )

    def decode_cursor(self, request):
        """DRF's cursor, with its position checked against the type of the first ordering field."""
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        name = self.ordering[0].lstrip("-")
        meta = self.model._meta
        try:
            field = meta.pk if name == "pk" else meta.get_field(name)
        except FieldDoesNotExist:
            return cursor  # an annotation: nothing to check it against
        if cursor_position_problem(field, cursor.position):
            raise NotFound(self.invalid_cursor_message)
        return cursor

    def paginate_queryset(self, queryset, request, view=None):
        rows = queryset
        self.model = queryset.model
        # A view may add what its rows need only after they are counted: joins would slow the count down.
        page_queryset = getattr(view, "page_queryset", None)
        if page_queryset is not None:
            queryset = page_queryset(queryset)
        page = super().paginate_queryset(queryset, request, view)
        if page is not None:
            whole = self.cursor is None and not self.has_next
            self.count = len(page) if whole else rows.order_by().count()
        return page

    def get_ordering(self, request, queryset, view):
        ordering = tuple(super().get_ordering(request, queryset, view))
        names = {field.lstrip("-") for field in ordering}
        if "pk" not in names and "id" not in names:
            ordering += ("-pk",) if ordering[0].startswith("-") else ("pk",)
        return ordering

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["required"] = ["count", "next", "previous", "results"]
        response["properties"] = {
            "count": {"type": "integer", "example": 123, "description": "Rows matching the filters."},
            **response["properties"],
        }
        return response

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = LIMIT_HELP
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters
