"""Which addresses a source may read: remote URLs by scheme, and local paths only where allowed.

A source's config names what its connector reads. Whatever the kind, every string under a key named
``url``, ``urls``, ``uri`` or ending in ``_url`` / ``_uri`` (at any depth) must be:

- for a ``git`` source, an ``https://``, ``http://``, ``ssh://``, ``git://`` (or ``git+ssh://``) URL with
  a host, or a scp-like git address (``git@host:org/repo.git``) under ``urls``; for the other kinds (an
  API or a tracking server), an ``https://`` or ``http://`` URL with a host;
- without a password (``https://user:token@host``): secrets live in environment variables, which a
  config names (``token_env``), never in the config itself.

Local paths (``paths`` of ``git`` and ``file`` sources, ``file://`` URLs) are read only when
``settings.PORTAL["ALLOW_LOCAL_PATHS"]`` is on: the laptop's default, off in production (the workers would
otherwise read any folder of their container that an admin names).

``check_source_config`` raises Django's ValidationError on field ``config``, naming the key and the entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

REMOTE_SCHEMES = frozenset({"https", "http", "ssh", "git", "git+ssh", "ssh+git"})
HTTP_SCHEMES = frozenset({"https", "http"})
URL_KEY = re.compile(r"^(urls?|uri|.*_(url|uri))$")
LOCAL_PATH_KEYS = frozenset({"paths"})
LOCAL_KINDS = frozenset({"git", "file"})  # the kinds whose "paths" name directories on this machine
_SCP_LIKE = re.compile(r"^(?:[^@/\s]+@)?[A-Za-z0-9._-]+:(?!//)[^\s]+$")


def check_source_config(kind: str, config: Any) -> None:
    """Raise ValidationError({"config": [...]}) listing every address ``config`` may not name."""
    if not isinstance(config, dict):
        return  # the connector's own validation names the shape it wants
    allow_local = settings.PORTAL["ALLOW_LOCAL_PATHS"]
    problems = []
    for where, key, value in _strings(config):
        if URL_KEY.match(key):
            problem = url_problem(
                value,
                scp_like=kind == "git" and key == "urls",
                allow_local=allow_local,
                schemes=REMOTE_SCHEMES if kind == "git" else HTTP_SCHEMES,
            )
            if problem:
                problems.append(f"{where}: {_shown(value)!r} {problem}")
        elif key in LOCAL_PATH_KEYS and kind in LOCAL_KINDS and not allow_local:
            problems.append(
                f"{where}: {value!r}: local paths are not allowed here (PORTAL_ALLOW_LOCAL_PATHS is off): "
                "name a remote URL instead"
            )
    if problems:
        raise ValidationError({"config": problems})


def url_problem(
    url: str, *, scp_like: bool = False, allow_local: bool = True, schemes: frozenset[str] = REMOTE_SCHEMES
) -> str | None:
    """What is wrong with ``url`` as an address to read (its scheme one of ``schemes``), or None when it
    may be read."""
    url = url.strip()
    if scp_like and "://" not in url and _SCP_LIKE.match(url) and not url.startswith(("-", "/")):
        return None
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        return None if allow_local else "is a local file URL (PORTAL_ALLOW_LOCAL_PATHS is off)"
    if scheme not in schemes:
        *others, last = [f"{s}://" for s in sorted(schemes)] + (["user@host:path"] if scp_like else [])
        allowed = f"{', '.join(others)} or {last}" if others else last
        return f"must be a URL with one of the schemes {allowed}"
    if not parts.hostname:
        return "has no host"
    if parts.password is not None:
        return "holds a password: put secrets in an environment variable and name it in the config"
    return None


def _strings(value: Any, where: str = "config", key: str = "") -> Iterator[tuple[str, str, str]]:
    """(where, key, string) for every string in ``value``; ``where`` is a path like ``config.urls[2]``."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _strings(item, f"{where}.{name}", str(name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]", key)
    elif isinstance(value, str):
        yield where, key, value


def _shown(url: str) -> str:
    """``url`` with any password hidden, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)
