"""Single sign-on in Chromium: the login page's "Sign in with ..." button, the real provider's login form,
and back to the portal signed in; then a team edited in the portal. The page's Content Security Policy
must let the sign-in form's redirect go to the provider (form-action)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from playwright.sync_api import expect

from catalog.models import Person
from tests.oidc.conftest import oidc_provider_dir, portal_settings_for, running_provider

__all__ = ["oidc_provider_dir"]  # a fixture this module uses

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live_sso(oidc_provider_dir, live_server, settings, tmp_path):
    callback = f"{live_server.url}/accounts/oidc/sso/login/callback/"
    with running_provider(oidc_provider_dir, callback, tmp_path) as provider:
        portal_settings_for(provider, settings)
        yield provider


def test_sign_in_with_the_provider_then_edit_my_team(page, live_server, live_sso, catalog):
    catalog.team("fraud")
    live_sso.add_account(
        "sub-ada", email="ada@example.com", name="Ada Lovelace", preferred_username="ada", groups=["fraud"]
    )
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    page.goto(f"{live_server.url}/login/")
    page.get_by_role("button", name="Sign in with Test IdP").click()
    page.get_by_label("Account").fill("sub-ada")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}{resolve_url(settings.LOGIN_REDIRECT_URL)}")
    assert not violations, violations
    expect(page.locator(".account")).to_contain_text("ada")

    page.goto(f"{live_server.url}/teams/default/fraud/")
    expect(page.locator("#members")).to_contain_text("Ada Lovelace")
    page.get_by_role("link", name="Edit team").click()
    page.get_by_label("Title").fill("Fraud detection")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{live_server.url}/teams/default/fraud/")
    expect(page.locator("h1")).to_contain_text("Fraud detection")
    assert Person.objects.get().user.username == page.locator(".account .muted").inner_text()
    assert not violations, violations
