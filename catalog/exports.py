"""CSV export of the pages' lists: ``?format=csv`` answers every row the filters select, not one page.

CSV per RFC 4180 (``csv`` module, ``\\r\\n`` line ends, UTF-8). Cells that a spreadsheet would run as a
formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) are prefixed with ``'`` (OWASP's
advice on CSV injection). Rows are streamed, so a large list does not sit in memory.
"""

from __future__ import annotations

import csv
import html
from collections.abc import Iterable
from datetime import UTC, datetime

from django.http import StreamingHttpResponse
from django.utils.html import strip_tags

from catalog.models import Project, Severity

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 500


class _Echo:
    def write(self, value: str) -> str:
        return value


def safe_cell(value) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable]) -> StreamingHttpResponse:
    """A streamed CSV attachment named ``filename`` (a date is added) of ``header`` then ``rows``."""
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([safe_cell(value) for value in row])

    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
    return response


def wants_csv(request) -> bool:
    return request.GET.get("format") == "csv"


def plain_text(value):
    """A table cell as text: the markup a column renders for the page (links, tags, muted zeros) stripped,
    its character references decoded; values that are not text pass through."""
    if not isinstance(value, str):
        return value
    return html.unescape(strip_tags(value)).strip()


class CsvExportMixin:
    """For django-tables2 list views: ``?format=csv`` exports the table's columns over all its rows, as the
    page shows them but without markup."""

    def render_to_response(self, context, **response_kwargs):
        if not wants_csv(self.request):
            return super().render_to_response(context, **response_kwargs)
        table = context["table"]
        values = table.as_values()
        header = next(values)
        name = (getattr(self, "title", "") or "export").lower().replace(" ", "-")
        return csv_response(name, header, ([plain_text(cell) for cell in row] for row in values))


MAINTENANCE_HEADER = [
    "rank",
    "project",
    "owner",
    "lifecycle",
    "maintenance burden",
    "worst severity",
    "open findings",
    "oldest finding since",
]


def maintenance_csv(rows) -> StreamingHttpResponse:
    """The maintenance ranking (``catalog.views.rank_for_maintenance`` rows) as CSV, in order."""

    def records():
        rank = 0
        batch: list[dict] = []
        for row in rows.iterator(chunk_size=CHUNK):
            batch.append(row)
            if len(batch) == CHUNK:
                yield from _records(batch, rank)
                rank += len(batch)
                batch = []
        yield from _records(batch, rank)

    return csv_response("maintenance", MAINTENANCE_HEADER, records())


def _records(batch: list[dict], rank: int):
    projects = Project.objects.select_related("owner_team", "owner_person").in_bulk(
        [r["project"] for r in batch]
    )
    for row in batch:
        project = projects.get(row["project"])
        if project is None:
            continue
        rank += 1
        yield [
            rank,
            project.ref,
            project.owner.ref if project.owner else project.owner_ref,
            project.lifecycle,
            row["burden"],
            Severity(row["worst_severity"]).label,
            row["open_count"],
            row["oldest_seen_at"].isoformat(),
        ]
