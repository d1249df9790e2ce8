"""Production settings: `check --deploy` clean, HTTPS-only cookies and HSTS, the security headers, login
rate limiting. The laptop's defaults (plain http on 127.0.0.1) keep working."""

import json

import pytest
from django.core.checks import run_checks
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.production.conftest import STRONG_SECRET_KEY, portal_env, run_python

PRODUCTION = {
    "DEBUG": "false",
    "PORTAL_HTTPS": "true",
    "SECRET_KEY": STRONG_SECRET_KEY,
    "ALLOWED_HOSTS": "portal.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://portal.example.com",
    "PORTAL_ALLOW_LOCAL_PATHS": "false",
    "PORTAL_PROXY_SSL_HEADER": "true",
}
DEPLOY_WARNINGS = ("security.W004", "security.W008", "security.W012", "security.W016")


def test_check_deploy_flags_plain_http():
    """Without PORTAL_HTTPS (the laptop's default, as in this test run) the deployment checks object: the
    clean result of tests/production/test_deployment_files.py comes from the production settings."""
    found = {message.id for message in run_checks(include_deployment_checks=True)}
    assert set(DEPLOY_WARNINGS) <= found


HEADERS_SCRIPT = """
import json
from django.test import Client
c = Client()
plain = c.get('/login/', HTTP_HOST='portal.example.com')
tls = c.get('/login/', HTTP_HOST='portal.example.com', secure=True)
probe = c.get('/healthz', HTTP_HOST='10.0.3.7:8000')
proxied = c.get('/login/', HTTP_HOST='portal.example.com', HTTP_X_FORWARDED_PROTO='https')
print(json.dumps({
    'plain': [plain.status_code, plain.get('Location')],
    'tls': [tls.status_code, dict(tls.headers), tls.cookies['csrftoken'].output()],
    'probe': [probe.status_code, probe.get('Location')],
    'proxied': [proxied.status_code, proxied.get('Strict-Transport-Security')],
}))
"""


def test_production_headers_and_cookies(tmp_path):
    result = run_python(HEADERS_SCRIPT, portal_env(tmp_path, **PRODUCTION))
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert answers["plain"] == [301, "https://portal.example.com/login/"]
    assert answers["probe"] == [200, None]  # probes are answered over http, whatever the Host
    # Behind the proxy that ended TLS (X-Forwarded-Proto: https), the request counts as secure.
    assert answers["proxied"] == [200, "max-age=31536000; includeSubDomains; preload"]
    status, headers, csrf_cookie = answers["tls"]
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "; Secure" in csrf_cookie
    csp = dict(d.strip().split(" ", 1) for d in headers["Content-Security-Policy"].split(";"))
    assert csp["script-src"] == csp["style-src"] == csp["default-src"] == "'self'"
    assert csp["frame-ancestors"] == csp["object-src"] == "'none'"


def test_laptop_defaults_serve_plain_http(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers
    assert "Secure" not in response.cookies["csrftoken"].output()
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    # Static files are served by WhiteNoise, from the source folders (no collectstatic on a laptop).
    css = client.get("/static/portal.css")
    assert css.status_code == 200 and b".results" in b"".join(css.streaming_content)


@pytest.mark.django_db
def test_failed_sign_ins_lock_out_that_username_from_that_address(client, outsider, member, settings):
    login = reverse("login")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(login, {"username": "outsider", "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    assert client.post(login, {"username": "outsider", "password": "wrong"}).status_code == 429
    # Now even the right password is refused, with a page saying why.
    response = client.post(login, {"username": "outsider", "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    assert "_auth_user_id" not in client.session
    # Another user from the same address is not locked out.
    response = client.post(login, {"username": "member", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(member.pk)


@pytest.mark.django_db
def test_a_success_before_the_limit_resets_the_count(client, outsider, settings):
    login = reverse("login")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post(login, {"username": "outsider", "password": "wrong"})
    assert client.post(login, {"username": "outsider", "password": PASSWORD}).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post(login, {"username": "outsider", "password": "wrong"})
    assert client.post(login, {"username": "outsider", "password": PASSWORD}).status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/?team=%00", "/scorecards/any/?team=a%00b", "/projects/?q=%00", "/models/?x%00=1"]
)
def test_a_nul_character_in_a_parameter_is_refused_before_any_query(client, django_user_model, url):
    client.force_login(django_user_model.objects.create_user("reader"))
    response = client.get(url)
    assert response.status_code == 400 and "NUL character" in response.content.decode()


@pytest.mark.django_db
def test_a_nul_character_in_a_form_is_the_fields_error(client):
    response = client.post("/login/", {"username": "a\x00b", "password": "x"})
    assert response.status_code == 200 and "Null characters are not allowed." in response.content.decode()
