"""The main journeys, end to end in Chromium: find a project, filter the maintenance view and open what it
lists, open a model. Each also checks that the Content Security Policy held on every page it went through.

Snoozing a finding, claiming a project and handing one over are in test_ownership.py.
"""

import re

import pytest
from playwright.sync_api import expect

from catalog.models import ModelVersion, Severity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def journey_catalog(catalog):
    fraud = catalog.team("fraud", title="Fraud detection")
    nlp = catalog.team("nlp", title="Language")
    scorer = catalog.project("fraud-scorer", owner=fraud, description="Scores card payments in real time.")
    catalog.project("churn-predictor", owner=nlp, description="Predicts churn.")
    tagger = catalog.project("tagger", owner=nlp, lifecycle="experimental")
    catalog.finding(scorer, "stale-code", severity=Severity.CRITICAL, message="No commit for 200 days.")
    catalog.finding(tagger, "no-descriptor", severity=Severity.INFO, message="No catalog-info.yaml.")
    model = catalog.registered_model("churn-model", description="Gradient boosting on usage events.")
    ModelVersion.objects.create(registered_model=model, version="3", aliases=["champion"], run_id="r3")
    catalog.finding(model, "orphan-model", severity=Severity.WARNING, message="churn-model has no project.")
    return {"scorer": scorer, "model": model}


def test_find_a_project(page, live_server, sign_in, journey_catalog, watched):
    sign_in()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Projects").click()
    expect(page).to_have_url(f"{live_server.url}/projects/")
    page.get_by_placeholder("Search name, title, description, tags").press_sequentially("payments", delay=20)
    rows = page.locator("#project-table tbody tr")
    expect(rows).to_have_count(1)
    rows.first.get_by_role("link", name=re.compile("fraud-scorer")).click()

    expect(page).to_have_url(f"{live_server.url}/projects/default/fraud-scorer/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("fraud-scorer")
    expect(page.locator(".description")).to_have_text("Scores card payments in real time.")
    expect(page.locator("#open-findings")).to_contain_text("No commit for 200 days.")
    assert watched() == []


def test_filter_the_maintenance_view_and_open_a_project(page, live_server, sign_in, journey_catalog, watched):
    sign_in()
    listed = page.locator("#results .maintenance-list .subject-name")
    expect(listed.first).to_have_text("fraud-scorer")
    page.locator("select[name=team]").select_option(label="nlp")
    expect(page).to_have_url(re.compile(r"[?&]team=nlp\b"))
    expect(page.locator("#results")).not_to_contain_text("fraud-scorer")
    page.locator("select[name=team]").select_option("")
    page.locator("select[name=severity]").select_option(str(Severity.CRITICAL.value))
    expect(page).to_have_url(re.compile(r"[?&]severity=40\b"))
    expect(page.locator("#results .maintenance-list").first.locator(".subject-name")).to_have_text(
        ["fraud-scorer"]
    )

    page.locator("#results").get_by_role("link", name="fraud-scorer").first.click()
    expect(page).to_have_url(f"{live_server.url}/projects/default/fraud-scorer/")
    expect(page.locator("#open-findings")).to_contain_text("No commit for 200 days.")
    # Back to the filtered view, as it was.
    page.go_back()
    expect(page).to_have_url(re.compile(r"[?&]severity=40\b"))
    expect(page.locator("select[name=severity]")).to_have_value("40")
    assert watched() == []


def test_open_a_model(page, live_server, sign_in, journey_catalog, watched):
    sign_in()
    models = page.locator("#models-with-findings")
    expect(models).to_contain_text("churn-model has no project.")
    models.get_by_role("link", name="churn-model", exact=True).click()

    expect(page).to_have_url(re.compile(r"/models/git-main/churn-model/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("churn-model")
    expect(page.locator(".page-head")).to_contain_text("no project")
    versions = page.locator("section", has=page.get_by_role("heading", name="Versions"))
    expect(versions.locator("tbody tr")).to_have_count(1)
    expect(versions.locator("tbody tr")).to_contain_text("v3")
    expect(versions.locator("tbody tr")).to_contain_text("@champion")
    expect(page.locator(".description")).to_have_text("Gradient boosting on usage events.")
    assert watched() == []
