"""Fixtures of the API tests: an API client, tokens for the STYLE.md users, and a catalog to read.

``api`` is an APIClient; ``as_user(user)`` gives a client sending a fresh personal token of ``user``
(``Authorization: Bearer ...``), as an integration would.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import APIToken


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """The STYLE.md users are made for every test: a fast hasher keeps hundreds of them cheap."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def as_user(db):
    def make(user, *, kind: str = APIToken.Kind.PERSONAL, **fields) -> APIClient:
        _, token = APIToken.objects.issue(user, f"test token of {user.username}", kind=kind)
        return bearer(token)

    return make


@pytest.fixture
def revoked_token(member) -> str:
    row, token = APIToken.objects.issue(member, "revoked")
    row.revoke()
    return token


@pytest.fixture
def expired_token(member) -> str:
    _, token = APIToken.objects.issue(member, "expired", expires_at=timezone.now() - timedelta(minutes=1))
    return token
