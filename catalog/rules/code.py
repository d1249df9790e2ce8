"""Rules about the code: is anyone still working on it?"""

from datetime import timedelta

from django.db.models import Q

from catalog.models import Lifecycle, Project, Severity
from catalog.rules.registry import RuleContext, Verdict, rule


@rule("stale-code", title="Stale code", severity=Severity.WARNING, days=90)
def stale_code(context: RuleContext):
    """No commit on the default branch for more than `days` days, in a project that is not deprecated."""
    days = int(context.params["days"])
    rows = (
        Project.objects.filter(
            orphaned_at__isnull=True, repository__last_commit_at__lt=context.now - timedelta(days=days)
        )
        .filter(~Q(lifecycle=Lifecycle.DEPRECATED))
        .values(
            "pk",
            "repository__name",
            "repository__default_branch",
            "repository__last_commit_at",
            "repository__last_commit_sha",
            "repository__last_commit_author_name",
        )
    )
    for row in rows:
        last = row["repository__last_commit_at"]
        age = (context.now - last).days
        yield Verdict(
            project_id=row["pk"],
            message=(
                f"No commit on {row['repository__default_branch'] or 'the default branch'} for {age} days "
                f"(last on {last:%Y-%m-%d} by {row['repository__last_commit_author_name'] or 'unknown'}); "
                f"the limit is {days} days."
            ),
            evidence={
                "repository": row["repository__name"],
                "last_commit_at": last.isoformat(),
                "last_commit_sha": row["repository__last_commit_sha"],
                "last_commit_author": row["repository__last_commit_author_name"],
                "days_since_last_commit": age,
                "threshold_days": days,
            },
        )


@rule("repository-error", title="Repository unreadable", severity=Severity.WARNING)
def repository_error(context: RuleContext):
    """The project's repository could not be read at the last sync; its facts may be out of date."""
    rows = (
        Project.objects.filter(orphaned_at__isnull=True)
        .exclude(repository__last_error="")
        .filter(repository__isnull=False)
        .values(
            "pk",
            "repository__name",
            "repository__last_error",
            "repository__last_error_at",
            "repository__last_read_at",
        )
    )
    for row in rows:
        read = row["repository__last_read_at"]
        yield Verdict(
            project_id=row["pk"],
            message=(
                f"Repository {row['repository__name']} could not be read at the last sync"
                + (f"; its facts date from {read:%Y-%m-%d}." if read else "; it has never been read.")
            ),
            evidence={
                "repository": row["repository__name"],
                "error": row["repository__last_error"],
                "failed_at": row["repository__last_error_at"].isoformat()
                if row["repository__last_error_at"]
                else None,
                "last_read_at": read.isoformat() if read else None,
            },
        )
