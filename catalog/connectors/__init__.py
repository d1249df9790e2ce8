"""Connectors: one per kind of source, each reading the outside world into plain records.

``CONNECTORS`` names them by source kind; ``get_connector(kind)`` looks one up. A connector never imports
the ORM: it gets the source's JSON config as a plain dict and returns a ``SourceSnapshot``
(``catalog.connectors.records``), which ``catalog.sync`` writes to the catalog.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Protocol

from catalog.connectors import files, git, github, gitlab, mlflow
from catalog.connectors.records import SourceSnapshot

__all__ = ["CONNECTORS", "Connector", "accepts", "get_connector"]


class Connector(Protocol):
    """Reads one kind of source."""

    def fetch(self, config: dict[str, Any], *, workdir: Path) -> SourceSnapshot:
        """Read the source described by ``config`` (its JSON config, a plain dict).

        ``workdir`` is a folder of this source's own that the connector may use as a cache (e.g. git
        mirrors); it need not exist yet. Problems with the source's contents are reported in the snapshot
        (record errors, source-level ``errors`` with ``complete=False``); raises ValueError for a bad config.

        Connectors that read a REST API also take the keywords ``cache`` (a
        ``catalog.connectors.http.HttpCache`` for conditional requests) and ``only`` (names of the
        repositories to read, for a targeted sync: the snapshot is then incomplete), and raise
        ``catalog.connectors.http.RateLimited``; ``accepts(connector, keyword)`` tells which do.
        """
        ...


CONNECTORS: dict[str, Connector] = {
    git.connector.kind: git.connector,
    files.connector.kind: files.connector,
    github.connector.kind: github.connector,
    gitlab.connector.kind: gitlab.connector,
    mlflow.connector.kind: mlflow.connector,
}


def accepts(connector: Connector, keyword: str) -> bool:
    """Whether ``connector.fetch`` takes the optional keyword ``keyword`` (``cache``, ``only``)."""
    return keyword in inspect.signature(connector.fetch).parameters


def get_connector(kind: str) -> Connector:
    """The connector for source kind ``kind``; raises ValueError naming the unknown and the known kinds."""
    try:
        return CONNECTORS[kind]
    except KeyError:
        known = ", ".join(sorted(CONNECTORS))
        raise ValueError(f"no connector for source kind {kind!r} (known: {known})") from None
