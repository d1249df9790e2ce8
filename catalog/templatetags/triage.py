"""Template tags of triage and notifications: a project's triage state, a team's Slack channel."""

from django import template
from django.utils import timezone

from catalog.models import Channel
from catalog.permissions import can_edit_project
from catalog.triage_views import default_until

register = template.Library()


@register.simple_tag(takes_context=True)
def project_triage(context, project) -> dict:
    """``{"can_triage", "default_until"}`` for ``project``'s page (its history: the audit log panel)."""
    user = context["request"].user
    return {"can_triage": can_edit_project(user, project), "default_until": default_until()}


@register.simple_tag
def team_channel(team) -> Channel | None:
    return Channel.objects.filter(team=team).first()


@register.filter
def snoozed_now(finding) -> bool:
    return finding.snoozed_until is not None and finding.snoozed_until > timezone.now()
