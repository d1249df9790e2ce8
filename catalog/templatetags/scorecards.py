"""Template tags of scorecards: a project's levels and what it takes to reach the next one."""

from django import template

from catalog.models import ProjectLevel, ScorecardResult
from catalog.scorecards.evaluate import next_level_steps

register = template.Library()


@register.simple_tag
def project_scorecards(project) -> list[dict]:
    """Per scorecard scoring ``project``: ``{"scorecard", "level", "results", "next_level", "steps"}``
    (two queries: its levels, its results)."""
    levels = list(ProjectLevel.objects.filter(project=project).select_related("scorecard"))
    results: dict[int, list[ScorecardResult]] = {}
    rows = ScorecardResult.objects.filter(project=project).select_related("check_ref")
    for result in rows.order_by("check_ref__position", "check_ref__code"):
        results.setdefault(result.check_ref.scorecard_id, []).append(result)
    cards = []
    for row in sorted(levels, key=lambda r: r.scorecard.name):
        mine = results.get(row.scorecard_id, [])
        next_level, steps = next_level_steps(project, row.scorecard, mine)
        cards.append(
            {
                "scorecard": row.scorecard,
                "level": row.level,
                "changed_at": row.changed_at,
                "results": mine,
                "next_level": next_level,
                "steps": steps,
            }
        )
    return cards
