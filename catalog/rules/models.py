"""Rules about registered models: is the production model fresh, trained from current code, owned?

The production version is ``RegisteredModel.production_version`` (``catalog.production``: alias
``champion``/``production``, else stage ``Production``, as configured), set by the sync.
"""

from collections import defaultdict
from datetime import timedelta

from django.db.models import Q

from catalog import giturls
from catalog.models import Lifecycle, ModelVersion, Project, RegisteredModel, Repository, Severity
from catalog.rules.registry import RuleContext, Verdict, rule
from catalog.sync_registry import ANNOTATION, PROJECT_TAGS

FAILED = "FAILED_REGISTRATION"
PENDING = "PENDING_REGISTRATION"
MAX_VERSIONS_IN_EVIDENCE = 20


def _live_models():
    """Registered models still in their registry, except those of deprecated projects."""
    return RegisteredModel.objects.filter(gone_at__isnull=True).filter(
        ~Q(project__lifecycle=Lifecycle.DEPRECATED) | Q(project__isnull=True)
    )


def _labels(aliases: list[str], stage: str) -> str:
    labels = [f"@{alias}" for alias in aliases] + ([f"stage {stage}"] if stage else [])
    return ", ".join(labels) or "no label"


@rule("stale-model", title="Stale production model", severity=Severity.WARNING, days=180)
def stale_model(context: RuleContext):
    """The production version of a registered model was registered more than `days` days ago."""
    days = int(context.params["days"])
    rows = (
        _live_models()
        .filter(production_version__registered_at__lt=context.now - timedelta(days=days))
        .values(
            "pk",
            "name",
            "production_version__version",
            "production_version__registered_at",
            "production_version__aliases",
            "production_version__stage",
        )
    )
    for row in rows:
        registered = row["production_version__registered_at"]
        age = (context.now - registered).days
        labels = _labels(row["production_version__aliases"], row["production_version__stage"])
        yield Verdict(
            model_id=row["pk"],
            message=(
                f"Production version {row['production_version__version']} of {row['name']} ({labels}) was "
                f"registered {age} days ago, on {registered:%Y-%m-%d}; the limit is {days} days."
            ),
            evidence={
                "version": row["production_version__version"],
                "labels": labels,
                "registered_at": registered.isoformat(),
                "age_days": age,
                "threshold_days": days,
            },
        )


@rule("model-behind-code", title="Model behind its code", severity=Severity.WARNING, days=30)
def model_behind_code(context: RuleContext):
    """The production version was trained from a commit more than `days` days behind the default branch.

    The training commit's own date is not in the catalog, so the run's start time stands in for it: the
    commit is at least that old, so the days reported are a lower bound and never overstate the gap. The
    repository is the one the run's ``mlflow.source.git.repoURL`` names, when the catalog has read it.
    """
    days = int(context.params["days"])
    rows = list(
        _live_models()
        .filter(production_version__isnull=False)
        .exclude(production_version__git_commit="")
        .exclude(production_version__git_repo_url="")
        .filter(production_version__trained_at__isnull=False)
        .values(
            "pk",
            "name",
            "production_version__version",
            "production_version__git_repo_url",
            "production_version__git_commit",
            "production_version__trained_at",
        )
    )
    if not rows:
        return
    repositories = {}
    for repo in Repository.objects.filter(gone_at__isnull=True, last_commit_at__isnull=False).values(
        "name", "url", "default_branch", "last_commit_sha", "last_commit_at"
    ):
        repositories.setdefault(giturls.repository_key(repo["url"]), repo)
    for row in rows:
        repo = repositories.get(giturls.repository_key(row["production_version__git_repo_url"]))
        commit = row["production_version__git_commit"].lower()
        if repo is None or repo["last_commit_sha"].lower().startswith(commit):
            continue
        trained = row["production_version__trained_at"]
        behind = (repo["last_commit_at"] - trained).days
        if behind <= days:
            continue
        branch = repo["default_branch"] or "the default branch"
        yield Verdict(
            model_id=row["pk"],
            message=(
                f"Production version {row['production_version__version']} of {row['name']} was trained on "
                f"{trained:%Y-%m-%d} from commit {commit[:12]}; {branch} of {repo['name']} has commits "
                f"{behind} days newer (last on {repo['last_commit_at']:%Y-%m-%d}); the limit is {days} days."
            ),
            evidence={
                "version": row["production_version__version"],
                "training_commit": commit,
                "commit_url": giturls.commit_url(row["production_version__git_repo_url"], commit),
                "trained_at": trained.isoformat(),
                "repository": repo["name"],
                "default_branch": repo["default_branch"],
                "last_commit_sha": repo["last_commit_sha"],
                "last_commit_at": repo["last_commit_at"].isoformat(),
                "days_behind": behind,
                "threshold_days": days,
            },
        )


@rule("orphan-model", title="Model without a project", severity=Severity.WARNING)
def orphan_model(context: RuleContext):
    """A registered model is linked to no project, so nobody is known to maintain it."""
    rows = RegisteredModel.objects.filter(gone_at__isnull=True, project__isnull=True).values(
        "pk", "name", "link_detail", "source__name"
    )
    for row in rows:
        why = row["link_detail"] or "no project names it"
        yield Verdict(
            model_id=row["pk"],
            message=(
                f"Registered model {row['name']} belongs to no project ({why}): name it in the project's "
                f"{ANNOTATION} annotation or tag it {PROJECT_TAGS[0]}."
            ),
            evidence={"source": row["source__name"], "why": why},
        )


@rule("no-production-model", title="No production model", severity=Severity.WARNING)
def no_production_model(context: RuleContext):
    """A production project of type ml-model has no registered model with a production version."""
    projects = Project.objects.filter(
        orphaned_at__isnull=True, type="ml-model", lifecycle=Lifecycle.PRODUCTION
    ).values("pk", "name")
    projects = {p["pk"]: p["name"] for p in projects}
    if not projects:
        return
    linked: dict[int, list[str]] = defaultdict(list)
    serving: set[int] = set()
    for project_pk, name, production in RegisteredModel.objects.filter(
        gone_at__isnull=True, project__in=list(projects)
    ).values_list("project_id", "name", "production_version_id"):
        linked[project_pk].append(name)
        if production is not None:
            serving.add(project_pk)
    for pk in projects:
        if pk in serving:
            continue
        names = sorted(linked.get(pk, []))
        if names:
            message = (
                f"None of its registered models ({', '.join(names)}) has a production version "
                "(a production alias such as @champion, or stage Production)."
            )
        else:
            message = (
                f"It is an ml-model in production but no registered model is linked to it: name them in its "
                f"{ANNOTATION} annotation."
            )
        yield Verdict(project_id=pk, message=message, evidence={"registered_models": names})


@rule("failed-registration", title="Failed model registration", severity=Severity.ERROR, pending_hours=24)
def failed_registration(context: RuleContext):
    """A model version failed to register, or has been pending registration for over `pending_hours` hours."""
    hours = int(context.params["pending_hours"])
    rows = (
        ModelVersion.objects.filter(gone_at__isnull=True, registered_model__gone_at__isnull=True)
        .filter(Q(status=FAILED) | Q(status=PENDING, registered_at__lt=context.now - timedelta(hours=hours)))
        .order_by("registered_model_id", "-number")
        .values("registered_model_id", "registered_model__name", "version", "status", "status_message")
    )
    by_model: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_model[row["registered_model_id"]].append(row)
    for model_pk, versions in by_model.items():
        failed = [v["version"] for v in versions if v["status"] == FAILED]
        pending = [v["version"] for v in versions if v["status"] == PENDING]
        parts = []
        if failed:
            parts.append(f"{_versions(failed)} failed to register")
        if pending:
            parts.append(f"{_versions(pending)} pending for over {hours} hours")
        first = versions[0]
        reason = f": {first['status_message']}" if first["status_message"] else ""
        yield Verdict(
            model_id=model_pk,
            message=f"Registered model {first['registered_model__name']}: {'; '.join(parts)}{reason}.",
            evidence={
                "versions": [
                    {"version": v["version"], "status": v["status"], "status_message": v["status_message"]}
                    for v in versions[:MAX_VERSIONS_IN_EVIDENCE]
                ],
                "pending_hours": hours,
            },
        )


def _versions(numbers: list[str]) -> str:
    return f"version{'s' if len(numbers) > 1 else ''} {', '.join(numbers)}"
