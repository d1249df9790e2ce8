"""Template tags of triage and notifications: a project's triage state, a team's Slack channel."""

from django import template
from django.utils import timezone

from catalog.models import Channel, TriageEvent
from catalog.permissions import can_edit_project
from catalog.triage_views import default_until

register = template.Library()
HISTORY_SHOWN = 20


@register.simple_tag(takes_context=True)
def project_triage(context, project) -> dict:
    """``{"can_triage", "default_until", "history"}`` for ``project``'s page (two or three queries)."""
    user = context["request"].user
    history = (
        TriageEvent.objects.filter(project=project).select_related("user", "finding").order_by("-at", "-pk")
    )
    return {
        "can_triage": can_edit_project(user, project),
        "default_until": default_until(),
        "history": list(history[:HISTORY_SHOWN]),
    }


@register.simple_tag
def team_channel(team) -> Channel | None:
    return Channel.objects.filter(team=team).first()


@register.filter
def snoozed_now(finding) -> bool:
    return finding.snoozed_until is not None and finding.snoozed_until > timezone.now()
