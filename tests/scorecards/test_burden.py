"""The maintenance burden: its formula, its storage, the team sums and the maintenance ranking."""

from datetime import timedelta

import pytest

from catalog.burden import compute_burden, team_burdens, update_burden
from catalog.models import Finding, Project, ProjectLevel, Severity
from catalog.scorecards.spec import load_scorecards


def test_the_formula(catalog):
    now = catalog.now
    error_9_days = (Severity.ERROR, now - timedelta(days=9, hours=3))
    info_today = (Severity.INFO, now - timedelta(hours=5))
    # production: 1.5 x (9 x 10 days + 1 x 1 day)
    assert compute_burden([error_9_days, info_today], "production", now) == 136.5
    assert compute_burden([error_9_days, info_today], "experimental", now) == 45.5
    assert compute_burden([error_9_days], "deprecated", now) == 22.5
    assert compute_burden([error_9_days], "Production", now) == 135.0
    # an unknown lifecycle weighs 1; age is capped at 365 days
    assert compute_burden([(Severity.CRITICAL, now - timedelta(days=999))], "unknown", now) == 27 * 365
    assert compute_burden([], "production", now) == 0


def test_update_burden_stores_what_changed_and_sums_per_team(catalog):
    team, other = catalog.team("fraud"), catalog.team("search")
    a = catalog.project("a", owner=team)
    b = catalog.project("b", owner=team, lifecycle="experimental")
    catalog.project("c", owner=other, maintenance_burden=12.0)  # stale value: no open finding now
    catalog.finding(a, "stale-code", severity=Severity.WARNING, age_days=30)  # 3 x 31 x 1.5
    catalog.finding(b, "no-descriptor", severity=Severity.ERROR, age_days=1)  # 9 x 2 x 0.5
    catalog.finding(b, "stale-code", severity=Severity.CRITICAL, resolved_at=catalog.now)  # resolved: none
    assert update_burden(now=catalog.now) == 3
    assert dict(Project.objects.values_list("name", "maintenance_burden")) == {"a": 139.5, "b": 9.0, "c": 0.0}
    assert team_burdens() == {team.pk: 148.5, other.pk: 0.0}
    assert update_burden(now=catalog.now) == 0  # nothing changed
    assert update_burden(now=catalog.now + timedelta(days=1)) == 2  # findings age


def test_the_maintenance_view_ranks_by_burden(catalog):
    from catalog.views import rank_for_maintenance

    urgent = catalog.project("urgent")
    old = catalog.project("old")
    catalog.finding(urgent, "repository-error", severity=Severity.CRITICAL, age_days=0)  # 27 x 1 x 1.5 = 40.5
    catalog.finding(old, "stale-code", severity=Severity.WARNING, age_days=60)  # 3 x 61 x 1.5 = 274.5
    findings = Finding.objects.filter(resolved_at__isnull=True)
    # before the burden is known, the worst severity leads
    assert [row["project"] for row in rank_for_maintenance(findings)] == [urgent.pk, old.pk]
    update_burden(now=catalog.now)
    rows = list(rank_for_maintenance(findings))
    assert [(row["project"], row["burden"]) for row in rows] == [(old.pk, 274.5), (urgent.pk, 40.5)]


@pytest.mark.django_db
def test_the_evaluate_task_updates_burden_and_scorecards(catalog):
    from catalog.tasks import evaluate_rules

    load_scorecards(
        "scorecards:\n  - name: basics\n    levels: [ok]\n    checks:\n"
        "      - {id: owned, level: ok, kind: has-owner}\n",
        "cards.yaml",
    )
    catalog.project("owned", owner=catalog.team("fraud"))
    unowned = catalog.project("unowned")
    evaluate_rules()
    assert dict(ProjectLevel.objects.values_list("project__name", "level")) == {"owned": "ok", "unowned": ""}
    unowned.refresh_from_db()
    assert unowned.maintenance_burden > 0 and unowned.findings.filter(rule="no-owner").exists()


def test_manage_evaluate_updates_the_burden(catalog):
    import io

    from django.core.management import call_command

    unowned = catalog.project("unowned")
    call_command("evaluate", "no-owner", stdout=io.StringIO())
    unowned.refresh_from_db()
    assert unowned.findings.filter(rule="no-owner", resolved_at=None).exists()
    assert unowned.maintenance_burden > 0
