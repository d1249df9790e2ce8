"""The ``file`` connector: Backstage descriptor files read from disk (Backstage's ``file`` locations).

Config (a plain dict, from the source's JSON): ``{"paths": [str, ...]}``, each a descriptor file on disk
(a ``catalog-info.yaml`` or a file holding a Location entity). Each file is read with the directory that
holds it as its root: Location targets are followed relative to the file and may not leave that root.
Spec of the format: https://backstage.io/docs/features/software-catalog/descriptor-format

Also holds ``glob_regex``, the glob dialect of every ``DescriptorReader`` here (the git connector's too).
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from catalog.connectors.records import DescriptorFile, SourceSnapshot
from catalog.descriptors import backstage  # the module, not names: backstage imports this package

__all__ = ["DirectoryReader", "FileConnector", "glob_regex", "normalize_path", "parse_config"]

KNOWN_KEYS = frozenset({"paths"})


def parse_config(config: dict[str, Any]) -> list[str]:
    """Validate a ``file`` source config; return its paths, made absolute.

    Raises ValueError naming the bad key (unknown keys included).
    """
    if not isinstance(config, dict):
        raise ValueError(f"file source config must be a JSON object, not {type(config).__name__}")
    unknown = sorted(set(config) - KNOWN_KEYS)
    if unknown:
        raise ValueError(f"file source config: unknown key {unknown[0]!r} (known: paths)")
    paths = config.get("paths", [])
    if not isinstance(paths, list) or not all(isinstance(p, str) and p.strip() for p in paths):
        raise ValueError("file source config: 'paths' must be a list of non-empty strings")
    return [os.path.abspath(os.path.expanduser(p.strip())) for p in paths]


def normalize_path(path: str) -> str | None:
    """Return ``path`` as a normalised posix path relative to a root, or None if it leaves the root.

    ``./a/../b.yaml`` gives ``b.yaml``; absolute paths, ``..`` escapes, empty paths and paths with a
    newline or NUL give None.
    """
    if not path or "\n" in path or "\0" in path or path.startswith("/"):
        return None
    norm = posixpath.normpath(path)
    if norm in (".", "..") or norm.startswith("../"):
        return None
    return norm


@lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a glob over posix paths relative to a root into a regex matching whole paths.

    ``*`` and ``?`` never cross ``/``; ``[...]`` is a character class (``[!...]`` negated); a ``**``
    segment matches zero or more directories. Dot files are matched like any other (as ``pathlib``).
    """
    norm = posixpath.normpath(pattern.lstrip("/")) if pattern else ""
    parts: list[str] = []
    segments = norm.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            parts.append(".*" if last else "(?:[^/]+/)*")
            continue
        parts.append(_segment_regex(segment) + ("" if last else "/"))
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


def _segment_regex(segment: str) -> str:
    out, i = [], 0
    while i < len(segment):
        char = segment[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = segment.find("]", i + 2 if segment[i + 1 : i + 2] in ("!", "]") else i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = segment[i + 1 : end]
                negate = body.startswith("!")
                body = body[1:] if negate else body
                body = body.replace("\\", "\\\\").replace("^", "\\^")
                out.append(f"[{'^/' if negate else ''}{body}]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def glob_prefix(pattern: str) -> str:
    """The leading directories of ``pattern`` that hold no wildcard (``''`` when the first one does)."""
    segments = posixpath.normpath(pattern).split("/")[:-1]
    literal = []
    for segment in segments:
        if any(c in segment for c in "*?["):
            break
        literal.append(segment)
    return "/".join(literal)


class DirectoryReader:
    """A ``DescriptorReader`` over the files under ``root`` on disk; nothing outside ``root`` is read.

    Paths are posix paths relative to ``root``. ``read`` raises FileNotFoundError for a path that is
    absent, not a regular file, or outside the root (symbolic links are resolved first).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.path.realpath(root)

    def _resolve(self, path: str) -> str | None:
        rel = normalize_path(path)
        if rel is None:
            return None
        full = os.path.realpath(os.path.join(self.root, rel))
        if full != self.root and not full.startswith(self.root + os.sep):
            return None
        return full

    def read(self, path: str) -> str:
        full = self._resolve(path)
        if full is None:
            raise FileNotFoundError(f"{path}: outside the source root {self.root}")
        if not os.path.isfile(full):
            raise FileNotFoundError(f"{path}: no such file")
        with open(full, encoding="utf-8") as handle:  # a UnicodeDecodeError becomes the file's error
            return handle.read()

    def glob(self, pattern: str) -> list[str]:
        rel_pattern = normalize_path(pattern)
        if rel_pattern is None:
            return []
        regex = glob_regex(rel_pattern)
        prefix = glob_prefix(rel_pattern)
        start = self._resolve(prefix) if prefix else self.root
        if start is None or not os.path.isdir(start):
            return []
        found = []
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = sorted(d for d in dirnames if d != ".git")
            rel_dir = os.path.relpath(dirpath, self.root).replace(os.sep, "/")
            for filename in filenames:
                rel = filename if rel_dir == "." else f"{rel_dir}/{filename}"
                if regex.match(rel) and self._resolve(rel) is not None:
                    found.append(rel)
        return sorted(found)


class FileConnector:
    """Reads the descriptor files named by a ``file`` source's config; no repositories."""

    kind = "file"

    def fetch(self, config: dict[str, Any], *, workdir: Path | None = None) -> SourceSnapshot:
        """Read every configured file and the Location targets it reaches; ``workdir`` is unused.

        Returns ``SourceSnapshot(descriptors=...)``, paths relative to each file's directory. A missing
        or unreadable configured file, or two roots yielding the same relative path, is a source-level
        error and makes the snapshot incomplete. Raises ValueError for a bad config.
        """
        paths = parse_config(config)
        return read_files(paths)


def read_files(paths: Iterable[str]) -> SourceSnapshot:
    """Read descriptor files at the absolute ``paths`` (see ``FileConnector.fetch``)."""
    errors: list[str] = []
    by_path: dict[str, tuple[str, DescriptorFile]] = {}
    for path in dict.fromkeys(paths):
        if not os.path.isfile(path):
            errors.append(f"{path}: no such file" if not os.path.exists(path) else f"{path}: not a file")
            continue
        if not os.access(path, os.R_OK):
            errors.append(f"{path}: not readable")
            continue
        real = os.path.realpath(path)  # a linked file is read where it lives, its targets beside it
        root = os.path.dirname(real)
        for descriptor in backstage.load_tree(DirectoryReader(root), [os.path.basename(real)]):
            seen = by_path.get(descriptor.path)
            if seen is None:
                by_path[descriptor.path] = (root, descriptor)
            elif seen[0] != root:
                # Paths are relative to their root: two roots would make two files one in the catalog.
                errors.append(
                    f"{os.path.join(root, descriptor.path)}: has the same relative path as a file under "
                    f"{seen[0]}; give each directory its own source"
                )
    descriptors = tuple(d for _, (_, d) in sorted(by_path.items()))
    return SourceSnapshot(descriptors=descriptors, errors=tuple(errors), complete=not errors)


connector = FileConnector()
