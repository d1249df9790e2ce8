"""The ``git`` connector: local repositories and partial mirrors of remote ones, read with the git CLI.

Config (a plain dict, from the source's JSON; every key optional)::

    {"urls": [],              # remote: https://, ssh://, git://, file://, or scp-like git@host:org/repo.git
     "paths": [],             # local directories: a repository (working tree or bare), or a tree to scan
     "window_days": 90,       # the activity window (commits_in_window, top_authors), in days
     "authors_days": 180,     # the window of every author's commit count (the bus-factor rule's), in days
     "max_depth": 3,          # how many directory levels below each path are scanned for repositories
     "descriptor_paths": ["catalog-info.yaml", "catalog-info.yml"],   # read at the root of the default branch
     "scorecards_repository": "",   # the repository (its name, URL or path) holding the scorecards file
     "scorecards_path": ".portal/scorecards.yaml"}   # that file, read from its default branch

Remote repositories are kept as partial mirrors (``git clone --mirror --filter=blob:none``) under
``workdir/mirrors/``, fetched with ``--prune`` on later runs (then ``git ls-remote --symref`` follows a
change of the remote's default branch). Git never prompts for credentials (no terminal, no credential
helpers, ssh in batch mode: host keys must already be known), and every git call has a timeout.

What is read of each repository comes from the default branch's commit, never from the working tree.
The default branch is the branch HEAD points at for a bare repository or mirror; for a working tree it is
the remote's default (``refs/remotes/origin/HEAD``) when that exists, else the checked-out branch. With a
detached HEAD and no ``origin/HEAD``, the local ``main`` or else ``master`` is taken, and failing both the
detached commit itself (``default_branch`` then empty).

Git processes per repository: one ``git cat-file --batch``, which resolves the default branch, reads the
descriptor files and walks the commits of the longer of the two windows (a round trip costs far less
than starting git). Only when that window holds more than ``WALK_LIMIT`` commits (or its pace says it
will) does one ``git log --since`` count them instead; only a Location with a glob target costs a
``git ls-tree``.
HEAD and ``origin/HEAD`` are read from their files (through ``git symbolic-ref`` for the reftable store).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import heapq
import logging
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from catalog.connectors.files import glob_prefix, glob_regex, normalize_path
from catalog.connectors.records import (
    Author,
    Commit,
    RepositoryRecord,
    ScorecardsFileRecord,
    SourceSnapshot,
)
from catalog.descriptors import backstage  # the module, not names: backstage imports this package

__all__ = [
    "CatFile",
    "CommitReader",
    "GitConfig",
    "GitConnector",
    "GitError",
    "LocalRepository",
    "find_repositories",
    "mirror_path",
    "parse_config",
    "redact",
]

logger = logging.getLogger(__name__)

DEFAULT_DESCRIPTOR_PATHS = ("catalog-info.yaml", "catalog-info.yml")
NETWORK_TIMEOUT = 300  # seconds, for clone and fetch (and reads of a mirror, which may fetch blobs lazily)
LOCAL_TIMEOUT = 60  # seconds, for every other git call
WORKERS = 4  # repositories read at once; git does the work, and subprocess releases the GIL
# Commits walked through cat-file at most: a round trip costs about 75 us of CPU, a git process about 1.5 ms.
WALK_LIMIT = 24
WALK_PROBE = 6  # after this many commits, a window that looks busier than 2 * WALK_LIMIT goes to git log
TOP_AUTHORS = 5
URL_SCHEMES = frozenset({"https", "http", "ssh", "git", "file", "git+ssh", "ssh+git"})
KNOWN_KEYS = (
    "urls",
    "paths",
    "window_days",
    "authors_days",
    "max_depth",
    "descriptor_paths",
    "scorecards_repository",
    "scorecards_path",
)
DEFAULT_SCORECARDS_PATH = ".portal/scorecards.yaml"


class GitError(Exception):
    """A git command failed; the message carries git's own (stderr), or says it timed out."""


# Config


@dataclass(frozen=True)
class GitConfig:
    """A validated ``git`` source config; ``paths`` are absolute, ``window_days`` and ``authors_days`` in
    days."""

    urls: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    window_days: int = 90
    authors_days: int = 180
    max_depth: int = 3
    descriptor_paths: tuple[str, ...] = DEFAULT_DESCRIPTOR_PATHS
    scorecards_repository: str = ""
    scorecards_path: str = DEFAULT_SCORECARDS_PATH

    def holds_scorecards(self, identity: _Identity) -> bool:
        """Whether ``scorecards_repository`` names this repository: its name, URL or path."""
        wanted = self.scorecards_repository
        if not wanted:
            return False
        if wanted in (identity.name, identity.url, identity.external_id):
            return True
        return "://" not in wanted and os.path.abspath(os.path.expanduser(wanted)) == identity.external_id


def parse_config(config: dict[str, Any]) -> GitConfig:
    """Validate a ``git`` source config (see the module docstring); raise ValueError naming the bad key."""
    if not isinstance(config, dict):
        raise ValueError(f"git source config must be a JSON object, not {type(config).__name__}")
    unknown = sorted(set(config) - set(KNOWN_KEYS))
    if unknown:
        raise ValueError(f"git source config: unknown key {unknown[0]!r} (known: {', '.join(KNOWN_KEYS)})")

    def strings(key: str, default: Iterable[str]) -> list[str]:
        value = config.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ValueError(f"git source config: {key!r} must be a list of non-empty strings")
        return [v.strip() for v in value]

    def integer(key: str, default: int, minimum: int) -> int:
        value = config.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"git source config: {key!r} must be an integer >= {minimum}, not {value!r}")
        return value

    urls = list(dict.fromkeys(strings("urls", ())))
    for url in urls:
        problem = _url_problem(url)
        if problem:
            raise ValueError(f"git source config: 'urls' entry {redact(url)!r} {problem}")
    shown = [redact(u) for u in urls]
    if len(set(shown)) != len(shown):
        raise ValueError("git source config: 'urls' lists the same repository twice")
    descriptor_paths = strings("descriptor_paths", DEFAULT_DESCRIPTOR_PATHS)
    for path in descriptor_paths:
        if normalize_path(path) is None:
            raise ValueError(f"git source config: 'descriptor_paths' entry {path!r} is not a relative path")
    paths = [os.path.abspath(os.path.expanduser(p)) for p in strings("paths", ())]
    scorecards = {}
    for key in ("scorecards_repository", "scorecards_path"):
        if key in config:
            value = config[key]
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"git source config: {key!r} must be a non-empty string")
            scorecards[key] = value.strip()
    if normalize_path(scorecards.get("scorecards_path", DEFAULT_SCORECARDS_PATH)) is None:
        raise ValueError("git source config: 'scorecards_path' is not a relative path")
    return GitConfig(
        urls=tuple(urls),
        paths=tuple(dict.fromkeys(paths)),
        window_days=integer("window_days", 90, 1),
        authors_days=integer("authors_days", 180, 1),
        max_depth=integer("max_depth", 3, 0),
        descriptor_paths=tuple(dict.fromkeys(normalize_path(p) or p for p in descriptor_paths)),
        scorecards_repository=scorecards.get("scorecards_repository", ""),
        scorecards_path=normalize_path(scorecards.get("scorecards_path", DEFAULT_SCORECARDS_PATH)) or "",
    )


# URLs

_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/\s]+)@)?(?P<host>[A-Za-z0-9._-]+):(?P<path>.+)$")
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")


def _url_problem(url: str) -> str | None:
    if url.startswith("-") or any(ord(c) < 32 for c in url):
        return "is not a git URL"
    if re.match(r"^[A-Za-z0-9+.-]+::", url):
        return "uses a remote helper (<transport>::<address>), which is not allowed"
    match = _SCHEME.match(url)
    if match:
        if match["scheme"].lower() not in URL_SCHEMES:
            known = ", ".join(sorted(URL_SCHEMES))
            return f"has an unsupported scheme {match['scheme']!r} (use one of {known})"
        return None
    if _SCP_LIKE.match(url):
        return None
    return "is not a git URL (https://, ssh://, git://, file:// or user@host:path)"


def redact(text: str) -> str:
    """Hide the credentials of every URL in ``text``: all of an http(s) userinfo, else the password."""

    def hide(match: re.Match[str]) -> str:
        scheme, userinfo = match["scheme"], match["userinfo"]
        if scheme.lower().startswith("http"):
            return f"{scheme}***@"
        user, colon, _ = userinfo.partition(":")
        return f"{scheme}{user}:***@" if colon else match.group(0)

    return _USERINFO.sub(hide, text)


def _redact_secrets(text: str, url: str) -> str:
    """``redact`` plus the literal secrets of ``url`` wherever git echoed them."""
    text = redact(text)
    match = _SCHEME.match(url)
    if match:
        parts = urlsplit(url)
        secrets = [parts.password or ""]
        if match["scheme"].lower().startswith("http"):
            secrets.append(parts.username or "")
        for secret in secrets:
            for form in {secret, unquote(secret)}:
                if len(form) >= 3:
                    text = text.replace(form, "***")
    return text


def url_host(url: str) -> str:
    """The host of a git URL, lowercased; ``''`` for ``file://`` URLs and local paths."""
    if _SCHEME.match(url):
        parts = urlsplit(url)
        return "" if parts.scheme.lower() == "file" else (parts.hostname or "")
    match = _SCP_LIKE.match(url)
    if match and "/" not in match["host"] and not os.path.isabs(url):
        return match["host"].lower()
    return ""


def url_name(url: str) -> str:
    """The repository name of a URL or path: its last path segment without ``.git``."""
    if _SCHEME.match(url):
        path = urlsplit(url).path
    else:
        match = _SCP_LIKE.match(url)
        path = match["path"] if match and not os.path.isabs(url) else url
    segments = [s for s in path.replace("\\", "/").split("/") if s]
    if segments and segments[-1] == ".git":
        segments.pop()
    name = segments[-1] if segments else ""
    return name.removesuffix(".git") or url_host(url) or "repository"


def mirror_path(workdir: Path, url: str) -> Path:
    """Where the mirror of ``url`` lives: ``workdir/mirrors/<readable name>-<short hash of url>.git``."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", url_name(url)).strip(".-")[:60] or "repository"
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return workdir / "mirrors" / f"{readable}-{digest}.git"


# Running git


# Variables that point git at another repository or alter what it reads (set e.g. inside a git hook).
_REPOSITORY_ENV = re.compile(
    r"GIT_(DIR|WORK_TREE|INDEX_FILE|OBJECT_DIRECTORY|ALTERNATE_OBJECT_DIRECTORIES|COMMON_DIR|NAMESPACE"
    r"|PREFIX|QUARANTINE_PATH|REPLACE_REF_BASE|NO_REPLACE_OBJECTS|GRAFT_FILE|SHALLOW_FILE"
    r"|CONFIG_PARAMETERS|CONFIG_COUNT|CONFIG_KEY_\d+|CONFIG_VALUE_\d+)"
)


def git_env() -> dict[str, str]:
    """The environment of every git call: never prompt, never pick up a repository from the environment."""
    env = {k: v for k, v in os.environ.items() if not _REPOSITORY_ENV.fullmatch(k)}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS="true",  # answers every credential question with nothing: auth fails, never hangs
        SSH_ASKPASS="true",
        GIT_OPTIONAL_LOCKS="0",
        LC_ALL="C",
        LANGUAGE="C",
    )
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    return env


def git_command(git_dir: str | os.PathLike[str] | None, *args: str) -> list[str]:
    """``git [--git-dir DIR] -c credential.helper= -c http.followRedirects=false ARGS``: no discovery, no
    credential helpers, no HTTP redirects (git cannot keep them to the same host: a moved repository
    fails with the redirect named, and its URL is updated in the source).
    """
    command = ["git"]
    if git_dir is not None:
        command += ["--git-dir", os.fspath(git_dir)]
    return [*command, "-c", "credential.helper=", "-c", "http.followRedirects=false", *args]


def _stderr_text(stderr: bytes) -> str:
    """git's stderr on one line (its lines joined with spaces)."""
    return " ".join(line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip())


def _spawn(
    git_dir: str | os.PathLike[str] | None, args: tuple[str, ...], **kwargs: Any
) -> subprocess.Popen[bytes]:
    """Start git in a session of its own: no terminal to prompt on, and its helpers die with it."""
    try:
        return subprocess.Popen(git_command(git_dir, *args), start_new_session=True, **kwargs)
    except OSError as exc:
        raise GitError(f"cannot run git: {exc}") from exc


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill git and its helpers (remote helpers, ssh, lazy fetches)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _subcommand(args: tuple[str, ...]) -> str:
    return next((a for i, a in enumerate(args) if not a.startswith("-") and args[i - 1 : i] != ("-c",)), "")


def run_git(git_dir: str | os.PathLike[str] | None, *args: str, timeout: float, env: dict[str, str]) -> bytes:
    """Run one git command; return its stdout. Raises GitError with git's stderr, or on timeout (seconds)."""
    proc = _spawn(
        git_dir, args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        proc.communicate()
        raise GitError(f"git {_subcommand(args)} timed out after {timeout:g} s") from None
    if proc.returncode != 0:
        raise GitError(_stderr_text(err) or f"git {_subcommand(args)} exited with {proc.returncode}")
    return out


@dataclass(frozen=True, slots=True)
class GitObject:
    sha: str
    type: str
    data: bytes


_FOUND = re.compile(rb"^([0-9a-f]{40,64}) ([a-z]+) (\d+)\n\Z")


class CatFile:
    """One ``git cat-file --batch`` process answering many object requests (``rev``, ``sha:path``).

    Use as a context manager. Every request raises GitError when the process died or the whole
    conversation ran past ``timeout`` seconds (reads wait with ``poll``: no watchdog thread per process).
    """

    def __init__(self, git_dir: str, *, timeout: float, env: dict[str, str]) -> None:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        try:
            self._proc = _spawn(
                git_dir,
                ("cat-file", "--batch"),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                env=env,
                bufsize=0,
            )
        except GitError:
            self._stderr.close()
            raise
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._in, self._out = self._proc.stdin.fileno(), self._proc.stdout.fileno()
        self._poll = select.poll()
        self._poll.register(self._out, select.POLLIN)
        self._buffer = bytearray()
        self._timeout = timeout
        self._deadline = time.monotonic() + timeout
        self._timed_out = False

    def __enter__(self) -> CatFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """End the process (it exits at the end of its input) and release its pipes."""
        if self._proc.returncode is None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()  # type: ignore[union-attr]
            if not self._drain():
                _kill(self._proc)
            self._proc.wait()
        with contextlib.suppress(OSError):
            self._proc.stdin.close()  # type: ignore[union-attr]
        self._proc.stdout.close()  # type: ignore[union-attr]
        self._stderr.close()

    def _failure(self) -> GitError:
        if self._proc.returncode is None:
            _kill(self._proc)
            self._proc.wait()
        if self._timed_out:
            return GitError(f"git cat-file timed out after {self._timeout:g} s")
        self._stderr.seek(0)
        message = _stderr_text(self._stderr.read())
        return GitError(message or f"git cat-file exited with {self._proc.returncode}")

    def _drain(self) -> bool:
        """Read until git closes its output (it exits); False if that takes past the deadline (or 5 s)."""
        deadline = max(self._deadline, time.monotonic() + 5)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._poll.poll(remaining * 1000):
                return False
            if not os.read(self._out, 1 << 16):
                return True

    def _fill(self) -> None:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0 or not self._poll.poll(remaining * 1000):
            self._timed_out = True
            raise self._failure()
        chunk = os.read(self._out, 1 << 16)
        if not chunk:
            raise self._failure()
        self._buffer += chunk

    def _readline(self) -> bytes:
        start = 0
        while (end := self._buffer.find(b"\n", start)) == -1:
            start = len(self._buffer)
            self._fill()
        line = bytes(self._buffer[: end + 1])
        del self._buffer[: end + 1]
        return line

    def _read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._fill()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def get(self, names: list[str]) -> list[GitObject | None]:
        """The objects named (None for each one that does not exist), in the order asked."""
        if any(not name or "\n" in name for name in names):
            raise ValueError("object names must be non-empty single lines")
        request = memoryview("".join(f"{name}\n" for name in names).encode())
        try:
            while request:
                request = request[os.write(self._in, request) :]
        except OSError:
            raise self._failure() from None
        found: list[GitObject | None] = []
        for _ in names:
            header = self._readline()
            match = _FOUND.match(header)
            if match:
                found.append(
                    GitObject(match[1].decode(), match[2].decode(), self._read(int(match[3]) + 1)[:-1])
                )
            elif header.endswith((b" missing\n", b" ambiguous\n")):
                found.append(None)
            else:
                raise self._failure()
        return found


# Commits


@dataclass(frozen=True, slots=True)
class CommitInfo:
    """The header of a commit object: parent shas, committer time (epoch seconds), author."""

    parents: tuple[str, ...]
    time: int
    author_name: str
    author_email: str


def _split_ident(raw: bytes, encoding: str) -> tuple[str, str, int]:
    """``Name <email> 1700000000 +0100`` -> (name, email, epoch seconds)."""
    try:
        text = raw.decode(encoding, "replace")
    except LookupError:
        text = raw.decode("utf-8", "replace")
    lt, gt = text.find("<"), text.rfind(">")
    if lt == -1 or gt < lt:
        return text.strip(), "", 0
    when = text[gt + 1 :].split()
    seconds = int(when[0]) if when and when[0].isdigit() else 0
    return text[:lt].strip(), text[lt + 1 : gt].strip(), seconds


def parse_commit(data: bytes) -> CommitInfo:
    """Parse a raw commit object (as ``git cat-file commit`` prints it)."""
    header = data.split(b"\n\n", 1)[0]
    parents: list[str] = []
    author = committer = b""
    encoding = "utf-8"
    for line in header.split(b"\n"):
        if line.startswith(b"parent "):
            parents.append(line[7:].decode("ascii"))
        elif line.startswith(b"author "):
            author = line[7:]
        elif line.startswith(b"committer "):
            committer = line[10:]
        elif line.startswith(b"encoding "):
            encoding = line[9:].decode("ascii", "replace").strip()
    name, email, _ = _split_ident(author, encoding)
    _, _, seconds = _split_ident(committer, encoding)
    return CommitInfo(tuple(parents), seconds, name, email)


def _utc(seconds: int) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, ValueError, OSError):
        return datetime.fromtimestamp(0, UTC)


class _Tally:
    """Commits per author (e-mail lowercased) in the two windows, keeping the name of their newest commit.

    Built by ``count`` from the commits walked over the longer window: like ``git log --since``, a window
    holds the commits reachable from the tip through commits of that window only (a commit before the
    window's start hides its parents, whatever their dates).
    """

    def __init__(self) -> None:
        self.count = 0  # commits of the activity window
        self.window: dict[str, list[Any]] = {}  # email -> [commits, newest time, name]
        self.authorship: dict[str, list[Any]] = {}

    @classmethod
    def count(cls, commits: dict[str, CommitInfo], tip: str, since: int, authors_since: int) -> _Tally:
        """Tally ``commits`` (sha -> info, those walked) from ``tip`` for the windows starting at ``since``
        and ``authors_since`` (epoch seconds)."""
        tally = cls()
        for sha in _reachable(commits, tip, since):
            info = commits[sha]
            tally.count += 1
            _add(tally.window, info.time, info.author_name, info.author_email.lower())
        for sha in _reachable(commits, tip, authors_since):
            info = commits[sha]
            _add(tally.authorship, info.time, info.author_name, info.author_email.lower())
        return tally

    @staticmethod
    def _ranked(authors: dict[str, list[Any]], limit: int | None) -> tuple[Author, ...]:
        ranked = sorted(authors.items(), key=lambda item: (-item[1][0], item[1][2], item[0]))
        return tuple(Author(name=v[2], email=email, commits=v[0]) for email, v in ranked[:limit])

    def top(self) -> tuple[Author, ...]:
        """The activity window's ``TOP_AUTHORS`` most frequent authors, most commits first."""
        return self._ranked(self.window, TOP_AUTHORS)

    def authors(self) -> tuple[Author, ...]:
        """Every author of the authorship window, most commits first."""
        return self._ranked(self.authorship, None)


def _add(authors: dict[str, list[Any]], seconds: int, name: str, email: str) -> None:
    entry = authors.get(email)
    if entry is None:
        authors[email] = [1, seconds, name]
    else:
        entry[0] += 1
        if seconds > entry[1]:
            entry[1:] = [seconds, name]


def _reachable(commits: dict[str, CommitInfo], tip: str, since: int) -> list[str]:
    """The shas of ``commits`` reachable from ``tip`` through commits with time >= ``since`` only."""
    found: list[str] = []
    stack = [tip] if tip in commits and commits[tip].time >= since else []
    seen = set(stack)
    while stack:
        sha = stack.pop()
        found.append(sha)
        for parent in commits[sha].parents:
            info = commits.get(parent)
            if info is not None and parent not in seen and info.time >= since:
                seen.add(parent)
                stack.append(parent)
    return found


def _walk_window(
    batch: CatFile, tip: str, info: CommitInfo, since: int, shallow: Callable[[], set[str]]
) -> dict[str, CommitInfo] | None:
    """The commits reachable from ``tip`` with committer time >= ``since`` (sha -> info), as
    ``git log --since`` walks them.

    Like git, commits are taken newest first and the parents of a commit older than ``since`` are not
    followed. Returns None when the window holds more than WALK_LIMIT commits, or looks like it will by
    the pace of its first WALK_PROBE commits.
    """
    walked: dict[str, CommitInfo] = {}
    queue = [(-info.time, tip)]
    infos = {tip: info}
    seen = {tip}
    while queue:
        _, sha = heapq.heappop(queue)
        commit = infos.pop(sha)
        if commit.time < since:
            continue
        if len(walked) >= WALK_LIMIT:
            return None
        walked[sha] = commit
        if len(walked) == WALK_PROBE:
            probed = max(info.time - commit.time, 1)  # seconds spanned by the first WALK_PROBE commits
            if WALK_PROBE * (info.time - since) > 2 * WALK_LIMIT * probed:
                return None
        parents = [p for p in commit.parents if p not in seen]
        if not parents or sha in shallow():
            continue
        seen.update(parents)
        for parent, obj in zip(parents, batch.get(parents), strict=True):
            if obj is None or obj.type != "commit":
                raise GitError(f"commit {parent} (a parent of {sha}) is missing: the repository is corrupt")
            infos[parent] = parse_commit(obj.data)
            heapq.heappush(queue, (-infos[parent].time, parent))
    return walked


def _log_window(git_dir: str, tip: str, since: int, *, env: dict[str, str]) -> dict[str, CommitInfo]:
    """The same commits as ``_walk_window``, by ``git log --since`` (for busy repositories)."""
    since_iso = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    out = run_git(
        git_dir,
        "-c",
        "log.showSignature=false",
        "log",
        f"--since={since_iso}",
        "--format=%H%x00%P%x00%ct%x00%ae%x00%an",
        tip,
        "--",
        timeout=LOCAL_TIMEOUT,
        env=env,
    )
    commits: dict[str, CommitInfo] = {}
    for line in out.decode("utf-8", "replace").splitlines():
        sha, parents, seconds, email, name = line.split("\0", 4)
        commits[sha] = CommitInfo(tuple(parents.split()), int(seconds), name, email)
    return commits


# Descriptors


class CommitReader:
    """A ``DescriptorReader`` over the tree of one commit: ``read`` via cat-file, ``glob`` via ls-tree.

    Paths are posix paths relative to the repository root. ``read`` raises FileNotFoundError for a path
    that is absent, not a file, or outside the root.
    """

    def __init__(self, batch: CatFile, git_dir: str, commit: str, *, env: dict[str, str]) -> None:
        self._batch, self._git_dir, self._commit, self._env = batch, git_dir, commit, env
        self._blobs: dict[str, bytes | None] = {}
        self._listings: dict[str, list[str]] = {}

    def prefetch(self, paths: Iterable[str]) -> list[str]:
        """Read ``paths`` in one round trip; return those that are files, in the order given."""
        asked = [p for p in dict.fromkeys(normalize_path(p) for p in paths) if p]
        wanted = [p for p in asked if p not in self._blobs]
        for path, obj in zip(wanted, self._batch.get([f"{self._commit}:{p}" for p in wanted]), strict=True):
            self._blobs[path] = obj.data if obj and obj.type == "blob" else None
        return [p for p in asked if self._blobs[p] is not None]

    def read(self, path: str) -> str:
        rel = normalize_path(path)
        if rel is None:
            raise FileNotFoundError(f"{path}: outside the repository")
        if rel not in self._blobs:
            self.prefetch([rel])
        blob = self._blobs[rel]
        if blob is None:
            raise FileNotFoundError(f"{path}: not in commit {self._commit[:12]}")
        return blob.decode("utf-8")  # a UnicodeDecodeError becomes the file's error in load_tree

    def glob(self, pattern: str) -> list[str]:
        rel = normalize_path(pattern)
        if rel is None:
            return []
        prefix = glob_prefix(rel)
        if prefix not in self._listings:
            args = ["ls-tree", "-r", "--name-only", "-z", "--full-tree", self._commit]
            out = run_git(
                self._git_dir,
                *args,
                *(["--", prefix] if prefix else []),
                timeout=LOCAL_TIMEOUT,
                env=self._env,
            )
            self._listings[prefix] = [p for p in out.decode("utf-8", "replace").split("\0") if p]
        regex = glob_regex(rel)
        return sorted(p for p in self._listings[prefix] if regex.match(p))


# Local repositories


@dataclass(frozen=True)
class LocalRepository:
    """A repository on disk: ``path`` as found (absolute), its git dir, common dir, whether bare, and
    whether a scan reached it through a symbolic link (the same repository found directly is preferred).
    """

    path: str
    git_dir: str
    common_dir: str
    bare: bool
    linked: bool = False


def repository_at(path: str) -> LocalRepository | None:
    """The repository whose top is ``path`` (a working tree with a ``.git`` dir or file, or a bare one)."""
    dotgit = os.path.join(path, ".git")
    if os.path.isdir(dotgit):
        git_dir, bare = dotgit, False
    elif os.path.isfile(dotgit):
        try:
            with open(dotgit, encoding="utf-8") as handle:
                line = handle.readline().strip()
        except (OSError, UnicodeDecodeError):
            line = ""
        if not line.startswith("gitdir:"):
            git_dir = dotgit  # unreadable: reading it will name the problem
        else:
            git_dir = os.path.normpath(os.path.join(path, line[len("gitdir:") :].strip()))
        bare = False
    elif (
        os.path.isfile(os.path.join(path, "HEAD"))
        and os.path.isdir(os.path.join(path, "objects"))
        and os.path.isdir(os.path.join(path, "refs"))
    ):
        git_dir, bare = path, True
    else:
        return None
    common_dir = git_dir
    with contextlib.suppress(OSError, UnicodeDecodeError), open(os.path.join(git_dir, "commondir")) as handle:
        common_dir = os.path.normpath(os.path.join(git_dir, handle.read().strip()))
    return LocalRepository(os.path.abspath(path), git_dir, common_dir, bare)


def find_repositories(root: str, max_depth: int) -> tuple[list[LocalRepository], list[str]]:
    """The repositories at ``root`` or up to ``max_depth`` levels below it, and errors.

    Found repositories are not descended into. Symbolic links are followed, but no directory is scanned
    twice (loops are skipped); a repository reached through a link is marked ``linked``. An error
    (``root`` missing, a directory that cannot be listed) means the list may be incomplete.
    """
    root = os.path.abspath(root)
    if not os.path.exists(root):
        return [], [f"{root}: no such directory"]
    if not os.path.isdir(root):
        return [], [f"{root}: not a directory"]
    if not os.access(root, os.R_OK | os.X_OK):
        return [], [f"{root}: not readable"]
    found = repository_at(root)
    if found:
        return [found], []
    repositories: list[LocalRepository] = []
    errors: list[str] = []
    visited = {os.path.realpath(root)}

    def scan(directory: str, depth: int, linked: bool) -> None:
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            errors.append(f"{directory}: cannot be listed ({exc.strerror or exc})")
            return
        for entry in entries:
            try:
                if not entry.is_dir():
                    continue
                via_link = linked or entry.is_symlink()
            except OSError:
                continue
            repository = repository_at(entry.path)
            if repository:
                repositories.append(replace(repository, linked=via_link))
                continue
            real = os.path.realpath(entry.path)
            if real not in visited and depth + 1 < max_depth:
                visited.add(real)
                scan(entry.path, depth + 1, via_link)

    if max_depth > 0:
        scan(root, 0, False)
    return repositories, errors


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise GitError(f"cannot read {path}: {exc.strerror or exc}") from exc


class _Refs:
    """Reads HEAD-like symbolic refs from their files (no process), or through git for the reftable store."""

    def __init__(self, repo: LocalRepository, env: dict[str, str]) -> None:
        self.repo, self.env = repo, env
        head_file = os.path.join(repo.git_dir, "HEAD")
        self.head = _read_text(head_file)
        if self.head is None:
            raise GitError(f"{head_file} is missing: not a git repository")
        self.reftable = self.head == "ref: refs/heads/.invalid"  # the reftable store's placeholder HEAD
        if self.reftable:
            self.head = self.symref("HEAD") or "(detached)"

    def symref(self, name: str) -> str | None:
        """What ``name`` holds: ``"ref: <target>"``, a sha, or None when it is not a symbolic ref here."""
        if not self.reftable:
            return _read_text(os.path.join(self.repo.common_dir, name))
        try:
            target = run_git(
                self.repo.git_dir, "symbolic-ref", "-q", name, timeout=LOCAL_TIMEOUT, env=self.env
            )
        except GitError:
            return None
        return f"ref: {target.decode().strip()}"

    def exists(self, ref: str) -> bool:
        """Whether the ref ``ref`` exists (even if the object it names does not)."""
        if self.reftable:
            try:
                run_git(
                    self.repo.git_dir, "show-ref", "--verify", "-q", ref, timeout=LOCAL_TIMEOUT, env=self.env
                )
            except GitError:
                return False
            return True
        if os.path.isfile(os.path.join(self.repo.common_dir, ref)):
            return True
        packed = _read_text(os.path.join(self.repo.common_dir, "packed-refs")) or ""
        return any(line.endswith(f" {ref}") for line in packed.splitlines())


def _branch_candidates(refs: _Refs) -> list[tuple[str, str, str | None]]:
    """Where the default branch may be, best first: (revision, branch name, ref that must then exist).

    The ref is None when the revision must exist (a detached HEAD).
    """
    candidates: list[tuple[str, str, str | None]] = []
    if not refs.repo.bare:
        origin = refs.symref("refs/remotes/origin/HEAD") or ""
        if origin.startswith("ref: refs/remotes/origin/"):
            target = origin[len("ref: ") :]
            candidates.append(
                ("refs/remotes/origin/HEAD", target.removeprefix("refs/remotes/origin/"), target)
            )
    head = refs.head or ""
    if head.startswith("ref: "):
        target = head[len("ref: ") :]
        candidates.append(("HEAD", target.removeprefix("refs/heads/"), target))
    else:
        candidates += [
            ("refs/heads/main", "main", "refs/heads/main"),
            ("refs/heads/master", "master", "refs/heads/master"),
        ]
        candidates.append(("HEAD", "", None))
    return candidates


def _origin_url(repo: LocalRepository) -> str | None:
    """``remote.origin.url`` from the repository's config file (includes are not followed)."""
    try:
        text = _read_text(os.path.join(repo.common_dir, "config")) or ""
    except GitError:
        return None
    section: tuple[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            match = re.match(r'\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]', line)
            if not match:
                section = None
            elif match[2] is not None:
                section = (match[1].lower(), re.sub(r"\\(.)", r"\1", match[2]))
            else:
                name, _, sub = match[1].partition(".")
                section = (name.lower(), sub.lower())
            continue
        key, equals, value = line.partition("=")
        if section == ("remote", "origin") and equals and key.strip().lower() == "url":
            return _config_value(value)
    return None


def _config_value(value: str) -> str:
    out, quoted, i = [], False, 0
    value = value.strip()
    while i < len(value):
        char = value[i]
        if char == '"':
            quoted = not quoted
        elif char == "\\" and i + 1 < len(value):
            i += 1
            out.append({"n": "\n", "t": "\t", "b": "\b"}.get(value[i], value[i]))
        elif char in "#;" and not quoted:
            break
        else:
            out.append(char)
        i += 1
    return "".join(out).strip()


# Reading one repository


@dataclass(frozen=True)
class _Identity:
    external_id: str
    url: str
    name: str
    host: str


@dataclass(frozen=True)
class _Run:
    """What every repository read of one fetch shares."""

    config: GitConfig
    since: int  # epoch seconds: the activity window's start
    authors_since: int  # epoch seconds: the authorship window's start
    env: dict[str, str]
    workdir: Path


def _local_identity(repo: LocalRepository) -> _Identity:
    path = repo.path
    base = os.path.basename(path)
    name = os.path.basename(os.path.dirname(path)) if base == ".git" else base.removesuffix(".git")
    return _Identity(external_id=path, url=path, name=name or path, host="")


def read_repository(
    repo: LocalRepository, identity: _Identity, run: _Run, *, timeout: float
) -> RepositoryRecord:
    """Read one repository's default branch; a repository git cannot read gives a record with ``error``."""
    base = {
        "external_id": identity.external_id,
        "url": identity.url,
        "name": identity.name,
        "host": identity.host,
        "window_days": run.config.window_days,
        "authors_days": run.config.authors_days,
    }
    try:
        with CatFile(repo.git_dir, timeout=timeout, env=run.env) as batch:
            facts = _read_facts(repo, batch, run)
            if run.config.holds_scorecards(identity):
                facts["scorecards"] = _read_scorecards(batch, facts, identity, run.config.scorecards_path)
    except GitError as exc:
        return RepositoryRecord(**base, error=f"{identity.external_id}: {exc}")
    return RepositoryRecord(**base, **facts)


def _read_facts(repo: LocalRepository, batch: CatFile, run: _Run) -> dict[str, Any]:
    refs = _Refs(repo, run.env)
    candidates = _branch_candidates(refs)
    objects = batch.get([revision for revision, _, _ in candidates])
    for (revision, branch, ref), obj in zip(candidates, objects, strict=True):  # noqa: B007 (used after)
        if obj is None:
            if ref is None or refs.exists(ref):
                raise GitError(
                    f"{ref or revision} points at a commit that is missing: the repository is corrupt"
                )
            continue
        if obj.type != "commit":
            raise GitError(f"{revision} is a {obj.type}, not a commit")
        break
    else:  # no commits yet
        return {"default_branch": candidates[0][1]}

    tip = parse_commit(obj.data)
    last_commit = Commit(obj.sha, _utc(tip.time), tip.author_name, tip.author_email)
    reader = CommitReader(batch, repo.git_dir, obj.sha, env=run.env)
    roots = reader.prefetch(run.config.descriptor_paths)
    descriptors = backstage.load_tree(reader, roots) if roots else []

    tally = _Tally()
    since = min(run.since, run.authors_since)
    if tip.time >= since:
        shallow_file = os.path.join(repo.common_dir, "shallow")
        shallow_set: list[set[str]] = []

        def shallow() -> set[str]:
            if not shallow_set:
                shallow_set.append(set((_read_text(shallow_file) or "").split()))
            return shallow_set[0]

        walked = _walk_window(batch, obj.sha, tip, since, shallow)
        if walked is None:
            walked = _log_window(repo.git_dir, obj.sha, since, env=run.env)
        tally = _Tally.count(walked, obj.sha, run.since, run.authors_since)
    return {
        "default_branch": branch,
        "last_commit": last_commit,
        "commits_in_window": tally.count,
        "top_authors": tally.top(),
        "authors": tally.authors(),
        "descriptors": tuple(descriptors),
    }


def _read_scorecards(
    batch: CatFile, facts: dict[str, Any], identity: _Identity, path: str
) -> ScorecardsFileRecord:
    """The scorecards file at ``path`` in the default branch's commit (``facts`` from ``_read_facts``)."""
    location = f"{identity.url}@{facts.get('default_branch') or 'HEAD'}:{path}"
    last = facts.get("last_commit")
    obj = batch.get([f"{last.sha}:{path}"])[0] if last else None
    if obj is None:
        return ScorecardsFileRecord(path, location, error="no such file on the default branch")
    if obj.type != "blob":
        return ScorecardsFileRecord(path, location, error=f"is a {obj.type}, not a file")
    try:
        return ScorecardsFileRecord(path, location, text=obj.data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return ScorecardsFileRecord(path, location, error=f"is not UTF-8 text: {exc}")


def _read_local(repo: LocalRepository, run: _Run) -> RepositoryRecord:
    identity = _local_identity(repo)
    origin = None if repo.bare else _origin_url(repo)
    if origin:
        shown = redact(origin)
        identity = _Identity(identity.external_id, shown, identity.name, url_host(origin))
    return read_repository(repo, identity, run, timeout=LOCAL_TIMEOUT)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created), so two syncs never fetch into one mirror at once."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def update_mirror(url: str, mirror: Path, *, env: dict[str, str]) -> None:
    """Clone ``url`` into ``mirror`` (a partial, bare mirror), or fetch into it when it exists.

    Raises GitError with git's message; a failed fetch leaves the mirror as it was, a failed clone
    leaves nothing.
    """
    mirror.parent.mkdir(parents=True, exist_ok=True)
    with _locked(mirror.with_suffix(".lock")):
        if (mirror / "HEAD").is_file():
            run_git(
                mirror,
                "fetch",
                "--prune",
                "--filter=blob:none",
                "--quiet",
                "origin",
                timeout=NETWORK_TIMEOUT,
                env=env,
            )
            _follow_remote_head(mirror, env=env)
            return
        if mirror.exists():  # the leftover of an interrupted run, not a repository
            shutil.rmtree(mirror)
        scratch = tempfile.mkdtemp(prefix=f".{mirror.name}.", dir=mirror.parent)
        try:
            run_git(
                None,
                "clone",
                "--mirror",
                "--filter=blob:none",
                "--quiet",
                "--",
                url,
                scratch,
                timeout=NETWORK_TIMEOUT,
                env=env,
            )
            os.rename(scratch, mirror)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise


def _follow_remote_head(mirror: Path, *, env: dict[str, str]) -> None:
    """Point the mirror's HEAD where the remote's points now (fetch never moves it: a renamed default
    branch would otherwise leave HEAD on a stale or pruned branch). Best effort: the fetch already worked.
    """
    try:
        out = run_git(mirror, "ls-remote", "--symref", "origin", "HEAD", timeout=NETWORK_TIMEOUT, env=env)
        target = next(
            (
                line[len("ref: ") : -len("\tHEAD")]
                for line in out.decode("utf-8", "replace").splitlines()
                if line.startswith("ref: refs/heads/") and line.endswith("\tHEAD")
            ),
            None,
        )
        if target and _read_text(str(mirror / "HEAD")) != f"ref: {target}":
            run_git(mirror, "symbolic-ref", "HEAD", target, timeout=LOCAL_TIMEOUT, env=env)
    except GitError as exc:
        logger.warning("git connector: the default branch of %s was not refreshed: %s", mirror, exc)


def _remote_identity(url: str) -> _Identity:
    shown = redact(url)
    return _Identity(external_id=shown, url=shown, name=url_name(url), host=url_host(url))


def _read_remote(url: str, run: _Run) -> RepositoryRecord:
    identity = _remote_identity(url)
    mirror = mirror_path(run.workdir, url)
    try:
        update_mirror(url, mirror, env=run.env)
    except GitError as exc:
        return RepositoryRecord(
            external_id=identity.external_id,
            url=identity.url,
            name=identity.name,
            host=identity.host,
            window_days=run.config.window_days,
            error=f"fetching {identity.url} failed: {_redact_secrets(str(exc), url)}",
        )
    repo = LocalRepository(str(mirror), str(mirror), str(mirror), bare=True)
    return read_repository(repo, identity, run, timeout=NETWORK_TIMEOUT)


def _guarded(identity: _Identity, job: Callable[[], RepositoryRecord], window_days: int) -> RepositoryRecord:
    """Run one repository's job; a bug there fails that repository, not the whole source."""
    try:
        return job()
    except Exception as exc:
        logger.exception("git connector: reading %s failed", identity.external_id)
        return RepositoryRecord(
            external_id=identity.external_id,
            url=identity.url,
            name=identity.name,
            host=identity.host,
            window_days=window_days,
            error=f"{identity.external_id}: unexpected error: {exc!r}",
        )


class GitConnector:
    """Reads the repositories of a ``git`` source (see the module docstring for the config)."""

    kind = "git"

    def fetch(self, config: dict[str, Any], *, workdir: Path, now: datetime | None = None) -> SourceSnapshot:
        """Read every configured repository; return them sorted by ``external_id``.

        ``workdir`` holds the mirrors of remote repositories (``workdir/mirrors``); ``now`` (an aware
        datetime, default the current UTC time) ends the windows of ``window_days`` and ``authors_days``
        days. A configured path that is missing or unreadable is a source-level error (``complete=False``);
        a repository that cannot be fetched or read is a record with ``error``. Raises ValueError for a
        bad config or a naive ``now``.
        """
        settings = parse_config(config)
        now = datetime.now(UTC) if now is None else now
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        since = now - timedelta(days=settings.window_days)
        authors_since = now - timedelta(days=settings.authors_days)
        run = _Run(settings, int(since.timestamp()), int(authors_since.timestamp()), git_env(), Path(workdir))

        errors: list[str] = []
        jobs: list[tuple[_Identity, Callable[[], RepositoryRecord]]] = []
        found: dict[
            str, LocalRepository
        ] = {}  # by real path: each repository once, found directly if it can be
        for path in settings.paths:
            repositories, problems = find_repositories(path, settings.max_depth)
            errors += problems
            for repo in repositories:
                real = os.path.realpath(repo.path)
                if real not in found or (found[real].linked and not repo.linked):
                    found[real] = repo
        for repo in found.values():
            jobs.append((_local_identity(repo), lambda repo=repo: _read_local(repo, run)))
        for url in settings.urls:
            jobs.append((_remote_identity(url), lambda url=url: _read_remote(url, run)))

        records: list[RepositoryRecord] = []
        if jobs:
            with ThreadPoolExecutor(max_workers=min(WORKERS, len(jobs))) as pool:
                records = list(pool.map(lambda job: _guarded(*job, settings.window_days), jobs))
        return SourceSnapshot(
            repositories=tuple(sorted(records, key=lambda r: r.external_id)),
            errors=tuple(errors),
            complete=not errors,
        )


connector = GitConnector()
