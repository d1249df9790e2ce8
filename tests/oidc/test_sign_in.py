"""Single sign-on end to end: the portal (Django test client) against a real oidc-provider over HTTP."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model

from catalog.models import Membership, Person

pytestmark = pytest.mark.django_db


def sign_in(client, provider, login: str):
    """Press "Sign in with Test IdP", sign in at the provider as ``login``, return the portal's answer to
    the provider's redirect back."""
    start = client.post("/accounts/oidc/sso/login/", {"next": "/"})
    assert start.status_code == 302, start.content[:500]
    assert start["Location"].startswith(provider.issuer)
    back = urlsplit(provider.authorize(start["Location"], login))
    return client.get(f"{back.path}?{back.query}")


def test_login_page_offers_the_provider_when_configured(client, sso):
    page = client.get("/login/").content.decode()
    assert "Sign in with Test IdP" in page
    assert 'action="/accounts/oidc/sso/login/"' in page
    assert 'name="username"' in page  # the local form stays


def test_login_page_has_only_the_local_form_when_not_configured(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": []}}
    page = client.get("/login/").content.decode()
    assert "Sign in with" not in page
    assert 'name="username"' in page
    assert client.post("/accounts/oidc/sso/login/").status_code == 404


def test_sign_in_links_the_declared_person_and_maps_groups_to_teams(client, sso, catalog, settings):
    source = catalog.source("descriptors")
    fraud = catalog.team("fraud", source=source)
    platform = catalog.team("platform")
    catalog.team("unrelated")
    ada = catalog.person("ada", source=source, email="Ada@Example.com", title="Ada Lovelace")
    settings.PORTAL["OIDC"]["GROUP_TEAMS"] = {"ml-platform-admins": "group:default/platform"}
    sso.add_account(
        "sub-ada",
        email="ada@example.com",
        name="Ada L.",
        preferred_username="alovelace",
        groups=["fraud", "ml-platform-admins", "no-such-team"],
    )

    response = sign_in(client, sso, "sub-ada")

    assert response.status_code == 302, response.content[:500]
    user = get_user_model().objects.get()
    assert client.session[SESSION_KEY] == str(user.pk)
    ada.refresh_from_db()
    assert ada.user == user
    assert ada.title == "Ada Lovelace"  # declared by its descriptor: kept
    assert Person.objects.count() == 1
    assert set(ada.teams.values_list("name", flat=True)) == {"fraud", "platform"}
    assert all(m.sources == ["idp"] for m in Membership.objects.filter(person=ada))
    assert fraud.members.get() == ada and platform.members.get() == ada


def test_sign_in_makes_a_person_and_re_sign_in_replaces_only_idp_memberships(client, sso, catalog):
    fraud, platform, infra = catalog.team("fraud"), catalog.team("platform"), catalog.team("infra")
    sso.add_account("sub-bo", email="bo@example.com", name="Bo Chen", groups=["fraud", "platform"])
    assert sign_in(client, sso, "sub-bo").status_code == 302
    bo = Person.objects.get()
    assert (bo.name, bo.email, bo.title, bo.user.email) == (
        "bo",
        "bo@example.com",
        "Bo Chen",
        "bo@example.com",
    )
    infra.members.add(bo)  # made in the portal
    Membership.objects.filter(team=platform, person=bo).update(from_descriptor=True)  # and declared

    client.logout()
    sso.add_account("sub-bo", email="bo@example.com", name="Bo Chen-Li", groups=["platform"])
    assert sign_in(client, sso, "sub-bo").status_code == 302

    bo.refresh_from_db()
    assert bo.title == "Bo Chen-Li"
    assert Person.objects.count() == 1 and get_user_model().objects.count() == 1
    rows = {m.team.name: m.sources for m in Membership.objects.select_related("team")}
    assert rows == {"platform": ["descriptor", "idp"], "infra": ["portal"]}
    assert not fraud.members.exists()


@pytest.mark.parametrize(
    ("mode", "cause"),
    [
        ("bad-signature", "InvalidSignatureError"),
        ("wrong-audience", "InvalidAudienceError"),
        ("expired", "ExpiredSignatureError"),
    ],
)
def test_refused_tokens_end_in_a_refused_sign_in(client, sso, catalog, caplog, mode, cause):
    catalog.team("fraud")
    sso.add_account("sub-eve", email="eve@example.com", name="Eve", groups=["fraud"])
    sso.set_mode(mode)

    response = sign_in(client, sso, "sub-eve")

    assert response.status_code == 403
    page = response.content.decode()
    assert "Sign-in refused" in page and "Sign-in with Test IdP was refused" in page
    assert SESSION_KEY not in client.session
    assert not get_user_model().objects.exists()
    assert not Person.objects.exists() and not Membership.objects.exists()
    assert client.get("/").status_code == 302  # still signed out
    (refusal,) = [r for r in caplog.records if r.getMessage() == "single sign-on refused"]
    assert cause in refusal.cause  # PyJWT's reason, as allauth's verify_and_decode raised it


def test_the_same_provider_signs_in_when_back_to_normal(client, sso):
    """The refusals above come from the tokens, not from the set-up: the same flow succeeds in normal mode."""
    sso.add_account("sub-cy", email="cy@example.com", name="Cy")
    assert sign_in(client, sso, "sub-cy").status_code == 302
    assert client.get("/").status_code == 200


def test_sign_in_reaches_the_local_account_with_the_same_email(client, sso):
    local = get_user_model().objects.create_user("ada.local", email="ada@example.com")
    sso.add_account("sub-ada", email="ada@example.com", name="Ada Lovelace", groups=[])

    assert sign_in(client, sso, "sub-ada").status_code == 302

    assert client.session[SESSION_KEY] == str(local.pk)
    assert get_user_model().objects.count() == 1
    assert Person.objects.get().user == local


def test_the_provider_login_url_answers_get_with_a_confirmation_form(client, sso):
    """allauth does not start a sign-in on GET (a link could not sign anyone in unawares)."""
    response = client.get("/accounts/oidc/sso/login/")
    assert response.status_code == 200
    assert b'method="post"' in response.content
    assert sso.issuer in response["Content-Security-Policy"]
