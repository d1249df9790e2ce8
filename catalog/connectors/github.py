"""The ``github`` connector: an organization's or a user's repositories, read through GitHub's REST API.

Config: ``{"org": "octo-org"}`` or ``{"user": "octocat"}``, plus the keys of ``catalog.connectors.hosted``
(``api_url`` defaults to https://api.github.com; GitHub Enterprise Server uses ``https://HOST/api/v3``).

Per repository (API version 2022-11-28, https://docs.github.com/en/rest):

- the last commit **on the default branch** and the window's commits: ``GET /repos/{o}/{r}/commits``
  with ``sha=<default branch>&since=<window start>`` (``per_page=1`` without ``since`` when the window is
  empty); an empty repository (409) has none. Not ``pushed_at``, which moves with any branch.
- descriptors: the contents API at the default branch (a directory listing, then each file found; the
  git trees API only for a Location target that is a glob).
- the scorecards file, for the repository ``scorecards_repository`` names: the contents API at the
  default branch.
- pipelines: ``GET .../actions/workflows``, then the runs on the default branch
  (``GET .../actions/runs?branch=...``; for an active workflow missing from a full page, its own runs;
  without pull requests' runs, a fork's from a branch of that name included), and each workflow file for the
  reusable workflows its jobs call.

Every GET goes through ``catalog.connectors.http.ApiClient`` (ETags, pagination, rate limits, retries).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict
from urllib.parse import quote, urlsplit

from catalog.connectors import ci, hosted
from catalog.connectors.http import ApiClient, HttpCache, link_next_page
from catalog.connectors.records import (
    Commit,
    PipelineRecord,
    PipelineRunRecord,
    RepositoryRecord,
    SourceSnapshot,
)

__all__ = [
    "GitHubConnector",
    "connector",
    "on_own_branch",
    "owns",
    "parse_config",
    "run_record",
    "workflow_record",
]

DEFAULT_API_URL = "https://api.github.com"
PROVIDER = "github-actions"
SHAPES_VERSION = 2  # bump when a _shape function changes: cached answers of another are not used
WORKFLOW_DIR = ".github/workflows/"
MISSING_WORKFLOW_RUNS = 5  # runs read for an active workflow that had none in the repository's page


def parse_config(config: dict[str, Any]) -> hosted.HostedConfig:
    """Validate a ``github`` source config; raise ValueError naming the bad key."""
    return hosted.parse_config(
        config, kind="github", owner_keys=("org", "user"), default_api_url=DEFAULT_API_URL
    )


def make_client(settings: hosted.HostedConfig, cache: HttpCache | None) -> ApiClient:
    headers = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": "ml-portal",
    }
    if settings.token:
        headers["Authorization"] = f"Bearer {settings.token}"
    return ApiClient(
        settings.api_url,
        headers=headers,
        cache=cache,
        next_page=link_next_page,
        timeout=settings.timeout,
        cache_version=SHAPES_VERSION,
    )


# Shapes: what is kept of each answer (and so cached).


# Schemas: the fields read of GitHub's larger answers, for msgspec to decode (the rest is skipped unbuilt;
# a repository object is ~6 KB, a commit ~3 KB, a workflow run ~12 KB, of which a few fields are read).
_REPO_FIELDS = ("id", "name", "full_name", "html_url", "default_branch", "archived", "fork", "topics")
_Repo = TypedDict("_Repo", dict.fromkeys(_REPO_FIELDS, Any), total=False)  # type: ignore[misc]


class _CommitDetail(TypedDict, total=False):
    author: Any
    committer: Any


class _Commit(TypedDict, total=False):
    sha: Any
    commit: _CommitDetail


def _repo_shape(repo: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": repo["id"],
        "name": repo["name"],
        "full_name": repo["full_name"],
        "html_url": repo.get("html_url") or "",
        "default_branch": repo.get("default_branch") or "",
        "archived": bool(repo.get("archived")),
        "fork": bool(repo.get("fork")),
        "topics": list(repo.get("topics") or []),
    }


def _commit_shape(item: dict[str, Any]) -> dict[str, Any]:
    commit = item["commit"]
    author, committer = commit.get("author") or {}, commit.get("committer") or {}
    return {
        "sha": item["sha"],
        "author_name": author.get("name") or "",
        "author_email": author.get("email") or "",
        "committed_at": committer.get("date") or author.get("date"),
    }


def _listing_shape(body: Any) -> list[str]:
    if not isinstance(body, list):  # the path is a file, not a directory
        return []
    return [entry["name"] for entry in body if entry.get("type") in ("file", "symlink")]


def _file_shape(body: Any) -> dict[str, Any]:
    """A contents-API file as ``{"text"}``, or ``{"error"}`` when it is not a readable text file."""
    if isinstance(body, list) or body.get("type") != "file":
        return {"error": "is a directory" if isinstance(body, list) else f"is a {body.get('type')}"}
    if body.get("encoding") != "base64":
        return {"error": f"is too large to read through the API ({body.get('size')} bytes)"}
    try:
        return {"text": base64.b64decode(body.get("content") or "").decode("utf-8")}
    except (binascii.Error, UnicodeDecodeError) as exc:
        return {"error": f"is not UTF-8 text: {exc}"}


def _workflow_shape(wf: dict[str, Any]) -> dict[str, Any]:
    return {k: wf.get(k) for k in ("id", "name", "path", "state", "html_url")}


RUN_FIELDS = (
    "id",
    "workflow_id",
    "head_branch",
    "head_sha",
    "status",
    "conclusion",
    "run_number",
    "run_attempt",
    "event",
    "html_url",
    "created_at",
    "updated_at",
    "run_started_at",
    "head_repository",
)


class _HeadRepository(TypedDict, total=False):
    id: Any
    full_name: Any


_RUN_KEYS = frozenset(RUN_FIELDS)
_Run = TypedDict(  # type: ignore[misc]
    "_Run", {**dict.fromkeys(RUN_FIELDS, Any), "head_repository": _HeadRepository | None}, total=False
)


class _RunsPage(TypedDict, total=False):
    workflow_runs: list[_Run]


def _run_shape(run: dict[str, Any]) -> dict[str, Any]:
    if run.keys() == _RUN_KEYS:  # as _Run decodes a complete run: nothing to fill in
        return run
    return {k: run.get(k) for k in RUN_FIELDS}


# Records from GitHub's shapes (also used by the webhooks, whose payloads have the same fields).


def owns(owner: str, full_name: str) -> bool:
    """Whether the repository ``full_name`` (``owner/name``) belongs to the organization or user ``owner``;
    GitHub logins are case-insensitive."""
    return full_name.partition("/")[0].casefold() == owner.casefold()


def on_own_branch(run: dict[str, Any], repository: dict[str, Any]) -> bool:
    """Whether a workflow run (REST or webhook shape) ran for a branch of ``repository`` itself: not for a
    pull request (its ``event`` starts with ``pull_request``: it tests a merge, and ``GET
    .../actions/runs?branch=`` lists a fork's pull requests from a branch of that name too), and with
    ``head_repository`` the repository, compared by ``id``, else by ``full_name`` (case-insensitively).
    A run without ``event`` or ``head_repository`` (older payloads) counts.
    """
    if str(run.get("event") or "").startswith("pull_request"):
        return False
    head = run.get("head_repository")
    if not head:
        return True
    if head.get("id") is not None and repository.get("id") is not None:
        return str(head["id"]) == str(repository["id"])
    name = head.get("full_name")
    return not name or str(name).casefold() == str(repository.get("full_name") or "").casefold()


def run_record(run: dict[str, Any]) -> PipelineRunRecord:
    """A workflow run (REST or ``workflow_run`` webhook shape) as a record. ``finished_at`` is
    ``updated_at`` once the run is completed (GitHub has no finish time of its own). Raises ValueError
    or KeyError for a run without the documented fields.
    """
    status, conclusion = run.get("status") or "", run.get("conclusion") or ""
    created = ci.parse_time(run["created_at"])
    if created is None:
        raise ValueError(f"workflow run {run.get('id')}: created_at is empty")
    return PipelineRunRecord(
        external_id=str(run["id"]),
        status=status,
        conclusion=conclusion,
        portal_status=ci.github_status(status, conclusion),
        branch=run.get("head_branch") or "",
        commit_sha=run.get("head_sha") or "",
        created_at=created,
        started_at=ci.parse_time(run.get("run_started_at")) or created,
        finished_at=ci.parse_time(run.get("updated_at")) if status == "completed" else None,
        url=run.get("html_url") or "",
        run_number=run.get("run_number"),
        run_attempt=run.get("run_attempt") or 1,
        event=run.get("event") or "",
        attempts_counted=run.get("run_attempt") is not None,
    )


def workflow_record(
    workflow: dict[str, Any], runs: list[PipelineRunRecord], *, templates=(), config_error: str = ""
) -> PipelineRecord:
    """A workflow (REST or webhook ``workflow`` shape) and its runs as a record, runs newest first."""
    return PipelineRecord(
        provider=PROVIDER,
        external_id=str(workflow["id"]),
        name=workflow.get("name") or workflow.get("path") or str(workflow["id"]),
        file_path=workflow.get("path") or "",
        state=workflow.get("state") or "",
        url=workflow.get("html_url") or "",
        templates=tuple(templates),
        config_error=config_error,
        runs=tuple(sorted(runs, key=lambda r: r.created_at, reverse=True)),
    )


class _Reader:
    """Reads one source's repositories through one client."""

    def __init__(self, client: ApiClient, settings: hosted.HostedConfig, now: datetime) -> None:
        self.client, self.settings, self.now = client, settings, now
        self.since, self.since_query = hosted.window_start(now, settings.window_days)

    def list_repositories(self):
        owner = quote(self.settings.owner, safe="")
        if self.settings.owner_kind == "org":
            path, params = f"orgs/{owner}/repos", {"type": "all", "sort": "full_name"}
        else:
            path, params = f"users/{owner}/repos", {"type": "owner", "sort": "full_name"}
        for repo in self.client.paginate(path, params, shape=_repo_shape, schema=list[_Repo]):
            if self.settings.wants(
                name=repo["name"], archived=repo["archived"], fork=repo["fork"], topics=repo["topics"]
            ):
                yield repo

    def get_repository(self, full_name: str) -> dict[str, Any] | None:
        return self.client.get(f"repos/{_path(full_name)}", shape=_repo_shape, schema=_Repo, missing=(404,))

    def read(self, repo: dict[str, Any]) -> RepositoryRecord:
        host = urlsplit(repo["html_url"]).hostname or ""
        base = {
            "external_id": str(repo["id"]),
            "url": repo["html_url"],
            "name": repo["name"],
            "host": host,
            "window_days": self.settings.window_days,
            "authors_days": self.settings.window_days,
            "default_branch": repo["default_branch"],
            "archived": repo["archived"],
            "topics": tuple(repo["topics"]),
        }
        return hosted.guarded_read(base, lambda: self._facts(repo))

    def _facts(self, repo: dict[str, Any]) -> dict[str, Any]:
        full, branch = _path(repo["full_name"]), repo["default_branch"]
        commits = self.client.get(
            f"repos/{full}/commits",
            {"sha": branch, "since": _iso(self.since_query), "per_page": 100},
            shape=lambda body: [_commit_shape(c) for c in body],
            schema=list[_Commit],
            missing=(409,),  # an empty repository
        )
        if commits is None:
            return {}
        window = [_commit(c) for c in commits]
        if len(window) == 100:
            for page in range(2, hosted.MAX_COMMIT_PAGES + 1):
                more = self.client.get(
                    f"repos/{full}/commits",
                    {"sha": branch, "since": _iso(self.since_query), "per_page": 100, "page": page},
                    shape=lambda body: [_commit_shape(c) for c in body],
                    schema=list[_Commit],
                )
                window += [_commit(c) for c in more]
                if len(more) < 100:
                    break
        last = window[0] if window else None
        if last is None:
            latest = self.client.get(
                f"repos/{full}/commits",
                {"sha": branch, "per_page": 1},
                shape=lambda body: [_commit_shape(c) for c in body],
                schema=list[_Commit],
                missing=(409,),
            )
            last = _commit(latest[0]) if latest else None
        count, authors = hosted.window_facts(window, self.since)

        reader = hosted.ApiTreeReader(
            lambda path: self._file(full, branch, path), lambda: self._tree(full, branch)
        )
        descriptors = hosted.read_descriptors(
            reader, self.settings.descriptor_paths, lambda d: self._listing(full, branch, d)
        )
        return {
            "last_commit": last,
            "commits_in_window": count,
            "top_authors": authors,
            "authors": hosted.window_authors(window, self.since),
            "descriptors": descriptors,
            "pipelines": self._pipelines(repo, full, branch),
            "scorecards": hosted.read_scorecards(
                self.settings,
                repo["full_name"],
                f"{repo['html_url']}/blob/{branch}/{self.settings.scorecards_path}",
                lambda path: self._file(full, branch, path),
            ),
        }

    def _listing(self, full: str, branch: str, directory: str) -> set[str]:
        names = self.client.get(
            f"repos/{full}/contents/{_path(directory)}", {"ref": branch}, shape=_listing_shape, missing=(404,)
        )
        return set(names or ())

    def _file(self, full: str, branch: str, path: str) -> str | None:
        answer = self.client.get(
            f"repos/{full}/contents/{_path(path)}", {"ref": branch}, shape=_file_shape, missing=(404,)
        )
        if answer is None:
            return None
        if "error" in answer:
            raise OSError(answer["error"])  # a descriptor error on that file, not a repository error
        return answer["text"]

    def _tree(self, full: str, branch: str) -> list[str]:
        tree = self.client.get(
            f"repos/{full}/git/trees/{quote(branch, safe='')}",
            {"recursive": 1},
            shape=lambda body: {
                "paths": [e["path"] for e in body.get("tree", []) if e.get("type") == "blob"],
                "truncated": bool(body.get("truncated")),
            },
        )
        if tree["truncated"]:
            raise OSError("the repository's file list is too large to match a glob through the API")
        return tree["paths"]

    def _pipelines(self, repo: dict[str, Any], full: str, branch: str) -> tuple[PipelineRecord, ...]:
        workflows = list(
            self.client.paginate(
                f"repos/{full}/actions/workflows", items=lambda b: b["workflows"], shape=_workflow_shape
            )
        )
        if not workflows:
            return ()
        page = list(
            self.client.paginate(
                f"repos/{full}/actions/runs",
                {"branch": branch, "exclude_pull_requests": "true"},
                per_page=self.settings.runs,
                items=lambda b: b["workflow_runs"],
                shape=_run_shape,
                schema=_RunsPage,
                max_pages=1,
            )
        )
        by_workflow: dict[str, list[PipelineRunRecord]] = {}
        for run in page:
            if on_own_branch(run, repo):
                by_workflow.setdefault(str(run["workflow_id"]), []).append(run_record(run))
        records = []
        for workflow in workflows:
            key = str(workflow["id"])
            runs = by_workflow.get(key, [])
            if not runs and len(page) >= self.settings.runs and workflow.get("state") == "active":
                runs = [
                    run_record(run)
                    for run in self.client.paginate(
                        f"repos/{full}/actions/workflows/{key}/runs",
                        {"branch": branch, "exclude_pull_requests": "true"},
                        per_page=MISSING_WORKFLOW_RUNS,
                        items=lambda b: b["workflow_runs"],
                        shape=_run_shape,
                        schema=_RunsPage,
                        max_pages=1,
                    )
                    if on_own_branch(run, repo)
                ]
            templates, error = self._templates(full, branch, workflow.get("path") or "")
            records.append(workflow_record(workflow, runs, templates=templates, config_error=error))
        return tuple(records)

    def _templates(self, full: str, branch: str, path: str):
        """The reusable workflows a workflow file calls, and why they could not be read ('' if they could)."""
        if not path.startswith(WORKFLOW_DIR):  # a dynamic workflow (CodeQL, Dependabot...) has no file
            return (), ""
        try:
            text = self._file(full, branch, path)
        except OSError as exc:
            return (), f"{path}: {exc}"
        if text is None:
            return (), f"{path}: not found on the default branch"
        try:
            return ci.github_templates(text, path), ""
        except ValueError as exc:
            return (), str(exc)


def _commit(shape: dict[str, Any]) -> Commit:
    committed = ci.parse_time(shape["committed_at"])
    if committed is None:
        raise ValueError(f"commit {shape['sha']}: no date")
    return Commit(shape["sha"], committed, shape["author_name"], shape["author_email"])


def _path(path: str) -> str:
    """A repository path or ``owner/repo`` quoted for a URL, keeping its slashes."""
    return quote(path.strip("/"), safe="/")


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GitHubConnector:
    """Reads the repositories of a ``github`` source (see the module docstring for the config)."""

    kind = "github"

    def fetch(
        self,
        config: dict[str, Any],
        *,
        workdir: Path | None = None,
        cache: HttpCache | None = None,
        only: tuple[str, ...] = (),
        now: datetime | None = None,
    ) -> SourceSnapshot:
        """Read every repository the config selects (or only the ``owner/repo`` names in ``only``: then the
        snapshot is incomplete, and of those named only the ones the full listing would hold are read:
        one of another owner is ``skipped``, one the filters leave out is ``excluded``, to be taken as
        gone). ``cache`` makes requests conditional.

        A repository that cannot be read is a record with ``error``. Raises ValueError for a bad config,
        ``RateLimited`` when GitHub refuses for a rate limit (retry at its ``reset_at``), and ``HttpError``
        when the listing itself fails.
        """
        settings = parse_config(config)
        now = now or datetime.now(UTC)
        with make_client(settings, cache) as client:
            reader = _Reader(client, settings, now)
            errors: list[str] = []
            skipped: list[str] = []
            excluded: list[str] = []
            if only:
                repos = []
                for name in only:
                    repo = reader.get_repository(name)  # a transferred repository answers as its new self
                    if repo is None:
                        errors.append(f"repository {name} not found")
                    elif not owns(settings.owner, repo["full_name"]):
                        skipped.append(repo["full_name"])
                    elif settings.wants(
                        name=repo["name"], archived=repo["archived"], fork=repo["fork"], topics=repo["topics"]
                    ):
                        repos.append(repo)
                    else:
                        excluded.append(str(repo["id"]))
                records = hosted.read_concurrently(repos, reader.read, settings.concurrency)
            else:
                records = hosted.read_concurrently(
                    reader.list_repositories(), reader.read, settings.concurrency
                )
        return SourceSnapshot(
            repositories=tuple(sorted(records, key=lambda r: r.external_id)),
            errors=tuple(errors),
            complete=not only,
            skipped=tuple(skipped),
            excluded=tuple(excluded),
        )


connector = GitHubConnector()
