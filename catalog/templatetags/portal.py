"""Template filters of the portal's pages: safe links, compact evidence, owners, severities."""

from datetime import datetime
from urllib.parse import urlsplit

from django import template

from catalog import tables
from catalog.models import Severity

register = template.Library()

MAX_EVIDENCE_ITEMS = 4
MAX_EVIDENCE_TEXT = 80


@register.filter
def http_url(value) -> str:
    """``value`` when it is an http(s) URL with a host, else "": anything else must not become a link."""
    if not isinstance(value, str):
        return ""
    value = value.strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    return value if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


@register.filter
def entity_url(entity) -> str:
    return tables.entity_url(entity) if entity is not None else ""


@register.filter
def owner_link(project):
    """The project's owner as a link, or its unresolved reference marked unknown."""
    return tables.owner_html(project)


@register.filter
def severity_label(value) -> str:
    try:
        return Severity(value).label
    except ValueError:
        return str(value)


@register.filter
def iso_datetime(value):
    """An ISO 8601 string as an aware datetime (for the ``date`` filter); other values unchanged."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def _evidence_text(key: str, value) -> tuple[str, str]:
    """The shown text of one evidence value, and its link target (or "")."""
    if isinstance(value, str):
        if href := http_url(value):
            return value, href
        if key.endswith("_at"):
            try:
                return f"{datetime.fromisoformat(value):%Y-%m-%d}", ""
            except ValueError:
                pass
        if key.endswith("sha"):
            return value[:10], ""
        text = value if len(value) <= MAX_EVIDENCE_TEXT else value[: MAX_EVIDENCE_TEXT - 1] + "…"
        return text, ""
    if isinstance(value, list):
        if all(isinstance(item, str) for item in value):
            return ", ".join(value) if len(
                value
            ) <= 3 else f"{', '.join(value[:3])} and {len(value) - 3} more", ""
        return f"{len(value)} item{'s' if len(value) != 1 else ''}", ""
    if isinstance(value, dict):
        return f"{len(value)} field{'s' if len(value) != 1 else ''}", ""
    return str(value), ""


@register.filter
def evidence_items(evidence, message: str = "") -> list[dict]:
    """A finding's evidence as a few ``{"label", "text", "href"}`` items: links, then dates, then the rest.

    Empty values are left out, and so are plain values the ``message`` already says; dates (keys ending
    ``_at``) are shown as days, shas shortened, lists joined or counted.
    """
    if not isinstance(evidence, dict):
        return []
    items = []
    for key, value in evidence.items():
        if value in (None, "", [], {}):
            continue
        text, href = _evidence_text(key, value)
        is_date = key.endswith("_at") and text != value
        if not href and not is_date and isinstance(value, str | int | float) and str(value) in message:
            continue
        label = key.removesuffix("_at").replace("_", " ")
        items.append({"label": label, "text": text, "href": href, "rank": 0 if href else 1 if is_date else 2})
    items.sort(key=lambda item: item["rank"])
    return items[:MAX_EVIDENCE_ITEMS]


@register.filter
def metric(value) -> str:
    """A run metric for people: floats to 6 significant digits (0.19999999999999996 reads 0.2); "NaN" for a
    missing value (MLflow stores NaN, which JSON cannot carry)."""
    if value is None:
        return "NaN"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


@register.filter
def duration(value) -> str:
    """A timedelta as ``850 ms``, ``12.3 s`` or ``4 min 05 s``; "" for None."""
    return tables.format_duration(value.total_seconds()) if value is not None else ""
