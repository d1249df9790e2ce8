"""The ``gitlab`` connector: a group's projects (subgroups included), read through GitLab's REST API v4.

Config: ``{"group": "ml/platform"}`` (a path or a numeric id) plus the keys of ``catalog.connectors.hosted``
(``api_url`` defaults to https://gitlab.com/api/v4; a self-managed instance is ``https://HOST/api/v4``).
The token goes in ``PRIVATE-TOKEN``. Spec: https://docs.gitlab.com/ee/api/rest/

Per project:

- the last commit **on the default branch** and the window's commits: ``GET /projects/:id/repository/
  commits?ref_name=<default branch>&since=...`` (``per_page=1`` without ``since`` when the window is
  empty). Not ``last_activity_at``, which GitLab updates at most hourly and not for every event.
- descriptors: ``repository/tree`` (a directory listing), then ``repository/files/:path`` for each found.
- the scorecards file, for the project ``scorecards_repository`` names: ``repository/files/:path``.
- the pipeline: the project's CI configuration (``ci_config_path``, default ``.gitlab-ci.yml``) is one
  Pipeline; its ``include:`` entries (or a configuration kept in another project) are its templates, and
  ``GET /projects/:id/pipelines?ref=<default branch>`` its runs. The list has no start and finish times:
  ``started_at`` is ``created_at`` and, once a pipeline ended, ``finished_at`` its ``updated_at``.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from catalog.connectors import ci, hosted
from catalog.connectors.http import ApiClient, HttpCache, gitlab_next_page
from catalog.connectors.records import (
    Commit,
    PipelineRecord,
    PipelineRunRecord,
    RepositoryRecord,
    SourceSnapshot,
)

__all__ = ["GitLabConnector", "connector", "in_group", "parse_config", "pipeline_record", "run_record"]

DEFAULT_API_URL = "https://gitlab.com/api/v4"
PROVIDER = "gitlab-ci"
SHAPES_VERSION = 1  # bump when a _shape function changes: cached answers of another are not used
DEFAULT_CI_PATH = ".gitlab-ci.yml"


def parse_config(config: dict[str, Any]) -> hosted.HostedConfig:
    """Validate a ``gitlab`` source config; raise ValueError naming the bad key."""
    return hosted.parse_config(config, kind="gitlab", owner_keys=("group",), default_api_url=DEFAULT_API_URL)


def make_client(settings: hosted.HostedConfig, cache: HttpCache | None) -> ApiClient:
    headers = {"Accept": "application/json", "User-Agent": "ml-portal"}
    if settings.token:
        headers["PRIVATE-TOKEN"] = settings.token
    return ApiClient(
        settings.api_url,
        headers=headers,
        cache=cache,
        next_page=gitlab_next_page,
        timeout=settings.timeout,
        cache_version=SHAPES_VERSION,
    )


def _project_shape(project: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": project["id"],
        "name": project["name"],
        "path_with_namespace": project.get("path_with_namespace") or project["name"],
        "web_url": project.get("web_url") or "",
        "default_branch": project.get("default_branch") or "",
        "archived": bool(project.get("archived")),
        "fork": "forked_from_project" in project,
        "topics": list(project.get("topics") or project.get("tag_list") or []),
        "empty_repo": bool(project.get("empty_repo")),
        "ci_config_path": project.get("ci_config_path") or "",
        "builds_disabled": project.get("builds_access_level") == "disabled"
        or project.get("jobs_enabled") is False,
    }


def _commit_shape(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "sha": item["id"],
        "author_name": item.get("author_name") or "",
        "author_email": item.get("author_email") or "",
        "committed_at": item.get("committed_date") or item.get("created_at"),
    }


def _file_shape(body: dict[str, Any]) -> dict[str, Any]:
    if body.get("encoding") != "base64":
        return {"error": f"has an unknown encoding {body.get('encoding')!r}"}
    try:
        return {"text": base64.b64decode(body.get("content") or "").decode("utf-8")}
    except (binascii.Error, UnicodeDecodeError) as exc:
        return {"error": f"is not UTF-8 text: {exc}"}


RUN_FIELDS = (
    "id",
    "iid",
    "status",
    "source",
    "ref",
    "sha",
    "web_url",
    "url",
    "created_at",
    "updated_at",
    "started_at",
    "finished_at",
)


def _run_shape(run: dict[str, Any]) -> dict[str, Any]:
    return {k: run[k] for k in RUN_FIELDS if k in run}


def run_record(run: dict[str, Any], *, web_url: str = "") -> PipelineRunRecord:
    """A GitLab pipeline (REST list or single shape, or a Pipeline Hook's ``object_attributes``) as a
    record; ``web_url`` is the project's, used when the pipeline names no URL of its own. Raises
    ValueError or KeyError when the documented fields are missing or malformed.
    """
    status = run.get("status") or ""
    portal = ci.gitlab_status(status)
    created = ci.parse_time(run["created_at"])
    if created is None:
        raise ValueError(f"pipeline {run.get('id')}: created_at is empty")
    finished = ci.parse_time(run.get("finished_at"))
    if finished is None and portal in ci.COMPLETED:
        finished = ci.parse_time(run.get("updated_at"))
    url = run.get("web_url") or run.get("url") or (f"{web_url}/-/pipelines/{run['id']}" if web_url else "")
    return PipelineRunRecord(
        external_id=str(run["id"]),
        status=status,
        conclusion="",
        portal_status=portal,
        branch=run.get("ref") or "",
        commit_sha=run.get("sha") or "",
        created_at=created,
        started_at=ci.parse_time(run.get("started_at")) or created,
        finished_at=finished,
        url=url,
        run_number=run.get("iid"),
        event=run.get("source") or "",
    )


def pipeline_record(
    project: dict[str, Any], runs: list[PipelineRunRecord], *, templates=(), config_error: str = ""
) -> PipelineRecord:
    """A project's CI configuration as a pipeline record, its runs newest first."""
    path = project.get("ci_config_path") or DEFAULT_CI_PATH
    web_url = project.get("web_url") or ""
    return PipelineRecord(
        provider=PROVIDER,
        external_id=path,
        name=path,
        file_path=path,
        state="disabled" if project.get("builds_disabled") else "active",
        url=f"{web_url}/-/pipelines" if web_url else "",
        templates=tuple(templates),
        config_error=config_error,
        runs=tuple(sorted(runs, key=lambda r: r.created_at, reverse=True)),
    )


class _Reader:
    def __init__(self, client: ApiClient, settings: hosted.HostedConfig, now: datetime) -> None:
        self.client, self.settings, self.now = client, settings, now
        self.since, self.since_query = hosted.window_start(now, settings.window_days)

    def list_projects(self):
        params = {"include_subgroups": "true", "with_shared": "false", "order_by": "id", "sort": "asc"}
        if not self.settings.include_archived:
            params["archived"] = "false"
        for project in self.client.paginate(
            f"groups/{_id(self.settings.owner)}/projects", params, shape=_project_shape
        ):
            if self._wanted(project):
                yield project

    def _wanted(self, project: dict[str, Any]) -> bool:
        return self.settings.wants(
            name=project["name"], archived=project["archived"], fork=project["fork"], topics=project["topics"]
        )

    def group_path(self) -> str:
        """The full path of the source's group, which the config may name by its numeric id."""
        if not self.settings.owner.isdigit():
            return self.settings.owner
        group = self.client.get(
            f"groups/{self.settings.owner}",
            {"with_projects": "false"},
            shape=lambda body: {"full_path": body["full_path"]},
        )
        return group["full_path"]

    def get_project(self, path: str) -> dict[str, Any] | None:
        return self.client.get(f"projects/{_id(path)}", shape=_project_shape, missing=(404,))

    def read(self, project: dict[str, Any]) -> RepositoryRecord:
        base = {
            "external_id": str(project["id"]),
            "url": project["web_url"],
            "name": project["name"],
            "host": urlsplit(project["web_url"]).hostname or "",
            "window_days": self.settings.window_days,
            "authors_days": self.settings.window_days,
            "default_branch": project["default_branch"],
            "archived": project["archived"],
            "topics": tuple(project["topics"]),
        }
        return hosted.guarded_read(base, lambda: self._facts(project))

    def _facts(self, project: dict[str, Any]) -> dict[str, Any]:
        pid, branch = project["id"], project["default_branch"]
        if project["empty_repo"] or not branch:
            return {"pipelines": self._pipelines(project, branch, has_files=False)}
        commits_url = f"projects/{pid}/repository/commits"
        window = [
            _commit(c)
            for c in self.client.paginate(
                commits_url,
                {"ref_name": branch, "since": _iso(self.since_query)},
                shape=_commit_shape,
                max_pages=hosted.MAX_COMMIT_PAGES,
            )
        ]
        last = window[0] if window else None
        if last is None:
            latest = self.client.get(
                commits_url,
                {"ref_name": branch, "per_page": 1},
                shape=lambda b: [_commit_shape(c) for c in b],
            )
            last = _commit(latest[0]) if latest else None
        count, authors = hosted.window_facts(window, self.since)
        reader = hosted.ApiTreeReader(
            lambda path: self._file(pid, branch, path), lambda: self._tree(pid, branch)
        )
        descriptors = hosted.read_descriptors(
            reader, self.settings.descriptor_paths, lambda d: self._listing(pid, branch, d)
        )
        return {
            "last_commit": last,
            "commits_in_window": count,
            "top_authors": authors,
            "authors": hosted.window_authors(window, self.since),
            "descriptors": descriptors,
            "pipelines": self._pipelines(project, branch, has_files=True),
            "scorecards": hosted.read_scorecards(
                self.settings,
                project["path_with_namespace"],
                f"{project['web_url']}/-/blob/{branch}/{self.settings.scorecards_path}",
                lambda path: self._file(pid, branch, path),
            ),
        }

    def _listing(self, pid: int, branch: str, directory: str) -> set[str]:
        params = {"ref": branch, **({"path": directory} if directory else {})}
        # The first page answers for a directory; a missing one is a 404.
        first = self.client.get(
            f"projects/{pid}/repository/tree",
            {**params, "per_page": 100},
            shape=lambda b: [e["name"] for e in b if e.get("type") == "blob"],
            missing=(404,),
        )
        if first is None:
            return set()
        if len(first) < 100:
            return set(first)
        return {
            e["name"]
            for e in self.client.paginate(f"projects/{pid}/repository/tree", params)
            if e.get("type") == "blob"
        }

    def _file(self, pid: int, branch: str, path: str) -> str | None:
        answer = self.client.get(
            f"projects/{pid}/repository/files/{quote(path, safe='')}",
            {"ref": branch},
            shape=_file_shape,
            missing=(404,),
        )
        if answer is None:
            return None
        if "error" in answer:
            raise OSError(answer["error"])
        return answer["text"]

    def _tree(self, pid: int, branch: str) -> list[str]:
        return [
            e["path"]
            for e in self.client.paginate(
                f"projects/{pid}/repository/tree",
                {"ref": branch, "recursive": "true"},
                shape=lambda e: {"path": e["path"], "type": e.get("type")},
            )
            if e["type"] == "blob"
        ]

    def _pipelines(
        self, project: dict[str, Any], branch: str, *, has_files: bool
    ) -> tuple[PipelineRecord, ...]:
        pid = project["id"]
        runs = []
        if branch:
            runs = [
                run_record(run, web_url=project["web_url"])
                for run in self.client.paginate(
                    f"projects/{pid}/pipelines",
                    {"ref": branch, "order_by": "id", "sort": "desc"},
                    per_page=self.settings.runs,
                    shape=_run_shape,
                    max_pages=1,
                )
            ]
        path = project["ci_config_path"] or DEFAULT_CI_PATH
        external = ci.gitlab_external_config(path)
        templates, error, has_config = (), "", False
        if external is not None:
            templates, has_config = (external,), True
        elif has_files:
            try:
                text = self._file(pid, branch, path)
            except OSError as exc:
                text, error = None, f"{path}: {exc}"
            has_config = text is not None or bool(error)
            if text is not None:
                try:
                    templates = ci.gitlab_templates(text, path)
                except ValueError as exc:
                    error = str(exc)
        if not has_config and not runs:
            return ()
        return (pipeline_record(project, runs, templates=templates, config_error=error),)


def in_group(group: str, path_with_namespace: str) -> bool:
    """Whether the project ``path_with_namespace`` lies in the group of full path ``group`` or in one of
    its subgroups (the listing includes them); GitLab paths are case-insensitive."""
    namespace = path_with_namespace.strip("/").rpartition("/")[0].casefold()
    group = group.strip("/").casefold()
    return namespace == group or namespace.startswith(f"{group}/")


def _commit(shape: dict[str, Any]) -> Commit:
    committed = ci.parse_time(shape["committed_at"])
    if committed is None:
        raise ValueError(f"commit {shape['sha']}: no date")
    return Commit(shape["sha"], committed, shape["author_name"], shape["author_email"])


def _id(path_or_id: str) -> str:
    """A group or project id for a URL: a numeric id as is, a path URL-encoded (``ml%2Fplatform``)."""
    return path_or_id if path_or_id.isdigit() else quote(path_or_id.strip("/"), safe="")


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GitLabConnector:
    """Reads the projects of a ``gitlab`` source (see the module docstring for the config)."""

    kind = "gitlab"

    def fetch(
        self,
        config: dict[str, Any],
        *,
        workdir: Path | None = None,
        cache: HttpCache | None = None,
        only: tuple[str, ...] = (),
        now: datetime | None = None,
    ) -> SourceSnapshot:
        """Read every project of the group the config selects (or only the project paths or ids in
        ``only``: then the snapshot is incomplete, and of those named only the ones the full listing would
        hold are read: one outside the group is ``skipped``, one the filters leave out is ``excluded``,
        to be taken as gone). ``cache`` makes requests conditional.

        A project that cannot be read is a record with ``error``. Raises ValueError for a bad config,
        ``RateLimited`` when GitLab refuses for a rate limit, and ``HttpError`` when the listing fails.
        """
        settings = parse_config(config)
        now = now or datetime.now(UTC)
        with make_client(settings, cache) as client:
            reader = _Reader(client, settings, now)
            errors: list[str] = []
            skipped: list[str] = []
            excluded: list[str] = []
            if only:
                projects = []
                group = reader.group_path()
                for path in only:
                    project = reader.get_project(path)
                    if project is None:
                        errors.append(f"project {path} not found")
                    elif not in_group(group, project["path_with_namespace"]):
                        skipped.append(project["path_with_namespace"])
                    elif reader._wanted(project):
                        projects.append(project)
                    else:
                        excluded.append(str(project["id"]))
                records = hosted.read_concurrently(projects, reader.read, settings.concurrency)
            else:
                records = hosted.read_concurrently(reader.list_projects(), reader.read, settings.concurrency)
        return SourceSnapshot(
            repositories=tuple(sorted(records, key=lambda r: r.external_id)),
            errors=tuple(errors),
            complete=not only,
            skipped=tuple(skipped),
            excluded=tuple(excluded),
        )


connector = GitLabConnector()
