"""Rules about who writes the code: a production project that one person carries is one departure from
unmaintained."""

from catalog.models import Lifecycle, Project, RuleConfig, Severity
from catalog.people import normalize_email, people_by_email
from catalog.rules.evaluate import rule_params
from catalog.rules.registry import RULES, RuleContext, Verdict, rule


@rule("bus-factor", title="Bus factor of one", severity=Severity.WARNING, share=0.8, min_commits=5, days=180)
def bus_factor(context: RuleContext):
    """In a production project, one author made more than `share` of the default branch's commits of the
    last `days` days, or everyone who committed in them has left.

    The commits are those the last sync counted per author (``Repository.authors``) over the repository's
    authorship window, ``authors_days``: a git source counts over this rule's ``days`` (unless its config
    sets ``authors_days``), a GitHub or GitLab source over its ``window_days``; messages name the window
    counted. The share is judged from ``min_commits`` commits up; authors are matched to people by e-mail
    (``catalog.people``).
    """
    share, min_commits = float(context.params["share"]), int(context.params["min_commits"])
    rows = list(
        Project.objects.filter(
            orphaned_at__isnull=True, lifecycle=Lifecycle.PRODUCTION, repository__isnull=False
        )
        .exclude(repository__authors=[])
        .values("pk", "repository__name", "repository__authors", "repository__authors_days")
    )
    authors_of = {
        row["pk"]: [a for a in row["repository__authors"] or () if isinstance(a, dict)] for row in rows
    }
    people = people_by_email(str(a.get("email") or "") for authors in authors_of.values() for a in authors)
    for row in rows:
        authors = authors_of[row["pk"]]
        if not authors:
            continue
        days = row["repository__authors_days"]
        total = sum(int(a.get("commits") or 0) for a in authors)
        matched = [people.get(normalize_email(str(a.get("email") or ""))) for a in authors]
        evidence = {
            "repository": row["repository__name"],
            "window_days": days,
            "commits": total,
            "authors": len(authors),
        }
        if all(person is not None and not person.is_active for person in matched):
            names = ", ".join(sorted({person.display_name for person in matched}))
            yield Verdict(
                project_id=row["pk"],
                message=f"Everyone who committed in the last {days} days has left ({names}): "
                "nobody active knows this code.",
                evidence={**evidence, "inactive_authors": sorted(person.ref for person in matched)},
            )
            continue
        top = max(authors, key=lambda a: int(a.get("commits") or 0))
        top_commits = int(top.get("commits") or 0)
        if total < min_commits or top_commits <= share * total:
            continue
        person = people.get(normalize_email(str(top.get("email") or "")))
        who = person.display_name if person else (top.get("name") or top.get("email"))
        yield Verdict(
            project_id=row["pk"],
            message=f"{who} made {top_commits} of the {total} commits on the default branch in the last "
            f"{days} days ({top_commits / total:.0%}; the limit is {share:.0%}).",
            evidence={
                **evidence,
                "top_author": {"name": top.get("name"), "email": top.get("email"), "commits": top_commits},
                "top_author_person": person.ref if person else None,
                "share": round(top_commits / total, 4),
                "threshold_share": share,
            },
        )


def authorship_days() -> int:
    """The ``days`` of the bus-factor rule (defaults, settings, then the admin's): the window over which a
    git source's sync counts every author's commits."""
    config = RuleConfig.objects.filter(code="bus-factor").first()
    return int(rule_params(RULES["bus-factor"], config)["days"])
