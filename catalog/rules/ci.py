"""Rules about CI: is the default branch green, is there CI at all, is it on the organisation's templates?

Standard templates are rule parameters (``standard_templates``, default ``PORTAL_CI_STANDARD_TEMPLATES``):
each entry is ``project/file@ref``, e.g. ``ml-platform/ci-templates/.github/workflows/train.yml@v3`` (a
GitHub reusable workflow), ``ml-platform/ci-templates/templates/train.gitlab-ci.yml@v2.1.0`` (a GitLab
include) or ``ml-platform/components/train@1.4.0`` (a GitLab CI/CD component). ``@ref`` names the newest
ref and may be left out. Names compare case-insensitively; see ``TemplateRef.identity``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.db.models import Q
from packaging.version import InvalidVersion, Version

from catalog.models import Lifecycle, Pipeline, PipelineRun, PortalStatus, Project, Severity, Source
from catalog.rules.registry import RuleContext, Verdict, rule

CI_SOURCE_KINDS = (Source.Kind.GITHUB, Source.Kind.GITLAB)


def _active_projects():
    """Projects whose CI matters: declared or found, not orphaned or deprecated, in a live repository."""
    return Project.objects.filter(
        orphaned_at__isnull=True,
        repository__isnull=False,
        repository__gone_at__isnull=True,
        repository__archived=False,
    ).filter(~Q(lifecycle=Lifecycle.DEPRECATED))


def _live_pipelines():
    return Pipeline.objects.filter(gone_at__isnull=True, state="active")


def _duration(delta: timedelta) -> str:
    if delta >= timedelta(days=2):
        return f"{delta.days} days"
    hours = int(delta.total_seconds() // 3600)
    return f"{hours} hours" if hours != 1 else "1 hour"


@rule("ci-failing", title="CI failing", severity=Severity.ERROR, days=0)
def ci_failing(context: RuleContext):
    """The latest conclusive run of a pipeline on the default branch failed, for more than `days` days."""
    days = int(context.params["days"])
    failing = list(
        _live_pipelines()
        .filter(latest_status=PortalStatus.FAILURE, failing_since__lte=context.now - timedelta(days=days))
        .values("pk", "name", "url", "repository_id", "repository__default_branch", "failing_since")
    )
    if not failing:
        return
    latest_runs: dict[int, PipelineRun] = {}
    for run in PipelineRun.objects.filter(
        pipeline_id__in=[p["pk"] for p in failing], portal_status=PortalStatus.FAILURE
    ).order_by("pipeline_id", "-created_at"):
        latest_runs.setdefault(run.pipeline_id, run)
    by_repo = defaultdict(list)
    for pipeline in failing:
        by_repo[pipeline["repository_id"]].append(pipeline)
    projects = _active_projects().filter(repository_id__in=list(by_repo)).values("pk", "repository_id")
    for project in projects:
        pipelines = sorted(by_repo[project["repository_id"]], key=lambda p: p["failing_since"])
        oldest = pipelines[0]
        since: datetime = oldest["failing_since"]
        branch = oldest["repository__default_branch"] or "the default branch"
        names = ", ".join(p["name"] for p in pipelines)
        yield Verdict(
            project_id=project["pk"],
            message=(
                f"CI failing on {branch}: {names} red for {_duration(context.now - since)} "
                f"(since {since:%Y-%m-%d %H:%M} UTC)."
            ),
            evidence={
                "branch": branch,
                "failing_since": since.isoformat(),
                "days_failing": (context.now - since).days,
                "threshold_days": days,
                "pipelines": [
                    {
                        "name": p["name"],
                        "url": p["url"],
                        "failing_since": p["failing_since"].isoformat(),
                        "run_url": latest_runs[p["pk"]].url if p["pk"] in latest_runs else "",
                        "commit_sha": latest_runs[p["pk"]].commit_sha if p["pk"] in latest_runs else "",
                    }
                    for p in pipelines
                ],
            },
        )


@rule("no-ci", title="No CI", severity=Severity.WARNING)
def no_ci(context: RuleContext):
    """The project's GitHub or GitLab repository has no active CI pipeline."""
    with_ci = _live_pipelines().values("repository_id")
    rows = (
        _active_projects()
        .filter(repository__source__kind__in=CI_SOURCE_KINDS, repository__last_read_at__isnull=False)
        .exclude(repository_id__in=with_ci)
        .values("pk", "repository__name", "repository__url")
    )
    for row in rows:
        yield Verdict(
            project_id=row["pk"],
            message=f"Repository {row['repository__name']} has no active CI pipeline.",
            evidence={"repository": row["repository__name"], "url": row["repository__url"]},
        )


def parse_standard_templates(entries: list[str]) -> dict[str, str]:
    """``["project/file@ref", ...]`` -> ``{identity: newest ref ('' when none is named)}``.

    Raises ValueError naming an entry that is not a string or names no file.
    """
    standards = {}
    for entry in entries:
        if not isinstance(entry, str) or not entry.strip().strip("/"):
            raise ValueError(f"standard_templates: {entry!r} is not 'project/file@ref'")
        identity, _, ref = entry.strip().rpartition("@") if "@" in entry else (entry.strip(), "", "")
        standards[identity.strip().strip("/").lower()] = ref.strip()
    return standards


def _project_pipelines() -> dict[int, list[dict]]:
    """Live pipelines of the active projects, by project pk (projects without any are left out)."""
    scope = _active_projects()
    projects = list(scope.values("pk", "repository_id"))
    pipelines = defaultdict(list)
    rows = _live_pipelines().filter(repository_id__in=scope.values("repository_id"))
    for row in rows.values("repository_id", "name", "file_path", "url", "templates"):
        pipelines[row["repository_id"]].append(row)
    return {p["pk"]: pipelines[p["repository_id"]] for p in projects if pipelines[p["repository_id"]]}


def _identity(template: dict) -> str:
    project, file = template.get("project", ""), template.get("file", "")
    return (f"{project}/{file}" if project else file).lower()


@rule("custom-pipeline", title="Custom CI pipeline", severity=Severity.INFO, standard_templates=[])
def custom_pipeline(context: RuleContext):
    """No pipeline of the project uses one of the organisation's standard templates."""
    standards = parse_standard_templates(context.params["standard_templates"])
    if not standards:
        return
    for project_id, pipelines in _project_pipelines().items():
        used = {_identity(t) for p in pipelines for t in p["templates"]}
        if used & standards.keys():
            continue
        yield Verdict(
            project_id=project_id,
            message=(
                f"None of its {len(pipelines)} pipeline(s) ({', '.join(p['name'] for p in pipelines)}) "
                "uses a standard CI template."
            ),
            evidence={
                "pipelines": [
                    {"name": p["name"], "file": p["file_path"], "url": p["url"]} for p in pipelines
                ],
                "templates_used": sorted(used),
                "standard_templates": sorted(standards),
            },
        )


def is_older(used: str, newest: str) -> bool:
    """Whether ref ``used`` is older than ``newest``: compared as versions (``v1.2`` < ``v1.10``) when both
    are; otherwise any other ref (a branch, a sha) than the newest counts as older. An empty ``newest``
    (none configured) or ``used`` (the template project's default branch) is never older.
    """
    if not newest or not used or used == newest:
        return False
    try:
        return Version(used.lstrip("vV")) < Version(newest.lstrip("vV"))
    except InvalidVersion:
        return True


@rule("outdated-template", title="Outdated CI template", severity=Severity.WARNING, standard_templates=[])
def outdated_template(context: RuleContext):
    """A pipeline uses a standard template at an older ref than the newest configured."""
    standards = parse_standard_templates(context.params["standard_templates"])
    if not any(standards.values()):
        return
    for project_id, pipelines in _project_pipelines().items():
        outdated = [
            {
                "pipeline": p["name"],
                "url": p["url"],
                "template": _identity(t),
                "ref": t.get("ref", ""),
                "newest_ref": standards[_identity(t)],
            }
            for p in pipelines
            for t in p["templates"]
            if _identity(t) in standards and is_older(t.get("ref", ""), standards[_identity(t)])
        ]
        if not outdated:
            continue
        first = outdated[0]
        more = f" (and {len(outdated) - 1} more)" if len(outdated) > 1 else ""
        yield Verdict(
            project_id=project_id,
            message=(
                f"{first['pipeline']} uses {first['template']} at {first['ref']}, older than the current "
                f"{first['newest_ref']}{more}."
            ),
            evidence={"outdated": outdated},
        )
