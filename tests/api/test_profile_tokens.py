"""The profile page's API tokens: sign-in and CSRF required, a token shown once, revoking, service tokens
for staff only, htmx partials."""

import re

import pytest
from django.test import Client

from catalog.models import APIToken
from tests.api.conftest import bearer

pytestmark = pytest.mark.django_db
URL = "/profile/tokens/"


def made_token(response) -> str:
    match = re.search(r'<code id="new-token">(mlp_[^<]+)</code>', response.content.decode())
    assert match, response.content.decode()[:2000]
    return match[1]


def test_sign_in_is_required(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.post(URL, {"name": "x"}).status_code == 302
    assert not APIToken.objects.exists()


def test_make_a_token_see_it_once_and_use_it(client, member):
    client.force_login(member)
    response = client.post(URL, {"name": "coverage reporter", "expires_in_days": "30"})
    assert response.status_code == 201
    token = made_token(response)
    row = APIToken.objects.get()
    assert (row.user, row.name, row.kind) == (member, "coverage reporter", "personal")
    assert 29 <= (row.expires_at - row.created_at).days <= 30
    assert bearer(token).get("/api/v1/projects/").status_code == 200
    page = client.get(URL).content.decode()
    assert token not in page and row.display_prefix in page and "coverage reporter" in page


def test_revoke_my_token_but_not_someone_elses(client, member, outsider):
    mine, token = APIToken.objects.issue(member, "mine")
    theirs, _ = APIToken.objects.issue(outsider, "theirs")
    client.force_login(member)
    assert client.post(f"/profile/tokens/{theirs.pk}/revoke/").status_code == 404
    assert "theirs" not in client.get(URL).content.decode()
    assert client.post(f"/profile/tokens/{mine.pk}/revoke/").status_code == 200
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None and theirs.revoked_at is None
    assert bearer(token).get("/api/v1/").status_code == 401


def test_service_tokens_are_for_staff(client, member, staff):
    client.force_login(member)
    client.post(URL, {"name": "svc", "kind": "service"})
    assert APIToken.objects.get().kind == "personal"  # the field is not offered to non-staff
    client.force_login(staff)
    assert client.post(URL, {"name": "backstage", "kind": "service"}).status_code == 201
    service = APIToken.objects.get(kind="service")
    assert service.user == staff
    other_staff = type(staff).objects.create_user("staff2", is_staff=True)
    client.force_login(other_staff)
    assert "backstage" in client.get(URL).content.decode()
    assert client.post(f"/profile/tokens/{service.pk}/revoke/").status_code == 200


def test_forms_need_csrf(member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    assert client.post(URL, {"name": "x"}).status_code == 403
    assert not APIToken.objects.exists()


def test_htmx_gets_the_token_block_only(client, member):
    client.force_login(member)
    response = client.post(URL, {"name": "ci"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and 'id="token-table"' in html
    made_token(response)
    response = client.post(URL, {"name": ""}, HTTP_HX_REQUEST="true")
    assert "This field is required." in response.content.decode()
