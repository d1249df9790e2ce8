"""Scorecards and trend charts in a real browser; keeps a screenshot of the home page with its charts."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from catalog.burden import update_burden
from catalog.models import Severity, TeamSnapshot
from catalog.scorecards.evaluate import evaluate_scorecards
from catalog.scorecards.spec import load_scorecards
from tests.browser.conftest import ARTIFACTS
from tests.scorecards.test_scorecards import READINESS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def scored(catalog):
    load_scorecards(READINESS, "platform/scorecards.yaml")
    fraud, search = catalog.team("fraud"), catalog.team("search")
    descriptor = catalog.descriptor_file()
    alpha = catalog.project("alpha", owner=fraud, descriptor=descriptor)
    catalog.project("bravo", owner=fraud)
    charlie = catalog.project("charlie", owner=search, descriptor=descriptor)
    catalog.finding(alpha, "stale-code", severity=Severity.CRITICAL, age_days=3)
    catalog.finding(charlie, "no-ci", severity=Severity.WARNING, age_days=40)
    update_burden(now=catalog.now)
    evaluate_scorecards(now=catalog.now)
    today = datetime.now(UTC).date()
    for day in range(30):  # a month of history, findings falling and burden rising
        for team in (None, fraud):
            TeamSnapshot.objects.create(
                team=team,
                date=today - timedelta(days=29 - day),
                projects=3,
                open_findings=30 - day,
                burden=10.0 * day,
                levels={"ml-readiness": {"bronze": day // 10, "": 3 - day // 10}},
            )
    return catalog


def test_the_scorecard_page_and_its_team_filter(page, live_server, sign_in, scored):
    sign_in()
    page.get_by_role("link", name="Scorecards").click()
    page.get_by_role("link", name="ML readiness").click()
    expect(page.get_by_role("heading", name="ML readiness")).to_be_visible()
    expect(page.locator("#most-failed li").first).to_contain_text("failed by 3")
    expect(page.locator("#projects tbody tr")).to_have_count(3)
    page.locator("select[name=team]").select_option("fraud")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#projects tbody tr")).to_have_count(2)
    expect(page.locator("#projects")).not_to_contain_text("charlie")

    page.locator("#projects").get_by_role("link", name="bravo").click()
    expect(page.locator("#scorecards")).to_contain_text("To reach bronze")
    expect(page.locator("#scorecards .next-steps")).to_contain_text("No descriptor declares it.")


def test_the_home_page_charts_render(page, live_server, sign_in, scored):
    sign_in()
    charts = page.locator("#trends svg.chart")
    expect(charts).to_have_count(3)
    line = charts.first.locator("polyline")
    assert len(line.get_attribute("points").split()) == 30
    box = charts.first.bounding_box()
    assert box["width"] > 100 and box["height"] > 20  # laid out, not collapsed by the stylesheet
    expect(charts.first).to_have_attribute(
        "aria-label", "Open findings: 1 now, between 1 and 30 over 30 days"
    )
    expect(page.locator("#trends .week-changes")).to_contain_text("level up")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "home-with-charts.png"), full_page=True)
    assert (ARTIFACTS / "home-with-charts.png").stat().st_size > 10_000
