"""``catalog.http_cache.SourceHttpCache``: a source's stored answers, written back in bulk."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from catalog.http_cache import SourceHttpCache
from catalog.models import HttpCacheEntry, Source

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_answers_are_inserted_then_updated_then_pruned_in_place():
    source = Source.objects.create(name="gh", kind=Source.Kind.GITHUB, config={"org": "ml"})
    other = Source.objects.create(name="gl", kind=Source.Kind.GITLAB, config={"group": "ml"})
    SourceHttpCache(other).put("https://gitlab.example.com/x", '"o"', {"data": 1})  # never saved
    cache = SourceHttpCache(source)
    cache.put("https://api.github.com/a", '"a1"', {"data": [1], "next": None, "v": 1})
    cache.put("https://api.github.com/b", '"b1"', {"data": [2], "next": None, "v": 1})
    cache.save(now=NOW)
    assert cache.get("https://api.github.com/a") == ('"a1"', {"data": [1], "next": None, "v": 1})

    # The same object saved again: /a is updated, not inserted twice.
    cache.put("https://api.github.com/a", '"a2"', {"data": [3], "next": None, "v": 1})
    cache.save(now=NOW)
    rows = {r.url: (r.etag, r.body, r.fetched_at) for r in HttpCacheEntry.objects.all()}
    assert rows == {
        "https://api.github.com/a": ('"a2"', {"data": [3], "next": None, "v": 1}, NOW),
        "https://api.github.com/b": ('"b1"', {"data": [2], "next": None, "v": 1}, NOW),
    }

    again = SourceHttpCache(source)  # the next sync asks only for /b
    assert again.get("https://api.github.com/b") == ('"b1"', {"data": [2], "next": None, "v": 1})
    again.save(now=NOW, prune=True)
    assert list(HttpCacheEntry.objects.values_list("url", flat=True)) == ["https://api.github.com/b"]
