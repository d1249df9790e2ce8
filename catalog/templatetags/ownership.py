"""Template tags of a project's page: its ownership panel and its audit history."""

from django import template

from catalog.audit import project_history
from catalog.ownership_views import ownership_context

register = template.Library()


@register.simple_tag(takes_context=True)
def project_ownership(context, project) -> dict:
    """What the ownership panel shows the request's user (``ownership_views.ownership_context``)."""
    return ownership_context(project, context["request"].user)


@register.simple_tag
def audit_history(project) -> list:
    """The project's audit entries, newest first (``audit.project_history``)."""
    return project_history(project)
