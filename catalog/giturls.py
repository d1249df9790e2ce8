"""Git remote URLs: one key per repository whatever form names it, and its web address.

A repository is named in many forms: ``https://github.com/Org/Repo.git``, ``git@github.com:org/repo``,
``ssh://git@github.com:22/org/repo.git``, ``https://user:token@github.com/org/repo/``. ``repository_key``
maps them all to ``github.com/org/repo``, so an MLflow run's ``mlflow.source.git.repoURL`` matches the
repository the catalog read. Spec of the forms: git-clone(1), "GIT URLS".
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import urlsplit

_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")
_SCP_LIKE = re.compile(r"^(?:[^@/\s]+@)?(?P<host>[A-Za-z0-9._-]+):(?P<path>[^/].*|/.+)$")
_REMOTE_SCHEMES = frozenset({"https", "http", "ssh", "git", "git+ssh", "ssh+git"})


def _host_and_path(url: str) -> tuple[str, str] | None:
    """(host lowercased, path without slashes at either end or ``.git``) of a remote URL, else None."""
    url = url.strip()
    match = _SCHEME.match(url)
    if match:
        if match["scheme"].lower() not in _REMOTE_SCHEMES:
            return None
        parts = urlsplit(url)
        host, path = (parts.hostname or "").lower(), parts.path
    else:
        match = _SCP_LIKE.match(url)
        if not match or url.startswith("/"):
            return None
        host, path = match["host"].lower(), match["path"]
    path = path.strip("/").removesuffix(".git").rstrip("/")
    return (host, path) if host and path else None


def repository_key(url: str) -> str:
    """The key that names one repository in any URL form: ``host/path`` lowercased for a remote, the
    normalised absolute path for a local repository or ``file://`` URL; '' for an empty URL.
    """
    remote = _host_and_path(url)
    if remote:
        return "/".join(remote).lower()
    url = url.strip()
    if url.lower().startswith("file://"):
        url = urlsplit(url).path
    if not url:
        return ""
    path = posixpath.normpath(url).removesuffix("/.git").removesuffix(".git")
    return path


def web_url(url: str) -> str:
    """The web address of a remote (``git@host:org/repo.git`` -> ``https://host/org/repo``); '' for local
    paths. Credentials and ssh ports are dropped; an ``http://`` remote keeps its scheme.
    """
    remote = _host_and_path(url)
    if not remote:
        return ""
    host, path = remote
    scheme = "http" if url.strip().lower().startswith("http://") else "https"
    return f"{scheme}://{host}/{path}"


def commit_url(repo_url: str, sha: str) -> str:
    """A web link to commit ``sha`` of the repository at ``repo_url`` ('' when either is unknown).

    ``/commit/<sha>`` is understood by GitHub, GitLab, Gitea and Forgejo alike.
    """
    base = web_url(repo_url)
    return f"{base}/commit/{sha}" if base and sha else ""
