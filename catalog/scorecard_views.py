"""Scorecard pages: every scorecard with its levels, and one scorecard's projects by level and the checks
most often failed, filtered by team (``?team=NAME``), level (``?level=``) and exported with ``?format=csv``.
Everything is read as stored by ``catalog.scorecards.evaluate``; nothing is recomputed on read."""

from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.views.generic import TemplateView

from catalog.exports import csv_response, wants_csv
from catalog.models import ProjectLevel, Scorecard, ScorecardResult, Team
from catalog.views import PAGE_SIZE, PortalReadMixin

FAILED = Q(passed=False, exempt=False)


class ScorecardListView(PortalReadMixin, TemplateView):
    """Every scorecard with its number of projects per level (two queries)."""

    template_name = "catalog/scorecard_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        scorecards = list(Scorecard.objects.prefetch_related("checks"))
        counts = {
            (row["scorecard"], row["level"]): row["n"]
            for row in ProjectLevel.objects.values("scorecard", "level").annotate(n=Count("pk")).order_by()
        }
        for scorecard in scorecards:
            scorecard.level_counts = [
                {"level": level or "none", "count": counts.get((scorecard.pk, level), 0)}
                for level in [*reversed(scorecard.levels), ""]
            ]
        context["scorecards"] = scorecards
        return context


class ScorecardDetailView(PortalReadMixin, TemplateView):
    """One scorecard: projects per level (highest first), the checks most often failed, a project table."""

    template_name = "catalog/scorecard_detail.html"

    def get(self, request, *args, **kwargs):
        self.scorecard = Scorecard.objects.filter(name=kwargs["name"]).first()
        if self.scorecard is None:
            raise Http404(f"no scorecard named {kwargs['name']}")
        self.team = Team.objects.filter(name=request.GET.get("team", "")).first()
        if wants_csv(request):
            return self.csv()
        return super().get(request, *args, **kwargs)

    def levels(self):
        levels = ProjectLevel.objects.filter(scorecard=self.scorecard)
        if self.team is not None:
            levels = levels.filter(project__owner_team=self.team)
        return levels

    def rows(self):
        failed = ScorecardResult.objects.filter(FAILED, check_ref__scorecard=self.scorecard)
        rows = self.levels().select_related("project", "project__owner_team", "project__owner_person")
        level = self.request.GET.get("level")
        if level is not None and (level in self.scorecard.levels or level == ""):
            rows = rows.filter(level=level)
        failed_count = (
            failed.filter(project=OuterRef("project"))
            .order_by()
            .values("project")
            .annotate(n=Count("pk"))
            .values("n")
        )
        failed_checks = Coalesce(Subquery(failed_count, output_field=IntegerField()), Value(0))
        return rows.annotate(failed_checks=failed_checks).order_by("-rank", "project__name")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        checks = {check.pk: check for check in self.scorecard.checks.all()}
        counts = dict(self.levels().values_list("level").annotate(n=Count("pk")).order_by())
        failures = ScorecardResult.objects.filter(FAILED, check_ref__scorecard=self.scorecard)
        if self.team is not None:
            failures = failures.filter(project__owner_team=self.team)
        most_failed = failures.values_list("check_ref").annotate(n=Count("pk")).order_by("-n", "check_ref")
        page = Paginator(self.rows(), PAGE_SIZE).get_page(self.request.GET.get("page"))
        context.update(
            scorecard=self.scorecard,
            team=self.team,
            teams=Team.objects.order_by("name").values_list("name", flat=True),
            level_counts=[
                {"level": level, "count": counts.get(level, 0)}
                for level in [*reversed(self.scorecard.levels), ""]
            ],
            total=sum(counts.values()),
            most_failed=[{"check": checks[pk], "count": n} for pk, n in most_failed[:10] if pk in checks],
            checks=list(checks.values()),
            page=page,
            current_level=self.request.GET.get("level"),
        )
        return context

    def csv(self):
        def records():
            for row in self.rows().iterator(chunk_size=500):
                project = row.project
                owner = project.owner.ref if project.owner else project.owner_ref
                yield [project.ref, owner, row.level, row.failed_checks, row.changed_at.isoformat()]

        header = ["project", "owner", "level", "failed checks", "level since"]
        return csv_response(f"scorecard-{self.scorecard.name}", header, records())
