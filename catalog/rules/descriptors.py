"""Rules about descriptors: is the project declared, validly, and still declared?"""

from collections import defaultdict

from django.db.models import Exists, OuterRef

from catalog.models import DescriptorFile, Project, Severity, Team
from catalog.rules.registry import RuleContext, Verdict, rule

MAX_ERRORS_IN_EVIDENCE = 20


@rule("invalid-descriptor", title="Invalid descriptor", severity=Severity.ERROR)
def invalid_descriptor(context: RuleContext):
    """A descriptor file of the project or its repository has errors; those documents were not imported."""
    files = (
        DescriptorFile.objects.filter(gone_at__isnull=True)
        .exclude(errors=[])
        .values("pk", "path", "repository_id", "repository__name", "errors")
    )
    files = list(files)
    if not files:
        return
    subjects: dict[tuple[str, int], list[dict]] = defaultdict(list)
    declared = Project.objects.filter(orphaned_at__isnull=True, descriptor__in=[f["pk"] for f in files])
    in_repos = Project.objects.filter(
        orphaned_at__isnull=True, repository__in=[f["repository_id"] for f in files]
    )
    by_file = defaultdict(set)
    for pk, descriptor_id in declared.values_list("pk", "descriptor_id"):
        by_file[descriptor_id].add(pk)
    by_repo = defaultdict(set)
    for pk, repository_id in in_repos.values_list("pk", "repository_id"):
        by_repo[repository_id].add(pk)
    teams_by_file = defaultdict(set)
    for pk, descriptor_id in Team.objects.filter(
        orphaned_at__isnull=True, descriptor__in=[f["pk"] for f in files]
    ).values_list("pk", "descriptor_id"):
        teams_by_file[descriptor_id].add(pk)
    for f in files:
        projects = by_file[f["pk"]] | by_repo.get(f["repository_id"], set())
        targets = [("project", pk) for pk in projects] or [("team", pk) for pk in teams_by_file[f["pk"]]]
        for target in targets:
            subjects[target].append(f)
    for (kind, pk), bad_files in subjects.items():
        errors = [e for f in bad_files for e in f["errors"]]
        first = errors[0]
        where = first["path"] + (f", document {first['document']}" if first.get("document") else "")
        where += f", field {first['field']}" if first.get("field") else ""
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        yield Verdict(
            project_id=pk if kind == "project" else None,
            team_id=pk if kind == "team" else None,
            message=f"Invalid descriptor: {where}: {first['message']}{more}.",
            evidence={
                "files": sorted({f["path"] for f in bad_files}),
                "errors": errors[:MAX_ERRORS_IN_EVIDENCE],
            },
        )


@rule("no-descriptor", title="No descriptor", severity=Severity.INFO)
def no_descriptor(context: RuleContext):
    """The project was found in a repository that has no catalog-info.yaml; it is named after it."""
    has_descriptor = DescriptorFile.objects.filter(repository=OuterRef("repository"), gone_at__isnull=True)
    rows = (
        Project.objects.filter(orphaned_at__isnull=True, descriptor__isnull=True, repository__isnull=False)
        .filter(repository__last_read_at__isnull=False)  # never read: repository-error says so
        .filter(~Exists(has_descriptor))
        .values("pk", "repository__name", "repository__url")
    )
    for row in rows:
        yield Verdict(
            project_id=row["pk"],
            message=(
                f"Repository {row['repository__name']} has no catalog-info.yaml, so its owner, type and "
                "lifecycle are unknown."
            ),
            evidence={"repository": row["repository__name"], "url": row["repository__url"]},
        )


@rule("orphaned", title="Orphaned", severity=Severity.WARNING)
def orphaned(context: RuleContext):
    """The source no longer declares the entity (removed from its descriptor, or its repository is gone)."""
    for model, subject in ((Project, "project_id"), (Team, "team_id")):
        fields = ["pk", "orphaned_at", "source__name", "descriptor__path", "descriptor__gone_at"]
        rows = model.objects.filter(orphaned_at__isnull=False).values(
            *fields, *(["repository__gone_at"] if model is Project else [])
        )
        for row in rows:
            since = row["orphaned_at"]
            if row.get("repository__gone_at"):
                cause = "its repository is no longer listed"
            elif row["descriptor__gone_at"]:
                cause = "its descriptor file is gone"
            else:
                cause = "it is no longer declared"
            yield Verdict(
                **{subject: row["pk"]},
                message=(
                    f"Orphaned since {since:%Y-%m-%d}: {cause} in source {row['source__name'] or 'unknown'}; "
                    "delete it or declare it again."
                ),
                evidence={
                    "orphaned_at": since.isoformat(),
                    "source": row["source__name"],
                    "descriptor": row["descriptor__path"],
                },
            )
