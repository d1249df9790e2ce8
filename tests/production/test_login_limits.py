"""Login rate limiting behind a proxy: the client's address is the one the trusted proxy appended to
X-Forwarded-For, so a client can neither dodge the limit by sending its own header nor lock out others."""

import pytest
from django.urls import reverse

from portal.client_ip import client_ip
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

PROXY = "127.0.0.1"


@pytest.fixture
def behind_one_proxy(settings, django_user_model):
    settings.PORTAL_PROXY_COUNT = 1
    settings.AXES_FAILURE_LIMIT = 5
    return django_user_model.objects.create_user("admin", password=PASSWORD)


def sign_in(client, forwarded_for: str, password: str = "wrong-password"):
    return client.post(
        reverse("login"),
        {"username": "admin", "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def test_a_locked_out_address_does_not_lock_out_another(client, behind_one_proxy):
    statuses = [sign_in(client, "10.9.9.9").status_code for _ in range(6)]
    assert statuses[-1] == 429 and statuses[:4] == [200] * 4
    assert sign_in(client, "10.9.9.8", PASSWORD).status_code == 302


def test_a_client_cannot_dodge_the_limit_with_its_own_header(client, behind_one_proxy):
    statuses = [sign_in(client, f"1.1.1.{n}, 10.0.0.2").status_code for n in range(6)]
    assert statuses[-1] == 429


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "10.0.0.9", PROXY),  # no proxy: the header is the client's own claim
        (1, "10.0.0.9", "10.0.0.9"),
        (1, "6.6.6.6, 10.0.0.9", "10.0.0.9"),
        (2, "6.6.6.6, 10.0.0.9, 10.0.0.1", "10.0.0.9"),
        (2, "10.0.0.9", PROXY),  # fewer entries than proxies: not set up as documented
        (1, "not-an-address", PROXY),
        (1, "", PROXY),
    ],
)
def test_client_ip(rf, settings, count, forwarded, expected):
    settings.PORTAL_PROXY_COUNT = count
    assert client_ip(rf.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)) == expected
