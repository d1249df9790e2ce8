"""The CI vocabulary shared by the GitHub and GitLab connectors and their webhooks.

- ``github_status`` / ``gitlab_status`` map each provider's run status (and GitHub's conclusion) to the
  portal's small vocabulary ``PORTAL_STATUSES``, which the rules use; the provider's values are kept too.
- ``github_templates`` / ``gitlab_templates`` find the shared templates a CI file uses: GitHub reusable
  workflows (``jobs.<id>.uses``, https://docs.github.com/en/actions/using-workflows/reusing-workflows) and
  GitLab ``include:`` entries (https://docs.gitlab.com/ee/ci/yaml/#include) or an external
  ``ci_config_path``.
- ``parse_time`` reads both providers' timestamps, GitLab webhooks' ``2016-08-12 15:23:28 UTC`` included.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import yaml

from catalog.connectors.records import TemplateRef

__all__ = [
    "COMPLETED",
    "PORTAL_STATUSES",
    "github_status",
    "github_templates",
    "gitlab_status",
    "gitlab_templates",
    "parse_time",
]

# The portal's vocabulary: a run waits, runs, or ended one of five ways.
PORTAL_STATUSES = ("pending", "running", "success", "failure", "cancelled", "skipped", "neutral")
COMPLETED = frozenset({"success", "failure", "cancelled", "skipped", "neutral"})

# GitHub: https://docs.github.com/en/rest/actions/workflow-runs (status, conclusion). ``action_required``
# is a completed status on GitHub, but the run waits for someone's approval: pending here.
_GITHUB_CONCLUSIONS = {
    "success": "success",
    "failure": "failure",
    "timed_out": "failure",
    "startup_failure": "failure",
    "cancelled": "cancelled",
    "skipped": "skipped",
    "neutral": "neutral",
    "stale": "neutral",
    "action_required": "pending",
}
# GitLab: https://docs.gitlab.com/ee/api/pipelines.html (status).
_GITLAB_STATUSES = {
    "created": "pending",
    "waiting_for_resource": "pending",
    "waiting_for_callback": "pending",
    "preparing": "pending",
    "pending": "pending",
    "scheduled": "pending",
    "manual": "pending",
    "running": "running",
    "canceling": "running",
    "success": "success",
    "failed": "failure",
    "canceled": "cancelled",
    "skipped": "skipped",
}


def github_status(status: str | None, conclusion: str | None) -> str:
    """The portal status of a GitHub workflow run; an unknown conclusion counts as ``neutral``."""
    if status != "completed":
        return "running" if status == "in_progress" else "pending"
    return _GITHUB_CONCLUSIONS.get(conclusion or "", "neutral")


def gitlab_status(status: str | None) -> str:
    """The portal status of a GitLab pipeline; an unknown status counts as ``neutral``."""
    return _GITLAB_STATUSES.get(status or "", "neutral")


_OFFSET = re.compile(r"\s*(?:(UTC|Z)|([+-])(\d\d):?(\d\d))$")


def parse_time(value: Any) -> datetime | None:
    """An aware UTC datetime from an ISO 8601 string or GitLab's ``YYYY-MM-DD HH:MM:SS UTC`` (or
    ``+0200``); None for None or ''. A time without an offset is taken as UTC. Raises ValueError naming
    the value when it is not a timestamp.
    """
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    if len(value) == 20 and value[-1] == "Z" and value[10] == "T":  # GitHub's form: 30,000 runs per sync
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass  # the general path below names the value
    text = value.strip()
    offset = UTC
    match = _OFFSET.search(text)
    if match and match.start() >= 10:
        if match[2]:
            delta = timedelta(hours=int(match[3]), minutes=int(match[4]))
            offset = timezone(delta if match[2] == "+" else -delta)
        text = text[: match.start()]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=offset)
    return parsed.astimezone(UTC)


# Templates


class _CiLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """A safe loader that also reads custom tags such as GitLab's ``!reference [job, script]``."""


def _custom_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    return loader.construct_scalar(node)


_CiLoader.add_multi_constructor("!", _custom_tag)


def load_ci_yaml(text: str, path: str) -> Any:
    """Parse a CI file; raise ValueError naming ``path`` and the line of a YAML error."""
    try:
        return yaml.load(text, Loader=_CiLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or exc
        raise ValueError(f"{path}: invalid YAML{where}: {problem}") from None


_REUSABLE = re.compile(r"^(?P<project>[^/@\s]+/[^/@\s]+)/(?P<file>[^@\s]+)@(?P<ref>\S+)$")


def github_templates(text: str, path: str) -> tuple[TemplateRef, ...]:
    """The reusable workflows of other repositories that a workflow file's jobs call, in file order.

    Local calls (``./.github/workflows/x.yml``) are not shared templates and are left out; a template
    called by several jobs is listed once. Raises ValueError naming ``path`` for invalid YAML or a file
    that is not a mapping.
    """
    document = load_ci_yaml(text, path)
    if not isinstance(document, dict):
        raise ValueError(f"{path}: a workflow file must be a mapping, not {type(document).__name__}")
    jobs = document.get("jobs") or {}
    if not isinstance(jobs, dict):
        raise ValueError(f"{path}: 'jobs' must be a mapping")
    found: dict[TemplateRef, None] = {}
    for job in jobs.values():
        uses = job.get("uses") if isinstance(job, dict) else None
        if not isinstance(uses, str):
            continue
        match = _REUSABLE.match(uses.strip())
        if match:
            found[TemplateRef("github-reusable-workflow", match["project"], match["file"], match["ref"])] = (
                None
            )
    return tuple(found)


_URL = re.compile(r"^https?://", re.IGNORECASE)


def gitlab_templates(text: str, path: str) -> tuple[TemplateRef, ...]:
    """The shared templates a ``.gitlab-ci.yml`` includes (``include:`` of a project's file, a CI/CD
    component, a GitLab template, a remote URL), in file order; local includes are left out. Raises
    ValueError naming ``path`` for invalid YAML, a file that is not a mapping, or a malformed include.
    """
    document = load_ci_yaml(text, path)
    if document is None:
        return ()
    if not isinstance(document, dict):
        raise ValueError(f"{path}: a CI file must be a mapping, not {type(document).__name__}")
    include = document.get("include")
    entries = include if isinstance(include, list) else [] if include is None else [include]
    found: dict[TemplateRef, None] = {}
    for index, entry in enumerate(entries):
        for ref in _gitlab_include(entry, f"{path}: include[{index}]"):
            found[ref] = None
    return tuple(found)


def _gitlab_include(entry: Any, where: str) -> list[TemplateRef]:
    if isinstance(entry, str):
        return [TemplateRef("gitlab-include-remote", "", entry.strip())] if _URL.match(entry.strip()) else []
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: must be a string or a mapping, not {type(entry).__name__}")
    if "project" in entry:
        files = entry.get("file")
        files = files if isinstance(files, list) else [files]
        if not all(isinstance(f, str) and f.strip() for f in files):
            raise ValueError(f"{where}: 'file' must be a path or a list of paths")
        project, ref = str(entry["project"]).strip().strip("/"), str(entry.get("ref") or "").strip()
        return [TemplateRef("gitlab-include-project", project, f.strip().lstrip("/"), ref) for f in files]
    if "component" in entry:
        return [_component(str(entry["component"]).strip(), where)]
    if "template" in entry:
        return [TemplateRef("gitlab-template", "", str(entry["template"]).strip())]
    if "remote" in entry:
        return [TemplateRef("gitlab-include-remote", "", str(entry["remote"]).strip())]
    return []  # local, or an include kind this portal does not treat as shared


def _component(value: str, where: str) -> TemplateRef:
    """``<fqdn>/<project path>/<component>@<version>`` (https://docs.gitlab.com/ee/ci/components/)."""
    address, _, version = value.partition("@")
    parts = [p for p in address.split("/") if p]
    if len(parts) < 3:
        raise ValueError(f"{where}: component {value!r} is not <host>/<project>/<component>@<version>")
    return TemplateRef("gitlab-component", "/".join(parts[1:-1]), parts[-1], version)


_EXTERNAL_CONFIG = re.compile(r"^(?P<file>[^@]+)@(?P<project>[^:]+)(?::(?P<ref>.+))?$")


def gitlab_external_config(ci_config_path: str) -> TemplateRef | None:
    """The template named by a ``ci_config_path`` kept in another project (``file@group/project:ref``) or
    at a URL; None for a file of the project itself.
    """
    value = (ci_config_path or "").strip()
    if _URL.match(value):
        return TemplateRef("gitlab-external-config", "", value)
    match = _EXTERNAL_CONFIG.match(value)
    if not match:
        return None
    return TemplateRef(
        "gitlab-external-config", match["project"].strip("/"), match["file"].lstrip("/"), match["ref"] or ""
    )
