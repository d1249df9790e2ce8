"""Ownership and triage journeys in Chromium: sign in, claim a project, request a transfer as one user and
accept it as a member of the owner team, see it in the audit log and on "My work"; snooze a finding from
the project page and see it leave the maintenance view. Each change happens in place (htmx, no reload):
a marker set on the page's window before the click is still there after it."""

import re

import pytest
from playwright.sync_api import expect

from catalog.models import Project, Severity, TransferRequest
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people(catalog, django_user_model):
    """alice (team nlp), bob (team fraud, which owns fraud-scorer), a project nobody owns."""
    nlp = catalog.team("nlp")
    fraud = catalog.team("fraud")
    for name, team in (("alice", nlp), ("bob", fraud)):
        user = django_user_model.objects.create_user(name, password=PASSWORD)
        catalog.person(name, user=user, teams=[team])
    scorer = catalog.project("fraud-scorer", owner=fraud)
    catalog.finding(scorer, "ci-failing", severity=Severity.ERROR, message="CI red for 9 days.")
    catalog.project("orphan-notebook", source=None, type="notebook")
    return {"nlp": nlp, "fraud": fraud}


def mark(page) -> None:
    page.evaluate("window.__noReload = true")


def not_reloaded(page) -> bool:
    return page.evaluate("window.__noReload === true")


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login/$"))


def test_claim_request_and_accept_a_transfer(page, live_server, sign_in, people, watched):
    # alice lands on My work, which offers the project nobody owns; she claims it for her team.
    sign_in("alice", create=False, home=False)
    expect(page.get_by_role("heading", level=1)).to_have_text("My work")
    page.locator("#claimable").get_by_role("link", name="orphan-notebook").click()
    expect(page).to_have_url(f"{live_server.url}/projects/default/orphan-notebook/")
    panel = page.locator("#ownership")
    mark(page)
    panel.get_by_label("Team to claim for").select_option(label="nlp")
    panel.get_by_role("button", name="Claim").click()
    expect(panel.locator("#owner-now")).to_have_text("nlp")
    expect(page.locator("#audit-history")).to_contain_text("alice claimed it for group:default/nlp")
    assert not_reloaded(page)
    assert Project.objects.get(name="orphan-notebook").owner_team == people["nlp"]

    # She asks for fraud-scorer, owned by fraud.
    page.goto(f"{live_server.url}/projects/default/fraud-scorer/")
    mark(page)
    panel.get_by_label("Team to hand it to").select_option(label="nlp")
    panel.get_by_label("Transfer reason").fill("nlp runs the scorer now")
    panel.get_by_role("button", name="Request transfer").click()
    expect(panel.locator("#pending-transfers")).to_contain_text("nlp asked by alice")
    expect(panel.get_by_role("button", name="Accept")).to_have_count(0)  # not hers to accept
    expect(page.locator("#audit-history")).to_contain_text("alice asked that nlp owns it")
    assert not_reloaded(page)
    sign_out(page)

    # bob, of the owner team, sees it on My work and accepts it there.
    sign_in("bob", create=False, home=False)
    to_decide = page.locator("#to-decide")
    expect(to_decide).to_contain_text("fraud-scorer: nlp asks for it (alice")
    expect(to_decide).to_contain_text("nlp runs the scorer now")
    mark(page)
    to_decide.get_by_role("button", name="Accept").click()
    expect(to_decide.locator(".transfer .tag")).to_have_text("accepted")
    assert not_reloaded(page)
    assert TransferRequest.objects.get().status == "accepted"

    # The audit log on the project page says who asked and who accepted.
    page.goto(f"{live_server.url}/projects/default/fraud-scorer/")
    expect(page.locator("#owner-now")).to_have_text("nlp")
    history = page.locator("#audit-history")
    expect(history).to_contain_text("bob accepted the transfer to nlp")
    expect(history).to_contain_text("bob made group:default/nlp the owner")
    expect(history).to_contain_text("alice asked that nlp owns it")
    sign_out(page)

    # alice's My work now lists the scorer's finding.
    sign_in("alice", create=False, home=False)
    expect(page.locator("#my-maintenance")).to_contain_text("CI red for 9 days.")
    assert watched() == []


@pytest.fixture
def snoozable(catalog, django_user_model):
    team = catalog.team("platform")
    user = django_user_model.objects.create_user("carol", password=PASSWORD)
    catalog.person("carol", user=user, teams=[team])
    project = catalog.project("feature-store", owner=team)
    catalog.finding(project, "stale-code", severity=Severity.CRITICAL, message="No commit for 300 days.")
    catalog.finding(project, "no-ci", severity=Severity.WARNING, message="No CI pipeline.")
    return project


def test_snooze_a_finding_and_it_leaves_the_maintenance_view(page, live_server, sign_in, snoozable, watched):
    sign_in("carol", create=False)
    results = page.locator("#results")
    expect(results).to_contain_text("No commit for 300 days.")
    results.get_by_role("link", name="feature-store").first.click()
    expect(page).to_have_url(f"{live_server.url}/projects/default/feature-store/")

    finding = page.locator("#open-findings li.finding", has_text="No commit for 300 days.")
    mark(page)
    finding.get_by_label("Snooze reason").fill("archiving it next sprint")
    finding.get_by_role("button", name="Snooze").click()
    expect(finding.locator(".triage")).to_contain_text("snoozed until")
    expect(finding.locator(".triage")).to_contain_text("archiving it next sprint")
    expect(page.locator("#audit-history")).to_contain_text("carol snoozed stale-code until")
    assert not_reloaded(page)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Maintenance").click()
    expect(results).to_contain_text("No CI pipeline.")
    expect(results).not_to_contain_text("No commit for 300 days.")
    assert watched() == []
