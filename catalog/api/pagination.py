"""Cursor pagination with a total count: ``{"count", "next", "previous", "results"}``.

A cursor page costs one keyset query however deep it goes; ``count`` is one more ``COUNT(*)`` of the
filtered rows, except on a first page that holds them all (then it is the page's length). ``?limit=``
sets the page size (50 by default, at most 500). The view's ordering gets the primary key as a last
tie-breaker, so rows with equal sort values keep a stable order across pages.
"""

from rest_framework import pagination
from rest_framework.response import Response


class CursorPagination(pagination.CursorPagination):
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500
    ordering = ("pk",)

    def paginate_queryset(self, queryset, request, view=None):
        rows = queryset
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
