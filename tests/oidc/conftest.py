"""A real OpenID provider for the sign-in tests: the npm package ``oidc-provider`` in a node process.

The package (pinned in ``package.json`` / ``package-lock.json`` beside this file) is installed with
``npm ci`` into ``var/oidc-provider/`` once and reused while the lock file is unchanged. Tests skip only
when node or npm is missing, and fail instead under ``PORTAL_REQUIRE_SERVICES`` (set by .ci/run) or
``CI=true``, where they must run.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from django.conf import settings

HERE = Path(__file__).resolve().parent
INSTALL_DIR = Path(settings.BASE_DIR) / "var" / "oidc-provider"
CLIENT_ID = "ml-portal"
CLIENT_SECRET = "a-test-client-secret-of-the-portal"
REDIRECT_URI = "http://testserver/accounts/oidc/sso/login/callback/"


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        reason = f"{tool} is not installed: the OpenID Connect tests need node and npm (oidc-provider)"
        if os.environ.get("PORTAL_REQUIRE_SERVICES") or os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def oidc_provider_dir() -> Path:
    """``var/oidc-provider`` with node_modules installed from the committed lock file, and the script."""
    node, npm = _require("node"), _require("npm")
    lock = (HERE / "package-lock.json").read_bytes()
    INSTALL_DIR.mkdir(parents=True, exist_ok=True)
    installed = INSTALL_DIR / "package-lock.json"
    if (
        not (INSTALL_DIR / "node_modules").is_dir()
        or not installed.exists()
        or installed.read_bytes() != lock
    ):
        for name in ("package.json", "package-lock.json"):
            shutil.copy(HERE / name, INSTALL_DIR / name)
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=INSTALL_DIR,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, f"npm ci failed in {INSTALL_DIR}:\n{result.stdout}\n{result.stderr}"
    shutil.copy(HERE / "provider.mjs", INSTALL_DIR / "provider.mjs")
    assert subprocess.run([node, "--version"], capture_output=True).returncode == 0
    return INSTALL_DIR


class OpenIDProvider:
    """A running provider: its issuer, and the test hooks of provider.mjs."""

    def __init__(self, issuer: str, redirect_uri: str):
        self.issuer, self.redirect_uri = issuer, redirect_uri
        self.http = httpx.Client(base_url=issuer, timeout=10)

    def add_account(self, sub: str, **claims) -> None:
        self.http.post("/test/accounts", content=json.dumps({"sub": sub, **claims})).raise_for_status()

    def set_mode(self, mode: str) -> None:
        self.http.post("/test/mode", content=json.dumps({"mode": mode})).raise_for_status()

    def authorize(self, authorize_url: str, login: str) -> str:
        """Walk the provider's side of the code flow as a browser would: open the authorization URL,
        answer the login form with account ``login``, follow redirects; return the redirect back to the
        portal (``REDIRECT_URI?code=...&state=...``)."""
        with httpx.Client(timeout=10, follow_redirects=False) as browser:
            response = browser.get(authorize_url)
            for _ in range(10):
                if response.status_code == 200 and "/interaction/" in str(response.url):
                    response = browser.post(str(response.url), data={"login": login})
                    continue
                assert response.is_redirect, (
                    f"{response.status_code} at {response.url}: {response.text[:500]}"
                )
                location = str(response.url.join(response.headers["location"]))
                if location.startswith(self.redirect_uri):
                    return location
                response = browser.get(location)
        raise AssertionError("the provider never redirected back to the portal")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_provider(directory: Path, redirect_uri: str, log_dir: Path) -> Iterator[OpenIDProvider]:
    """Runs provider.mjs on a free port of 127.0.0.1 for ``redirect_uri``; stops it on exit."""
    port = _free_port()
    log_path = log_dir / f"provider-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            ["node", "provider.mjs", str(port), CLIENT_ID, CLIENT_SECRET, redirect_uri],
            cwd=directory,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    try:
        line = process.stdout.readline()  # "ready <issuer>", or "" when node exits
        assert line.startswith("ready "), f"provider did not start: {line!r}\n{log_path.read_text()}"
        yield OpenIDProvider(line.split()[1], redirect_uri)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def oidc_provider(oidc_provider_dir, tmp_path_factory):
    """A real oidc-provider on 127.0.0.1 (one node process for the session) for the Django test client."""
    with running_provider(oidc_provider_dir, REDIRECT_URI, tmp_path_factory.mktemp("oidc")) as provider:
        yield provider


def portal_settings_for(provider: OpenIDProvider, settings) -> None:
    """Configures the portal for ``provider`` (as the PORTAL_OIDC_* variables would)."""
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [
                {
                    "provider_id": "sso",
                    "name": "Test IdP",
                    "client_id": CLIENT_ID,
                    "secret": CLIENT_SECRET,
                    "settings": {
                        "server_url": provider.issuer,
                        "scope": ["openid", "profile", "email", "groups"],
                    },
                }
            ],
        }
    }
    settings.PORTAL = {**settings.PORTAL, "OIDC": {"GROUPS_CLAIM": "groups", "GROUP_TEAMS": {}}}


@pytest.fixture
def sso(oidc_provider, settings):
    """The portal configured for ``oidc_provider`` (as PORTAL_OIDC_* would), the provider in normal mode."""
    oidc_provider.set_mode("normal")
    portal_settings_for(oidc_provider, settings)
    yield oidc_provider
    oidc_provider.set_mode("normal")
