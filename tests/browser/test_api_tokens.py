"""The profile page's API tokens in Chromium: make one (htmx swaps the block in, the token shows once), use
it against the API, revoke it (after a confirmation)."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_make_use_and_revoke_a_token(page, live_server, sign_in, catalog):
    catalog.populate(2)
    sign_in()
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    page.get_by_label("Name").fill("coverage reporter")
    page.get_by_label("Expires").select_option("30")
    page.get_by_role("button", name="Make token").click()
    token = page.locator("#new-token")
    expect(token).to_contain_text("mlp_")
    secret = token.inner_text()
    assert page.url.endswith("/profile/tokens/")  # swapped in place, no navigation
    expect(page.locator("#token-table")).to_contain_text("coverage reporter")

    answer = page.request.get(
        f"{live_server.url}/api/v1/projects/", headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.status == 200 and answer.json()["count"] == 2

    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke").click()
    expect(page.locator("#token-table")).to_contain_text("revoked")
    expect(page.locator("#new-token")).to_have_count(0)
    answer = page.request.get(
        f"{live_server.url}/api/v1/projects/", headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.status == 401
