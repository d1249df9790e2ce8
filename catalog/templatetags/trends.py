"""Template tags of trends: the last 90 days as small charts, and what changed this week."""

from django import template

from catalog.trends import CHART_DAYS, svg_chart, team_history, week_changes

register = template.Library()


@register.inclusion_tag("catalog/partials/trends.html")
def trend_panel(team=None) -> dict:
    """Charts of ``team``'s (None: the organisation's) snapshots and this week's changes (three queries)."""
    history = team_history(team)
    charts = [
        {
            "title": "Open findings",
            "svg": svg_chart([s.open_findings for s in history], label="Open findings"),
        },
        {
            "title": "Maintenance burden",
            "svg": svg_chart([s.burden for s in history], label="Maintenance burden"),
        },
    ]
    scorecards = sorted({name for s in history for name in s.levels})
    for name in scorecards:
        leveled = [sum(n for level, n in s.levels.get(name, {}).items() if level) for s in history]
        title = f"Projects with a level on {name}"
        charts.append({"title": title, "svg": svg_chart(leveled, label=title)})
    return {"charts": charts, "changes": week_changes(team), "days": CHART_DAYS, "team": team}
