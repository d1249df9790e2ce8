"""Rules about ownership: a project nobody owns is a project nobody maintains."""

from django.db.models import Count

from catalog.models import Project, Severity, Team
from catalog.models.people import inactive_q
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


@rule("owner-team-empty", title="Owner team has no members", severity=Severity.WARNING)
def owner_team_empty(context: RuleContext):
    """The project's owner team has no members, or only deactivated ones: nobody is there to maintain it."""
    teams = {
        row["pk"]: row
        for row in Team.objects.annotate(
            members_count=Count("members", distinct=True),
            active_count=Count("members", filter=~inactive_q("members__"), distinct=True),
        )
        .filter(active_count=0)
        .values("pk", "namespace", "name", "title", "members_count")
    }
    rows = Project.objects.filter(orphaned_at__isnull=True, owner_team_id__in=list(teams)).values(
        "pk", "owner_team_id"
    )
    for row in rows:
        team = teams[row["owner_team_id"]]
        ref = f"group:{team['namespace']}/{team['name']}"
        count = team["members_count"]
        why = "has no members" if count == 0 else f"has {count} member{'s' * (count != 1)}, all deactivated"
        yield Verdict(
            project_id=row["pk"],
            message=f"Its owner team {team['title'] or team['name']} ({ref}) {why}: add people to the team, "
            "or hand the project to another team.",
            evidence={"owner": ref, "members": count, "active_members": 0},
        )


@rule("owner-inactive", title="Owner has left", severity=Severity.ERROR)
def owner_inactive(context: RuleContext):
    """The project is owned by a person who was deactivated or is gone from the identity provider."""
    rows = Project.objects.filter(
        inactive_q("owner_person__"), orphaned_at__isnull=True, owner_person__isnull=False
    ).values(
        "pk",
        "owner_person__namespace",
        "owner_person__name",
        "owner_person__title",
        "owner_person__deactivated_at",
        "owner_person__user__is_active",
    )
    for row in rows:
        ref = f"user:{row['owner_person__namespace']}/{row['owner_person__name']}"
        who = row["owner_person__title"] or row["owner_person__name"]
        left = row["owner_person__deactivated_at"]
        when = f"was deactivated on {left:%Y-%m-%d}" if left else "has a deactivated account"
        yield Verdict(
            project_id=row["pk"],
            message=f"Its owner {who} ({ref}) {when}: hand the project to a team.",
            evidence={
                "owner": ref,
                "deactivated_at": left.isoformat() if left else None,
                "account_active": row["owner_person__user__is_active"],
            },
        )
