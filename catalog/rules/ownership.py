"""Rules about ownership: a project nobody owns is a project nobody maintains."""

from catalog.models import Project, Severity
from catalog.rules.registry import RuleContext, Verdict, rule


@rule("no-owner", title="No owner", severity=Severity.ERROR)
def no_owner(context: RuleContext):
    """The project names no owner (team or person)."""
    rows = Project.objects.filter(orphaned_at__isnull=True, owner_ref="").values(
        "pk", "repository__name", "name", "descriptor_id"
    )
    for row in rows:
        how = (
            "declare spec.owner in its catalog-info.yaml"
            if row["descriptor_id"]
            else ("add a catalog-info.yaml that declares spec.owner")
        )
        yield Verdict(
            project_id=row["pk"],
            message=f"No owner: {how}, or claim it in the portal.",
            evidence={"repository": row["repository__name"]},
        )


@rule("owner-unknown", title="Unknown owner", severity=Severity.WARNING)
def owner_unknown(context: RuleContext):
    """The project's owner reference matches no team or person in the catalog."""
    rows = (
        Project.objects.filter(orphaned_at__isnull=True, owner_team__isnull=True, owner_person__isnull=True)
        .exclude(owner_ref="")
        .values("pk", "owner_ref", "descriptor__path")
    )
    for row in rows:
        yield Verdict(
            project_id=row["pk"],
            message=f"Its owner {row['owner_ref']} matches no team or person in the catalog.",
            evidence={"owner_ref": row["owner_ref"], "descriptor": row["descriptor__path"]},
        )
