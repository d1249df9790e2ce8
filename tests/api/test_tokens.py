"""API tokens: hashed storage, Bearer and Token keywords, revoked/expired/inactive, service tokens, last use,
and the browser session with CSRF."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import APIToken
from catalog.models.tokens import hash_token
from tests.api.conftest import bearer

pytestmark = pytest.mark.django_db


def test_only_a_hash_of_the_token_is_stored(member):
    row, token = APIToken.objects.issue(member, "ci")
    assert token.startswith(f"mlp_{row.prefix}_") and len(token) > 50
    stored = APIToken.objects.values_list(*[f.attname for f in APIToken._meta.concrete_fields]).get()
    assert token not in [str(value) for value in stored]
    assert row.secret_hash == hash_token(token)
    assert APIToken.objects.find(token) == row
    assert APIToken.objects.find(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert APIToken.objects.find("mlp_short") is None


@pytest.mark.parametrize("keyword", ["Bearer", "Token", "bearer"])
def test_a_token_authenticates_as_its_user(member, keyword):
    _, token = APIToken.objects.issue(member, "ci")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {token}")
    response = client.get("/api/v1/projects/?name=team-model")
    assert response.status_code == 200
    assert response.json()["results"][0]["name"] == "team-model"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer mlp_00000000_nope", "unknown token"),
        ("Bearer", "the Authorization header must be 'Bearer <token>'"),
        ("Bearer a b", "the Authorization header must be 'Bearer <token>'"),
    ],
)
def test_bad_tokens_are_refused_with_the_reason(db, header, message):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/projects/")
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "authentication_failed", "message": message, "fields": {}}}


def test_revoked_expired_and_inactive_tokens_say_why(member, revoked_token, expired_token):
    assert bearer(revoked_token).get("/api/v1/").json()["error"]["message"] == "the token was revoked"
    assert bearer(expired_token).get("/api/v1/").json()["error"]["message"] == "the token has expired"
    _, token = APIToken.objects.issue(member, "ci", expires_at=timezone.now() + timedelta(days=1))
    assert bearer(token).get("/api/v1/").status_code == 200
    member.is_active = False
    member.save()
    response = bearer(token).get("/api/v1/")
    assert (response.status_code, response.json()["error"]["message"]) == (
        401,
        "the token's user is inactive",
    )


def test_service_tokens_are_for_staff_and_act_with_staff_rights(staff, member):
    with pytest.raises(ValueError, match="staff only"):
        APIToken.objects.issue(member, "svc", kind=APIToken.Kind.SERVICE)
    _, token = APIToken.objects.issue(staff, "svc", kind=APIToken.Kind.SERVICE)
    assert bearer(token).get("/api/v1/sources/").status_code == 200
    staff.is_staff = False
    staff.save()
    response = bearer(token).get("/api/v1/projects/")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "the service token's maker is no longer staff"


def test_last_use_is_written_at_most_once_a_minute(member, django_assert_num_queries):
    row, token = APIToken.objects.issue(member, "ci")
    client = bearer(token)
    client.get("/api/v1/")
    row.refresh_from_db()
    first = row.last_used_at
    assert first is not None and timezone.now() - first < timedelta(seconds=5)
    with django_assert_num_queries(1):  # the token's lookup, no write
        client.get("/api/v1/")
    row.refresh_from_db()
    assert row.last_used_at == first
    APIToken.objects.filter(pk=row.pk).update(last_used_at=first - timedelta(minutes=2))
    client.get("/api/v1/")
    row.refresh_from_db()
    assert row.last_used_at > first


def test_the_browser_session_works_and_writes_need_csrf(member):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(member)
    assert client.get("/api/v1/projects/").status_code == 200
    project_id = client.get("/api/v1/projects/?name=team-model").json()["results"][0]["id"]
    response = client.patch(f"/api/v1/projects/{project_id}/", {"description": "x"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]


def test_revoke_keeps_the_row(member):
    row, token = APIToken.objects.issue(member, "ci")
    row.revoke()
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert APIToken.objects.active().count() == 0
    assert bearer(token).get("/api/v1/").status_code == 401


def test_staff_revoke_tokens_in_the_admin(client, member, staff):
    row, token = APIToken.objects.issue(member, "ci")
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    page = client.get("/admin/catalog/apitoken/").content.decode()
    assert row.display_prefix in page and token not in page
    response = client.post(
        "/admin/catalog/apitoken/", {"action": "revoke", "_selected_action": [row.pk]}, follow=True
    )
    assert response.status_code == 200
    row.refresh_from_db()
    assert row.revoked_at is not None


def test_token_create_validates_the_name_and_the_expiry(member):
    from django.core.management import CommandError, call_command

    with pytest.raises(
        CommandError, match=r"^name: Ensure this value has at most 100 characters \(it has 300\)"
    ):
        call_command("token_create", "member", "n" * 300)
    for days in ("0", "-1", "99999999999"):
        with pytest.raises(CommandError, match=r"^--expires-days: must be 1 to 3650"):
            call_command("token_create", "member", "ci", "--expires-days", days)
    with pytest.raises(CommandError, match=r"^USERNAME: Ensure this value has at most 150 characters"):
        call_command("token_create", "u" * 200, "ci", "--create-staff")
    assert not APIToken.objects.filter(user=member).exists()
    call_command("token_create", "member", "n" * 100, stdout=io.StringIO())
    assert APIToken.objects.get(user=member).name == "n" * 100
