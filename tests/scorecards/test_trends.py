"""Daily snapshots (idempotent per day, each project counted once), this week's changes, and the charts."""

from datetime import timedelta

from django.conf import settings
from django.urls import reverse

from catalog.burden import update_burden
from catalog.models import Project, RuleSnapshot, Severity, TeamSnapshot
from catalog.scorecards.evaluate import evaluate_scorecards
from catalog.scorecards.spec import load_scorecards
from catalog.trends import svg_chart, take_snapshots, team_history, week_changes

CARDS = """\
scorecards:
  - name: basics
    levels: [ok]
    checks:
      - {id: owned, level: ok, kind: has-owner}
"""


def build(catalog):
    fraud, search = catalog.team("fraud"), catalog.team("search")
    a = catalog.project("a", owner=fraud)
    b = catalog.project("b", owner=fraud, lifecycle="experimental")
    c = catalog.project("c", owner=search)
    loose = catalog.project("loose")  # no owner
    gone = catalog.project("gone", owner=fraud, orphaned_at=catalog.now)
    catalog.finding(a, "stale-code", age_days=10)
    catalog.finding(a, "no-descriptor", severity=Severity.ERROR, age_days=3)
    catalog.finding(b, "stale-code", age_days=1)
    catalog.finding(loose, "no-owner", age_days=2)
    catalog.finding(gone, "orphaned", age_days=1)  # an orphan's findings count for no team
    catalog.finding(fraud, "no-owner", age_days=1)  # a team's own finding: rules only
    catalog.finding(c, "stale-code", age_days=30, resolved_at=catalog.now - timedelta(days=2))
    load_scorecards(CARDS, "cards.yaml")
    update_burden(now=catalog.now)
    evaluate_scorecards(now=catalog.now)
    return fraud, search


def test_snapshots_count_each_project_once_and_rewrite_the_day(catalog):
    fraud, search = build(catalog)
    day = catalog.now.date()
    assert take_snapshots(day=day) == (3, 4)
    rows = {row.team_id: row for row in TeamSnapshot.objects.filter(date=day)}
    burdens = dict(Project.objects.values_list("name", "maintenance_burden"))
    assert (rows[fraud.pk].projects, rows[fraud.pk].open_findings) == (2, 3)
    assert rows[fraud.pk].burden == round(burdens["a"] + burdens["b"], 1)
    assert rows[fraud.pk].levels == {"basics": {"ok": 2}}
    assert (rows[search.pk].projects, rows[search.pk].open_findings, rows[search.pk].levels) == (
        1,
        0,
        {"basics": {"ok": 1}},
    )
    org = rows[None]
    assert (org.projects, org.open_findings, org.levels) == (4, 4, {"basics": {"ok": 3, "": 1}})
    assert org.burden == round(sum(burdens[name] for name in "abc") + burdens["loose"], 1)
    assert dict(RuleSnapshot.objects.filter(date=day).values_list("rule", "open_findings")) == {
        "stale-code": 2,
        "no-descriptor": 1,
        "no-owner": 2,
        "orphaned": 1,
    }
    # a second run the same day rewrites the day: nothing is counted twice
    catalog.finding(Project.objects.get(name="c"), "no-ci")
    assert take_snapshots(day=day) == (3, 5)
    assert TeamSnapshot.objects.filter(date=day).count() == 3
    assert TeamSnapshot.objects.get(date=day, team=None).open_findings == 5
    assert TeamSnapshot.objects.get(date=day, team=search).open_findings == 1
    # another day adds rows
    take_snapshots(day=day + timedelta(days=1))
    assert TeamSnapshot.objects.count() == 6
    history = team_history(fraud, today=day + timedelta(days=1))
    assert [row.date for row in history] == [day, day + timedelta(days=1)]
    assert team_history(fraud, today=day + timedelta(days=91)) == []


def test_an_empty_catalog_still_has_an_organisation_row(db):
    assert take_snapshots() == (1, 0)
    assert TeamSnapshot.objects.get().projects == 0


def test_week_changes(catalog):
    fraud, _ = build(catalog)
    now = catalog.now
    changes = week_changes(None, now=now)
    assert (changes.opened, changes.fixed, changes.level_ups, changes.level_downs) == (4, 1, 0, 0)
    fraud_changes = week_changes(fraud, now=now)
    assert (fraud_changes.opened, fraud_changes.fixed) == (3, 0)  # a, b, gone (a's other is 10 days old)
    Project.objects.filter(name="a").update(owner_team=None, owner_ref="")
    evaluate_scorecards(now=now)
    changes = week_changes(None, now=now)
    assert (changes.level_ups, changes.level_downs) == (0, 1)


def test_svg_chart():
    svg = svg_chart([3, 5, 4], label="Open findings")
    assert svg.startswith('<svg class="chart" role="img" aria-label="Open findings: 4 now, between 3 and 5')
    assert 'points="2.0,46.0 120.0,2.0 238.0,24.0"' in svg
    assert "<title>" in svg and svg.endswith("</svg>")
    assert "no snapshot yet" in svg_chart([], label="x")
    assert "&lt;b&gt;" in svg_chart([1], label="<b>")


def test_the_home_and_team_pages_show_the_charts(client, outsider, catalog):
    build(catalog)
    take_snapshots()  # today: the charts show the last 90 days
    client.force_login(outsider)
    home = client.get(reverse("maintenance")).content.decode()
    trends = home.split('id="trends"')[1].split("</section>")[0]
    assert trends.count("<svg") == 3 and "Projects with a level on basics" in trends
    team = client.get(reverse("team-detail", args=["default", "fraud"])).content.decode()
    assert 'id="trends"' in team


def test_snapshots_run_daily_from_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["trend snapshots"]
    assert entry["task"] == "catalog.tasks.take_snapshots"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({23}, {50})
    from portal.celery import app

    app.loader.import_default_modules()
    assert "catalog.tasks.take_snapshots" in app.tasks
