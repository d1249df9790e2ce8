"""What the GitHub and GitLab connectors share: their config, repository filters, the commit window,
descriptors read through an API, and reading repositories concurrently.

Config keys both accept (each optional unless said)::

    {"api_url": "...",            # the API's base URL (GitHub Enterprise, self-managed GitLab)
     "token_env": "GITHUB_TOKEN", # NAME of the environment variable holding the token (never the token)
     "webhook_secret_env": "...", # NAME of the variable holding the webhook secret (catalog.webhooks)
     "include_archived": false, "include_forks": false,
     "topics": [],                # keep repositories with at least one of these topics
     "name_patterns": [],         # keep repositories whose name matches one of these globs (fnmatch)
     "descriptor_paths": ["catalog-info.yaml", "catalog-info.yml"],
     "window_days": 90,           # the activity window of commits_in_window, top_authors and authors
     "runs": 30,                  # workflow runs (GitHub) or pipelines (GitLab) read per repository
     "concurrency": 16,           # repositories read at once (and HTTP connections kept)
     "timeout": 30,               # seconds per request
     "scorecards_repository": "", # the repository (GitHub owner/name, GitLab group/project) holding ...
     "scorecards_path": ".portal/scorecards.yaml"}  # ... the scorecards file, read from its default branch
"""

from __future__ import annotations

import fnmatch
import logging
import os
import posixpath
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from catalog.connectors.files import glob_regex, normalize_path
from catalog.connectors.http import HttpError, RateLimited
from catalog.connectors.records import (
    Author,
    Commit,
    DescriptorFile,
    RepositoryRecord,
    ScorecardsFileRecord,
)
from catalog.descriptors import backstage
from catalog.env_names import env_name_problem

logger = logging.getLogger(__name__)

T = TypeVar("T")

COMMON_KEYS = (
    "api_url",
    "token_env",
    "webhook_secret_env",
    "include_archived",
    "include_forks",
    "topics",
    "name_patterns",
    "descriptor_paths",
    "window_days",
    "runs",
    "concurrency",
    "timeout",
    "scorecards_repository",
    "scorecards_path",
)
DEFAULT_SCORECARDS_PATH = ".portal/scorecards.yaml"
DEFAULT_DESCRIPTOR_PATHS = ("catalog-info.yaml", "catalog-info.yml")
MAX_COMMIT_PAGES = 10  # 1,000 commits: a window busier than that is counted as 1,000
TOP_AUTHORS = 5


@dataclass(frozen=True)
class HostedConfig:
    """A validated GitHub or GitLab source config. ``owner`` is the organization, user or group."""

    kind: str
    owner_kind: str  # "org", "user" or "group"
    owner: str
    api_url: str
    token: str = field(default="", repr=False)
    webhook_secret_env: str = ""
    include_archived: bool = False
    include_forks: bool = False
    topics: tuple[str, ...] = ()
    name_patterns: tuple[str, ...] = ()
    descriptor_paths: tuple[str, ...] = DEFAULT_DESCRIPTOR_PATHS
    window_days: int = 90
    runs: int = 30
    concurrency: int = 16
    timeout: float = 30.0
    scorecards_repository: str = ""
    scorecards_path: str = DEFAULT_SCORECARDS_PATH

    def wants(self, *, name: str, archived: bool, fork: bool, topics: Iterable[str]) -> bool:
        """Whether a listed repository passes the filters."""
        if archived and not self.include_archived:
            return False
        if fork and not self.include_forks:
            return False
        if self.topics and not {t.lower() for t in topics} & {t.lower() for t in self.topics}:
            return False
        return not self.name_patterns or any(
            fnmatch.fnmatchcase(name.lower(), p.lower()) for p in self.name_patterns
        )


def parse_config(
    config: dict[str, Any], *, kind: str, owner_keys: tuple[str, ...], default_api_url: str
) -> HostedConfig:
    """Validate a ``kind`` source config with exactly one of ``owner_keys``; read the token from the
    environment. Raises ValueError naming the bad key, or the variable that is not set (never its value).
    """
    if not isinstance(config, dict):
        raise ValueError(f"{kind} source config must be a JSON object, not {type(config).__name__}")
    known = (*owner_keys, *COMMON_KEYS)
    unknown = sorted(set(config) - set(known))
    if unknown:
        raise ValueError(f"{kind} source config: unknown key {unknown[0]!r} (known: {', '.join(known)})")
    owners = [k for k in owner_keys if k in config]
    if len(owners) != 1:
        raise ValueError(f"{kind} source config: give exactly one of {', '.join(map(repr, owner_keys))}")
    owner = config[owners[0]]
    if not isinstance(owner, str) or not owner.strip().strip("/"):
        raise ValueError(f"{kind} source config: {owners[0]!r} must be a non-empty string")
    problem = owner_problem(owners[0], owner.strip().strip("/"))
    if problem:
        raise ValueError(f"{kind} source config: {owners[0]!r} {problem}")

    def text(key: str, default: str = "") -> str:
        value = config.get(key, default)
        if not isinstance(value, str):
            raise ValueError(f"{kind} source config: {key!r} must be a string")
        return value.strip()

    def flag(key: str) -> bool:
        value = config.get(key, False)
        if not isinstance(value, bool):
            raise ValueError(f"{kind} source config: {key!r} must be true or false")
        return value

    def strings(key: str, default: Iterable[str] = ()) -> tuple[str, ...]:
        value = config.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ValueError(f"{kind} source config: {key!r} must be a list of non-empty strings")
        return tuple(dict.fromkeys(v.strip() for v in value))

    def number(key: str, default: int, low: int, high: int) -> int:
        value = config.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{kind} source config: {key!r} must be an integer from {low} to {high}")
        return value

    api_url = text("api_url", default_api_url).rstrip("/")
    if not api_url.startswith(("https://", "http://")):
        raise ValueError(f"{kind} source config: 'api_url' must be an http(s) URL, not {api_url!r}")
    token_env = text("token_env")
    token = ""
    problem = env_name_problem(token_env) if token_env else None
    if problem:  # a row saved before validation may hold the token itself: never echo it
        raise ValueError(f"{kind} source config: 'token_env' {problem}")
    if token_env:
        token = os.environ.get(token_env, "").strip()
        if not token:
            raise ValueError(
                f"{kind} source config: the environment variable {token_env} (token_env) is not set"
            )
    descriptor_paths = strings("descriptor_paths", DEFAULT_DESCRIPTOR_PATHS)
    for path in descriptor_paths:
        if normalize_path(path) is None:
            raise ValueError(
                f"{kind} source config: 'descriptor_paths' entry {path!r} is not a relative path"
            )
    for pattern in strings("name_patterns"):
        problem = glob_problem(pattern)
        if problem:
            raise ValueError(f"{kind} source config: 'name_patterns' entry {pattern!r} {problem}")
    return HostedConfig(
        kind=kind,
        owner_kind=owners[0],
        owner=owner.strip().strip("/"),
        api_url=api_url,
        token=token,
        webhook_secret_env=text("webhook_secret_env"),
        include_archived=flag("include_archived"),
        include_forks=flag("include_forks"),
        topics=strings("topics"),
        name_patterns=strings("name_patterns"),
        descriptor_paths=tuple(normalize_path(p) or p for p in descriptor_paths),
        window_days=number("window_days", 90, 1, 3650),
        runs=number("runs", 30, 1, 100),
        concurrency=number("concurrency", 16, 1, 64),
        timeout=float(number("timeout", 30, 1, 600)),
        scorecards_repository=text("scorecards_repository").strip("/"),
        scorecards_path=_scorecards_path(kind, text("scorecards_path", DEFAULT_SCORECARDS_PATH)),
    )


# GitHub: alphanumerics and single hyphens, neither first nor last, at most 39 characters. A user of an
# Enterprise Managed Users enterprise is "handle_shortcode": users may also hold single underscores.
_GITHUB_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
_GITHUB_USER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|[-_](?=[A-Za-z0-9])){0,38}")
# GitLab: a path segment of letters, digits, "_", "-" and ".", starting with a letter, digit or "_".
_GITLAB_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def owner_problem(owner_key: str, owner: str) -> str | None:
    """Why ``owner`` is not a valid ``owner_key`` ("org" or "user": a GitHub login; "group": a GitLab
    group path such as ``ml/platform``), or None. Rules: GitHub's username and GitLab's path rules."""
    if owner_key == "org" and not _GITHUB_LOGIN.fullmatch(owner):
        return (
            "must be a GitHub login: letters, digits and single hyphens, not first or last, "
            "at most 39 characters"
        )
    if owner_key == "user" and not _GITHUB_USER.fullmatch(owner):
        return (
            "must be a GitHub login: letters, digits and single hyphens (or underscores, for managed "
            "users), not first or last, at most 39 characters"
        )
    if owner_key in ("org", "user"):
        return None
    for segment in owner.split("/"):
        if not _GITLAB_SEGMENT.fullmatch(segment) or ".." in segment or segment.endswith((".git", ".atom")):
            return (
                "must be a GitLab group path: segments of letters, digits, '_', '-' and '.' joined by '/'; "
                "a segment is not empty, starts with neither '-' nor '.', holds no '..' and does not end "
                "in .git or .atom"
            )
    return None


def glob_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not a usable ``fnmatch`` glob (an unclosed ``[`` set, which fnmatch would
    quietly take literally, so it matches no repository name), or None."""
    i = 0
    while i < len(pattern):
        if pattern[i] == "[":
            j = i + 1
            if j < len(pattern) and pattern[j] == "!":
                j += 1
            if j < len(pattern) and pattern[j] == "]":
                j += 1
            j = pattern.find("]", j)
            if j < 0:
                return "is not a valid glob: '[' opens a set that no ']' closes"
            i = j
        i += 1
    return None


def _scorecards_path(kind: str, path: str) -> str:
    normal = normalize_path(path)
    if normal is None:
        raise ValueError(f"{kind} source config: 'scorecards_path' {path!r} is not a relative path")
    return normal


def read_scorecards(
    settings: HostedConfig, full_name: str, location: str, read_file: Callable[[str], str | None]
) -> ScorecardsFileRecord | None:
    """The scorecards file of repository ``full_name`` when the config names it (``scorecards_repository``,
    compared without case), else None. ``location`` is the file's web URL; ``read_file`` gives a file's
    text, None when it is missing, or raises OSError saying why it cannot be read (``HttpError`` and
    ``RateLimited`` go up: the repository fails, or the whole sync is retried)."""
    if not settings.scorecards_repository or settings.scorecards_repository.lower() != full_name.lower():
        return None
    path = settings.scorecards_path
    try:
        text = read_file(path)
    except OSError as exc:
        return ScorecardsFileRecord(path, location, error=str(exc))
    if text is None:
        return ScorecardsFileRecord(path, location, error="no such file on the default branch")
    return ScorecardsFileRecord(path, location, text=text)


def window_start(now: datetime, window_days: int) -> tuple[datetime, datetime]:
    """The window's exact start, and the same rounded down to midnight UTC: the rounded one goes in the
    ``since`` query so the URL (and so its ETag) stays the same all day; commits are then filtered exactly.
    """
    start = now - timedelta(days=window_days)
    return start, start.replace(hour=0, minute=0, second=0, microsecond=0)


def window_facts(commits: list[Commit], since: datetime) -> tuple[int, tuple[Author, ...]]:
    """``(commits_in_window, top_authors)`` of the commits at or after ``since``."""
    inside = [c for c in commits if c.committed_at >= since]
    counts: Counter[tuple[str, str]] = Counter((c.author_name, c.author_email.lower()) for c in inside)
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_AUTHORS]
    return len(inside), tuple(Author(name, email, n) for (name, email), n in top)


def window_authors(commits: list[Commit], since: datetime) -> tuple[Author, ...]:
    """Every author of the commits at or after ``since``, by e-mail (lowercased) with the name of their
    newest commit, most commits first: a hosted source's ``authors`` (over its ``window_days``)."""
    counts: Counter[str] = Counter()
    names: dict[str, tuple[datetime, str]] = {}
    for commit in commits:
        if commit.committed_at < since:
            continue
        email = commit.author_email.lower()
        counts[email] += 1
        if email not in names or commit.committed_at > names[email][0]:
            names[email] = (commit.committed_at, commit.author_name)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], names[item[0]][1], item[0]))
    return tuple(Author(names[email][1], email, n) for email, n in ranked)


class ApiTreeReader:
    """A ``DescriptorReader`` over a repository's default branch, read through the provider's API.

    ``read_file(path)`` returns the text or None when there is no such file; ``list_files()`` returns
    every file path of the branch (called once, only when a Location target is a glob).
    """

    def __init__(self, read_file: Callable[[str], str | None], list_files: Callable[[], list[str]]) -> None:
        self._read_file, self._list_files = read_file, list_files
        self._files: list[str] | None = None

    def read(self, path: str) -> str:
        text = self._read_file(path)
        if text is None:
            raise FileNotFoundError(f"{path}: no such file")
        return text

    def glob(self, pattern: str) -> list[str]:
        if self._files is None:
            self._files = self._list_files()
        regex = glob_regex(pattern)
        return sorted(p for p in self._files if regex.match(p))


def read_descriptors(
    reader: ApiTreeReader, descriptor_paths: Iterable[str], list_dir: Callable[[str], set[str]]
) -> tuple[DescriptorFile, ...]:
    """The descriptor files at ``descriptor_paths`` and those their Locations reach.

    ``list_dir(directory)`` gives the file names in a directory ('' is the root), so a missing descriptor
    costs one listing per directory (which an ETag makes free the next time) instead of a 404 per name.
    """
    paths = list(descriptor_paths)
    present: set[str] = set()
    for directory in dict.fromkeys(posixpath.dirname(p) for p in paths):
        names = list_dir(directory)
        present |= {posixpath.join(directory, n) if directory else n for n in names}
    roots = [p for p in paths if p in present]
    return tuple(backstage.load_tree(reader, roots)) if roots else ()


def read_concurrently(
    items: Iterable[T], read_one: Callable[[T], RepositoryRecord], concurrency: int
) -> list[RepositoryRecord]:
    """``read_one`` each item on a pool of threads, as ``items`` yields them (a paginated listing keeps
    loading while the first repositories are read); return the records in item order.

    ``concurrency`` is the number of requests in flight: one thread per connection of the client. More
    threads than connections only wait in the connection pool, and each wake-up costs CPU under the GIL
    (measured on benchmarks/ci_sync.py: twice as many threads took about 17% more CPU, and were no faster).

    The first ``RateLimited`` stops the rest (repositories not started are not read) and is raised once
    the running ones end; any other exception from ``items`` is raised the same way.
    """
    stop = threading.Event()
    limited: list[RateLimited] = []

    def guarded(item: T) -> RepositoryRecord | None:
        if stop.is_set():
            return None
        try:
            return read_one(item)
        except RateLimited as exc:
            limited.append(exc)
            stop.set()
            return None

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = []
        try:
            for item in items:
                if stop.is_set():
                    break
                futures.append(pool.submit(guarded, item))
        except BaseException:
            stop.set()
            raise
        records = [future.result() for future in futures]
    if limited:
        raise limited[0]
    return [r for r in records if r is not None]


def guarded_read(base: dict[str, Any], read: Callable[[], dict[str, Any]]) -> RepositoryRecord:
    """A record of ``base`` fields plus what ``read()`` returns; a failed read gives a record with
    ``error`` (``RateLimited`` is raised: the whole sync is retried later). ``base`` holds at least
    ``external_id``, ``url``, ``name`` and ``host``.
    """
    try:
        return RepositoryRecord(**base, **read())
    except RateLimited:
        raise
    except HttpError as exc:
        return RepositoryRecord(**base, error=str(exc))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return RepositoryRecord(**base, error=f"{base['name']}: unexpected answer: {exc!r}")
    except Exception as exc:
        logger.exception("reading repository %s failed", base["name"])
        return RepositoryRecord(**base, error=f"{base['name']}: unexpected error: {exc!r}")
