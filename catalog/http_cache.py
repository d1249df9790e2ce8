"""The database-backed ``HttpCache`` a sync hands to a connector (which never touches the ORM itself)."""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime
from typing import Any

from catalog.bulk import bulk_update
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
        self._rows = {row.key: row for row in HttpCacheEntry.objects.filter(source=source)}
        self._new: dict[str, tuple[str, str, Any]] = {}  # key -> (url, etag, body)
        self._used: set[str] = set()

    def get(self, url: str) -> tuple[str, Any] | None:
        key = url_key(url)
        with self._lock:
            self._used.add(key)
            if key in self._new:
                return self._new[key][1:]
            row = self._rows.get(key)
        return (row.etag, row.body) if row else None

    def put(self, url: str, etag: str, body: Any) -> None:
        key = url_key(url)
        with self._lock:
            self._used.add(key)
            self._new[key] = (url, etag, body)

    def save(self, *, now: datetime, prune: bool = False) -> None:
        """Write the answers ``put`` since loading; with ``prune``, delete the stored ones this run did not
        ask for (call it only after a complete read, when every URL still in use was asked).
        """
        to_create, to_update = [], []
        for key, (url, etag, body) in self._new.items():
            row = self._rows.get(key)
            if row is None:
                to_create.append(
                    HttpCacheEntry(source=self.source, key=key, url=url, etag=etag, body=body, fetched_at=now)
                )
            else:
                row.etag, row.body, row.fetched_at = etag, body, now
                to_update.append(row)
        HttpCacheEntry.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
        bulk_update(HttpCacheEntry, to_update, ["etag", "body", "fetched_at"])
        if prune:
            stale = [row.pk for key, row in self._rows.items() if key not in self._used]
            for start in range(0, len(stale), BATCH_SIZE):
                HttpCacheEntry.objects.filter(pk__in=stale[start : start + BATCH_SIZE]).delete()
        self._rows.update({row.key: row for row in (*to_create, *to_update)})
        self._new.clear()
