"""The maintenance view and the project list in a real browser: htmx updates in place, URLs stay shareable."""

import re

import pytest
from playwright.sync_api import expect

from catalog.models import Severity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MARKER = "window.__portalMarker"


@pytest.fixture
def maintenance_catalog(catalog):
    """Four projects with findings: alpha (critical), bravo (error), charlie (warning), delta (info)."""
    fraud = catalog.team("fraud", title="Fraud detection")
    platform = catalog.team("ml-platform", title="ML Platform")
    projects = {
        "alpha": catalog.project("alpha", owner=fraud, description="Scores card payments."),
        "bravo": catalog.project(
            "bravo", owner=platform, tags=["nlp", "transformers"], lifecycle="experimental"
        ),
        "charlie": catalog.project("charlie", owner=fraud, type="pipeline"),
        "delta": catalog.project("delta", owner=platform, lifecycle="deprecated"),
    }
    catalog.finding(projects["alpha"], "stale-code", severity=Severity.CRITICAL, message="Alpha is stale.")
    catalog.finding(projects["bravo"], "no-owner", severity=Severity.ERROR, message="Bravo has no owner.")
    catalog.finding(projects["charlie"], "stale-code", severity=Severity.WARNING, message="Charlie is stale.")
    catalog.finding(
        projects["delta"], "no-descriptor", severity=Severity.INFO, message="Delta has no descriptor."
    )
    return {"fraud": fraud, "platform": platform, **projects}


def listed(page):
    return page.locator("#results .maintenance-list .subject-name")


def test_maintenance_filters_update_in_place(page, live_server, sign_in, maintenance_catalog):
    sign_in()
    expect(listed(page)).to_have_text(["alpha", "bravo", "charlie", "delta"])
    page.evaluate(f"{MARKER} = 'no reload'")

    page.locator("select[name=team]").select_option(label="fraud")
    expect(page).to_have_url(re.compile(r"[?&]team=fraud\b"))
    expect(listed(page)).to_have_text(["alpha", "charlie"])

    page.locator("select[name=rule]").select_option("stale-code")
    expect(page).to_have_url(re.compile(r"[?&]rule=stale-code\b"))
    page.locator("select[name=severity]").select_option(str(Severity.ERROR.value))
    expect(page).to_have_url(re.compile(r"[?&]severity=30\b"))
    expect(listed(page)).to_have_text(["alpha"])
    expect(page.locator("#finding-counts")).to_contain_text("1 open finding")

    # Still the same document: htmx swapped the results block, the page did not load again.
    assert page.evaluate(MARKER) == "no reload"

    # The URL is shareable: loading it renders the same filtered list, and the form shows the filters.
    filtered_url = page.url
    page.reload()
    assert page.evaluate(f"typeof {MARKER}") == "undefined"
    assert page.url == filtered_url
    expect(listed(page)).to_have_text(["alpha"])
    expect(page.locator("select[name=team]")).to_have_value("fraud")
    expect(page.locator("select[name=rule]")).to_have_value("stale-code")
    expect(page.locator("select[name=severity]")).to_have_value("30")


def test_maintenance_search_and_lifecycle(page, live_server, sign_in, maintenance_catalog):
    sign_in()
    page.evaluate(f"{MARKER} = 'no reload'")
    page.locator("select[name=lifecycle]").select_option("deprecated")
    expect(listed(page)).to_have_text(["delta"])
    page.locator("select[name=lifecycle]").select_option("")
    expect(listed(page)).to_have_count(4)
    page.locator("input[type=search]").press_sequentially("payments", delay=20)
    expect(page).to_have_url(re.compile(r"[?&]q=payments\b"))
    expect(listed(page)).to_have_text(["alpha"])
    assert page.evaluate(MARKER) == "no reload"


def test_project_search_narrows_the_table_live(page, live_server, sign_in, maintenance_catalog):
    sign_in()
    page.goto(f"{live_server.url}/projects/")
    rows = page.locator("#project-table tbody tr")
    expect(rows).to_have_count(4)
    page.evaluate(f"{MARKER} = 'no reload'")

    page.get_by_placeholder("Search name, title, description, tags").press_sequentially("transf", delay=20)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("bravo")
    expect(page).to_have_url(re.compile(r"[?&]q=transf\b"))
    assert page.evaluate(MARKER) == "no reload"

    # Clearing the box (the search event) shows every project again.
    page.get_by_placeholder("Search name, title, description, tags").fill("")
    page.get_by_placeholder("Search name, title, description, tags").press("Enter")
    expect(rows).to_have_count(4)

    # Sorting is in place too.
    page.locator("#project-table thead a", has_text="Name").click()
    expect(page).to_have_url(re.compile(r"[?&]sort=name\b"))
    page.locator("#project-table thead a", has_text="Name").click()
    expect(page).to_have_url(re.compile(r"[?&]sort=-name\b"))
    expect(rows.first).to_contain_text("delta")
    assert page.evaluate(MARKER) == "no reload"
