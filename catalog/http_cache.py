"""The database-backed ``HttpCache`` a sync hands to a connector (which never touches the ORM itself)."""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime
from typing import Any

from catalog.bulk import insert_rows, prepared, update_rows
from catalog.models import HttpCacheEntry, Source

BATCH_SIZE = 500


def url_key(url: str) -> str:
    """The natural key of a cached URL: the SHA-256 of the full URL, in hex."""
    return hashlib.sha256(url.encode()).hexdigest()


class SourceHttpCache:
    """The stored answers of one source, loaded in one query; ``put`` collects new answers in memory
    (connectors call it from their threads) and ``save`` writes them back in bulk.
    """

    def __init__(self, source: Source) -> None:
        self.source = source
        self._lock = threading.Lock()
        rows = HttpCacheEntry.objects.filter(source=source).values_list("pk", "key", "etag", "body")
        self._rows: dict[str, tuple[int, str, Any]] = {key: (pk, etag, body) for pk, key, etag, body in rows}
        self._new: dict[str, tuple[str, str, Any]] = {}  # key -> (url, etag, body)
        self._used: set[str] = set()

    def get(self, url: str) -> tuple[str, Any] | None:
        key = url_key(url)
        with self._lock:
            self._used.add(key)
            if key in self._new:
                return self._new[key][1:]
            row = self._rows.get(key)
        return row[1:] if row else None

    def put(self, url: str, etag: str, body: Any) -> None:
        key = url_key(url)
        with self._lock:
            self._used.add(key)
            self._new[key] = (url, etag, body)

    def save(self, *, now: datetime, prune: bool = False) -> None:
        """Write the answers ``put`` since loading (or the last save); with ``prune``, delete the stored
        ones this run did not ask for (call it only after a complete read, when every URL still in use was
        asked). Rows go through ``catalog.bulk``'s driver-level writes: a sync stores thousands.
        """
        fetched_at = prepared(HttpCacheEntry, "fetched_at", now)
        to_insert, to_update = [], []
        for key, (url, etag, body) in self._new.items():
            values = [etag, prepared(HttpCacheEntry, "body", body), fetched_at]
            row = self._rows.get(key)
            if row is None:
                to_insert.append([self.source.pk, key, url, *values])
            else:
                to_update.append([*values, row[0]])
        insert_rows(HttpCacheEntry, ("source", "key", "url", "etag", "body", "fetched_at"), to_insert)
        update_rows(HttpCacheEntry, ("etag", "body", "fetched_at"), to_update)
        if prune:
            stale = [row[0] for key, row in self._rows.items() if key not in self._used]
            for start in range(0, len(stale), BATCH_SIZE):
                HttpCacheEntry.objects.filter(pk__in=stale[start : start + BATCH_SIZE]).delete()
        if to_insert:
            pks = dict(HttpCacheEntry.objects.filter(source=self.source).values_list("key", "pk"))
        for key, (_, etag, body) in self._new.items():
            pk = self._rows[key][0] if key in self._rows else pks[key]
            self._rows[key] = (pk, etag, body)
        self._new.clear()
