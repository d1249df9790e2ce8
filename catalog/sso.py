"""Single sign-on through OpenID Connect (django-allauth), and what a sign-in does to the catalog.

Why django-allauth and not mozilla-django-oidc: allauth's ``jwtkit.verify_and_decode`` checks an ID token's
issuer, audience (our client id) and expiry (PyJWT, ``verify_iss``/``verify_aud``/``verify_exp``), reads
the provider's discovery document and turns any failure into a refused sign-in page. mozilla-django-oidc
5.0's ``verify_token`` checks the signature and nonce, but decodes with ``verify_aud: False``, never checks
the issuer, and lets PyJWT's ``ExpiredSignatureError`` escape as a server error. One gap in allauth:
in the authorization-code flow it skips the signature (``verify_signature = not did_fetch_access_token``,
which OpenID Connect Core 3.1.3.7 allows for a token fetched straight from the token endpoint over TLS).
``VerifyingAdapter`` closes it by calling the same ``verify_and_decode`` with the signature on, so a
token not signed by a key of the provider's JWKS is refused too; no JWT check is written here.

Configured from the environment (portal/settings.py ``SOCIALACCOUNT_PROVIDERS``); with no issuer and
client id the login page shows only the local form and the sign-in URLs answer 404. On each sign-in the
user's Person is found or made (``sign_in_person``) and their identity-provider team memberships replaced
from the groups claim (catalog/memberships.py).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from allauth.account.signals import user_logged_in
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.conf import settings
from django.contrib.auth.views import LoginView
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.dispatch import receiver
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from catalog import memberships
from catalog.models import Person

log = logging.getLogger(__name__)


class VerifyingAdapter(OpenIDConnectOAuth2Adapter):
    """allauth's OpenID Connect adapter, verifying the ID token's signature in the code flow too."""

    def _decode_id_token(self, app, id_token: str) -> dict:
        return jwtkit.verify_and_decode(
            credential=id_token,
            keys_url=self.openid_config["jwks_uri"],
            issuer=self.openid_config["issuer"],
            audience=app.client_id,
            lookup_kid=jwtkit.lookup_kid_jwk,
            verify_signature=True,
        )


def login(request, provider_id: str):
    """Start a sign-in: redirect to the provider (POST, or the confirmation page on GET)."""
    try:
        response = OAuth2LoginView.adapter_view(VerifyingAdapter(request, provider_id))(request)
    except SocialApp.DoesNotExist:
        raise Http404("single sign-on is not configured") from None
    return allow_provider_form_action(response, provider_settings())


def callback(request, provider_id: str):
    """The provider's redirect back with ``code`` and ``state``: exchange, verify, sign in."""
    try:
        return OAuth2CallbackView.adapter_view(VerifyingAdapter(request, provider_id))(request)
    except SocialApp.DoesNotExist:
        raise Http404("single sign-on is not configured") from None


class PortalSocialAccountAdapter(DefaultSocialAccountAdapter):
    """Answers a refused sign-in with 403 and a page saying so; the reason goes to the log."""

    def on_authentication_error(self, request, provider, error=None, exception=None, extra_context=None):
        log.warning(
            "single sign-on refused",
            extra={
                "provider": getattr(provider, "name", ""),
                "error": str(error),
                "reason": repr(exception),
                "cause": repr(getattr(exception, "__cause__", None)),
            },
        )
        context = {"provider_name": getattr(provider, "name", "the identity provider"), "error": error}
        raise ImmediateHttpResponse(render(request, "registration/sso_refused.html", context, status=403))


def provider_settings() -> dict | None:
    """The configured provider's ``{"name", "login_url", "origin"}``, or None when single sign-on is off."""
    apps = settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect", {}).get("APPS", [])
    for app in apps:
        server_url = app.get("settings", {}).get("server_url")
        if app.get("client_id") and server_url:
            url = reverse("openid_connect_login", kwargs={"provider_id": app["provider_id"]})
            parts = urlsplit(server_url)
            origin = f"{parts.scheme}://{parts.netloc}"
            return {"name": app.get("name") or "single sign-on", "login_url": url, "origin": origin}
    return None


def allow_provider_form_action(response, sso: dict | None):
    """Adds the provider's origin to the page's CSP ``form-action``: browsers hold the redirect that
    answers the sign-in form to it, and the form's answer is a redirect to the provider."""
    if sso is not None:
        update = getattr(response, "_csp_update", None) or {}
        response._csp_update = {**update, "form-action": [*update.get("form-action", []), sso["origin"]]}
    return response


class PortalLoginView(LoginView):
    """Django's local login, plus a "Sign in with <provider>" button when single sign-on is on."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sso"] = provider_settings()
        return context

    def render_to_response(self, context, **kwargs):
        return allow_provider_form_action(super().render_to_response(context, **kwargs), context["sso"])


def claims_of(sociallogin) -> dict:
    """The user's claims of this sign-in: the ID token's, overridden by the userinfo endpoint's."""
    data = sociallogin.account.extra_data or {}
    return {**(data.get("id_token") or {}), **(data.get("userinfo") or {})}


@transaction.atomic
def sign_in_person(user, claims: dict) -> Person:
    """Find or make ``user``'s Person from OpenID Connect ``claims``, and set their provider memberships.

    The person is, in order: the one already linked to ``user``; a person with no account whose email is
    the ``email`` claim (e.g. imported from a descriptor), unless ``email_verified`` is false; a new person
    named after ``preferred_username`` (else the email's local part, else ``sub``). Their email and title
    (``name``) follow the claims, except where a descriptor declares them. The groups claim
    (``PORTAL["OIDC"]["GROUPS_CLAIM"]``, a list or one string; absent means none) replaces the person's
    identity-provider memberships (``memberships.teams_for_groups``). Returns the person.
    """
    email = (claims.get("email") or user.email or "").strip()
    person = Person.objects.select_for_update().filter(user=user).first()
    verified = str(claims.get("email_verified", True)).lower() != "false"
    if person is None and email and verified:
        person = (
            Person.objects.select_for_update()
            .annotate(lemail=Lower("email"))
            .filter(user__isnull=True, lemail=email.lower())
            .order_by(F("source_id").asc(nulls_last=True), "pk")
            .first()
        )
    if person is None:
        person = Person(namespace="default", name=_free_name(claims, email, user))
    declared = person.source_id is not None
    person.user = user
    if email and not (declared and person.email):
        person.email = email
    display = (claims.get("name") or "").strip()
    if display and not (declared and person.title):
        person.title = display
    person.save()
    if email and not user.email:
        user.email = email
        user.save(update_fields=["email"])

    groups = claims.get(settings.PORTAL["OIDC"]["GROUPS_CLAIM"]) or []
    if isinstance(groups, str):
        groups = [groups]
    memberships.replace_from_idp(person, memberships.teams_for_groups(groups))
    return person


def _free_name(claims: dict, email: str, user) -> str:
    """A person name (Backstage: letters, digits, ``-_.``) not yet taken in namespace ``default``."""
    raw = claims.get("preferred_username") or email.partition("@")[0] or claims.get("sub") or user.username
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", str(raw)).strip("-._")[:60] or f"user-{user.pk}"
    taken = set(
        Person.objects.annotate(lname=Lower("name"))
        .filter(namespace="default", lname__startswith=base.lower())
        .values_list("lname", flat=True)
    )
    name, n = base, 2
    while name.lower() in taken:
        name, n = f"{base}-{n}", n + 1
    return name


@receiver(user_logged_in)
def _on_sign_in(sender, request, user, sociallogin=None, **kwargs) -> None:
    if sociallogin is not None:
        sign_in_person(user, claims_of(sociallogin))
