"""My work: the first page after sign-in. What needs maintenance in the projects and models of my teams
(and those I own myself), ranked as the maintenance view ranks them; the transfer requests waiting for my
decision, and mine waiting for others'; the projects nobody owns that I could claim.

The page's query count does not grow with the number of items (each list is capped and fetched at once).
"""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Exists, OuterRef, Q
from django.views.generic import TemplateView

from catalog.models import Finding, Project, RegisteredModel, Team, TransferRequest
from catalog.permissions import person_of
from catalog.views import (
    SECTION_SIZE,
    count_of,
    needing_attention,
    open_findings_prefetch,
    rank_for_maintenance,
    ranked_projects,
)

PROJECTS_SHOWN = 25
CLAIMABLE_SHOWN = 20


def my_work(user) -> dict:
    """The page's content for ``user``: ``person``, ``teams``, ``projects`` (ranked, each with
    ``open_findings``; ``projects_total`` counts them all), ``models`` and ``team_findings``,
    ``to_decide`` (pending requests for projects I own), ``my_requests`` (my pending ones) and
    ``claimable`` (unowned projects not declared by a descriptor, the most burdened first)."""
    person = person_of(user)
    teams = list(person.teams.order_by("name")) if person is not None else []
    team_ids = [team.pk for team in teams]
    mine = Q(owner_team__in=team_ids)
    if person is not None:
        mine |= Q(owner_person=person)
    owned = Project.objects.filter(mine) if (team_ids or person is not None) else Project.objects.none()
    findings = needing_attention(Finding.objects.filter(resolved_at__isnull=True))
    rows = rank_for_maintenance(findings, owned)
    queryset = Project.objects.select_related("owner_team", "owner_person").prefetch_related(
        open_findings_prefetch(findings)
    )
    model_findings = Exists(findings.filter(registered_model=OuterRef("pk")))
    models = (
        RegisteredModel.objects.filter(model_findings, project__in=owned.values("pk"))
        .select_related("project", "source")
        .prefetch_related(open_findings_prefetch(findings))
        .order_by("name")[:SECTION_SIZE]
    )
    to_decide = (
        TransferRequest.objects.filter(status=TransferRequest.Status.PENDING, project__in=owned.values("pk"))
        .select_related("project", "to_team", "requested_by")
        .order_by("requested_at", "pk")
    )
    my_requests = (
        TransferRequest.objects.filter(status=TransferRequest.Status.PENDING, requested_by=user)
        .select_related("project", "to_team")
        .order_by("requested_at", "pk")
    )
    claimable = (
        Project.objects.filter(owner_team__isnull=True, owner_person__isnull=True, descriptor__isnull=True)
        .annotate(open_findings_count=count_of(findings, "project"))
        .order_by("-maintenance_burden", "name")[:CLAIMABLE_SHOWN]
    )
    decide = list(to_decide[:SECTION_SIZE])
    for transfer in decide:
        transfer.can_decide = True
    return {
        "person": person,
        "teams": teams,
        "projects": ranked_projects(rows[:PROJECTS_SHOWN], queryset),
        "projects_total": rows.count(),
        "projects_shown": PROJECTS_SHOWN,
        "models": list(models),
        "team_findings": list(
            Team.objects.filter(pk__in=team_ids, findings__in=findings)
            .distinct()
            .prefetch_related(open_findings_prefetch(findings))
            .order_by("name")
        )
        if team_ids
        else [],
        "to_decide": decide,
        "my_requests": list(my_requests[:SECTION_SIZE]),
        "claimable": list(claimable),
    }


class MyWorkView(LoginRequiredMixin, TemplateView):
    """``/my-work/``: see ``my_work``."""

    template_name = "catalog/my_work.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **my_work(self.request.user)}
