"""Plain records that connectors return and the sync writes to the catalog.

Records are frozen dataclasses in the portal's vocabulary (Backstage's and Git's terms). They never
reference the ORM: a connector can be tested with nothing but a git repository or a local HTTP server.
All timestamps are aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class DescriptorError:
    """One problem in a descriptor file.

    ``path`` is the file (relative to its repository or source root), ``document`` the 1-based index of
    the YAML document in a multi-document file (``None`` when the whole file is at fault, e.g. bad YAML),
    ``field`` a dotted path such as ``metadata.name`` or ``spec.owner`` (``None`` when no single field is).
    """

    path: str
    message: str
    document: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.path
        if self.document is not None:
            where += f", document {self.document}"
        if self.field:
            where += f", field {self.field}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class EntityRef:
    """A Backstage entity reference ``[kind:][namespace/]name``, with kind lowercased.

    Spec: https://backstage.io/docs/features/software-catalog/references
    """

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Entity:
    """One valid Backstage entity read from a descriptor document.

    ``kind`` keeps Backstage's spelling (``Component``, ``Group``, ...); ``namespace`` defaults to
    ``default``; ``spec`` is the document's spec mapping as parsed (validated for the kinds the portal
    imports); ``path`` and ``document`` say where it was declared (``document`` is 1-based).
    """

    api_version: str
    kind: str
    namespace: str
    name: str
    path: str
    document: int
    title: str = ""
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    links: tuple[dict[str, str], ...] = ()
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> EntityRef:
        return EntityRef(self.kind.lower(), self.namespace, self.name)


@dataclass(frozen=True)
class DescriptorFile:
    """A descriptor file that was read: its valid entities and its errors.

    ``path`` is relative to the repository or source root; ``errors`` holds every problem found, and the
    valid documents of the same file are still in ``entities``. ``failed_documents`` lists the 1-based
    indexes of documents that could not be read (their previous catalog data must be kept), and
    ``complete`` is False when the file could not be read to its end (bad YAML, unreadable file), so the
    entities it declared before are not to be taken as gone.
    """

    path: str
    entities: tuple[Entity, ...] = ()
    errors: tuple[DescriptorError, ...] = ()
    failed_documents: tuple[int, ...] = ()
    complete: bool = True


@dataclass(frozen=True)
class Commit:
    """A git commit: full sha, committer time (aware UTC), author name and e-mail."""

    sha: str
    committed_at: datetime
    author_name: str
    author_email: str


@dataclass(frozen=True)
class Author:
    """A commit author in a time window, with their number of commits."""

    name: str
    email: str
    commits: int


@dataclass(frozen=True)
class RepositoryRecord:
    """What a connector read of one repository.

    ``external_id`` is stable per source (the clone URL, or the absolute path of a local repository).
    When ``error`` is set, the repository could not be read and every other fact is unknown: the sync keeps
    the last good data. ``last_commit`` is ``None`` for an empty repository. ``commits_in_window`` counts
    commits on the default branch in the last ``window_days`` days; ``top_authors`` are that window's most
    frequent authors, most commits first.
    """

    external_id: str
    url: str
    name: str
    host: str = ""
    default_branch: str = ""
    archived: bool = False
    last_commit: Commit | None = None
    commits_in_window: int = 0
    window_days: int = 90
    top_authors: tuple[Author, ...] = ()
    descriptors: tuple[DescriptorFile, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class SourceSnapshot:
    """Everything one connector run read from a source.

    ``repositories`` are the repositories found (a repository missing here is gone from the source);
    ``descriptors`` are descriptor files read outside any repository (the ``file`` source kind);
    ``errors`` are source-level problems (e.g. a directory that does not exist): when ``complete`` is
    False the listing itself failed, and nothing may be taken as gone.
    """

    repositories: tuple[RepositoryRecord, ...] = ()
    descriptors: tuple[DescriptorFile, ...] = ()
    errors: tuple[str, ...] = ()
    complete: bool = True
