"""The Content Security Policy holds on every page: no inline script or style, no eval, nothing from
elsewhere. Each page is loaded (and its htmx requests made) in Chromium, which reports every violation as a
``securitypolicyviolation`` event and a console error; a test fails on any."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from catalog.models import Project, RegisteredModel, Source, SyncRun, Team

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def catalog_pages(catalog) -> list[str]:
    catalog.populate(6)
    project = Project.objects.order_by("name").first()
    team = Team.objects.order_by("name").first()
    person = catalog.person("ada", teams=[team])
    model = RegisteredModel.objects.order_by("name").first()
    run = SyncRun.objects.first()
    source = Source.objects.first()
    return [
        reverse("maintenance"),
        reverse("my-work"),
        reverse("project-list"),
        reverse("project-detail", args=[project.namespace, project.name]),
        reverse("team-list"),
        reverse("team-detail", args=[team.namespace, team.name]),
        reverse("person-detail", args=[person.namespace, person.name]),
        reverse("syncrun-list"),
        reverse("syncrun-detail", args=[run.pk]),
        reverse("source-list"),
        reverse("model-list"),
        reverse("model-detail", args=[model.source.name, model.name]),
        reverse("admin:index"),
        reverse("admin:catalog_source_changelist"),
        reverse("admin:catalog_source_change", args=[source.pk]),
        reverse("admin:catalog_project_change", args=[project.pk]),
        reverse("admin:auditlog_logentry_changelist"),
    ]


def test_every_page_satisfies_the_policy(page, live_server, catalog, django_user_model, watched):
    urls = catalog_pages(catalog)
    django_user_model.objects.create_superuser("admin", password="a-long-test-password-1")
    page.goto(f"{live_server.url}/login/")
    assert watched() == []
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("a-long-test-password-1")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/my-work/")
    assert watched() == []
    for url in urls:
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == 200, url
        policy = dict(d.strip().split(" ", 1) for d in response.headers["content-security-policy"].split(";"))
        assert policy["script-src"] == policy["style-src"] == "'self'", url
        assert watched() == [], url
    # The REST API's pages come from DRF's and drf-spectacular's templates, which have inline code: only
    # their HTML gets 'unsafe-inline' (portal/csp.py), and they hold to the rest of the policy.
    for url in ("/api/v1/", "/api/v1/projects/", "/api/docs/"):
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == 200, url
        policy = dict(d.strip().split(" ", 1) for d in response.headers["content-security-policy"].split(";"))
        assert policy["script-src"] == "'self' 'unsafe-inline'" and policy["frame-ancestors"] == "'none'", url
        assert watched() == [], url


def test_htmx_updates_satisfy_the_policy(page, live_server, sign_in, catalog, watched):
    catalog.populate(6)
    sign_in()
    page.locator("select[name=severity]").select_option("30")
    expect(page).to_have_url(re.compile(r"[?&]severity=30\b"))
    page.goto(f"{live_server.url}/projects/")
    page.get_by_placeholder("Search name, title, description, tags").press_sequentially(
        "project-00", delay=20
    )
    expect(page).to_have_url(re.compile(r"[?&]q=project-00\b"))
    # htmx injected no indicator <style> (includeIndicatorStyles is off): nothing for the policy to block.
    assert page.locator("head style").count() == 0
    assert watched() == []


def test_the_check_sees_a_violation(page, live_server, watched):
    """The harness itself: a page given inline code (under the portal's own policy) is reported at once."""

    def inject(route):
        response = route.fetch()
        body = response.text().replace("</main>", '<div style="color: red">x</div><script>1</script></main>')
        route.fulfill(response=response, body=body)

    page.route(f"{live_server.url}/login/", inject)
    response = page.goto(f"{live_server.url}/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    found = watched()
    assert any("script-src" in v for v in found) and any("style-src" in v for v in found), found
