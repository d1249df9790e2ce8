"""One validation for a source's config (admin, source_add, full_clean), and secrets never shown."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from catalog.models import Source
from catalog.source_config import REDACTED, redacted_config

pytestmark = pytest.mark.django_db

MLFLOW = "https://mlflow.example.com"


@pytest.mark.parametrize(
    ("kind", "config", "message"),
    [
        (
            "mlflow",
            {"tracking_uri": MLFLOW, "auth": {"type": "bearer", "token": "literal-secret"}},
            "mlflow source config: 'auth.token': Extra inputs are not permitted",
        ),
        (
            "mlflow",
            {"tracking_uri": 123},
            "mlflow source config: 'tracking_uri': Input should be a valid string",
        ),
        (
            "mlflow",
            {"tracking_uri": MLFLOW, "bogus": 1},
            "mlflow source config: 'bogus': Extra inputs are not permitted",
        ),
        ("github", {"org": "ml-org", "token": "ghp_literal"}, "github source config: unknown key 'token'"),
        ("gitlab", {"group": "ml", "bogus": 1}, "gitlab source config: unknown key 'bogus'"),
        ("git", {"urls": "https://example.com/a.git"}, "git source config: 'urls' must be a list"),
        ("git", {"password": "hunter2"}, "git source config: unknown key 'password'"),
        ("file", {"paths": ["a.yaml"], "extra": True}, "file source config: unknown key 'extra'"),
    ],
)
def test_full_clean_runs_the_connectors_validation(kind, config, message):
    with pytest.raises(ValidationError) as raised:
        Source(name="s", kind=kind, config=config).full_clean(validate_unique=False)
    [problem] = raised.value.message_dict["config"]
    assert problem.startswith(message)
    assert "literal-secret" not in problem and "hunter2" not in problem and "ghp_literal" not in problem


def test_a_good_config_passes_and_an_unset_token_variable_is_no_error(monkeypatch):
    monkeypatch.delenv("PORTAL_TEST_UNSET_TOKEN", raising=False)
    Source(name="m", kind="mlflow", config={"tracking_uri": MLFLOW}).full_clean(validate_unique=False)
    Source(
        name="g", kind="github", config={"org": "ml-org", "token_env": "PORTAL_TEST_UNSET_TOKEN"}
    ).full_clean(validate_unique=False)


def test_source_add_rejects_what_the_admin_rejects():
    with pytest.raises(CommandError, match=r"^--timeout: mlflow source config: 'timeout': Input should be"):
        call_command("source_add", "m", "--kind", "mlflow", MLFLOW, "--timeout", "0")
    with pytest.raises(CommandError, match=r"^TARGET \(the tracking server's URL\): config.tracking_uri"):
        call_command("source_add", "m", "--kind", "mlflow", "ftp://mlflow.example.com")
    assert not Source.objects.exists()


@pytest.fixture
def admin_add(admin_client):
    def post(kind: str, config) -> str:
        response = admin_client.post(
            "/admin/catalog/source/add/",
            {
                "name": "reg",
                "kind": kind,
                "config": json.dumps(config),
                "enabled": "on",
                "sync_interval_minutes": "60",
            },
        )
        return response

    return post


def test_the_admin_refuses_invalid_configs_naming_the_option(admin_add):
    response = admin_add(
        "mlflow", {"tracking_uri": MLFLOW, "auth": {"type": "bearer", "token": "literal-secret"}}
    )
    assert response.status_code == 200  # the form again, with the error
    page = response.content.decode()
    assert "mlflow source config: &#x27;auth.token&#x27;: Extra inputs are not permitted" in page
    for config in ({"tracking_uri": 123}, {"tracking_uri": MLFLOW, "bogus": 1}):
        assert admin_add("mlflow", config).status_code == 200
    assert admin_add("github", {"org": "ml-org", "token": "x"}).status_code == 200
    assert not Source.objects.exists()
    assert admin_add("mlflow", {"tracking_uri": MLFLOW}).status_code == 302
    assert Source.objects.get().config == {"tracking_uri": MLFLOW}


def test_a_secret_saved_before_the_check_is_never_shown(admin_client, staff):
    from rest_framework.test import APIClient

    source = Source.objects.create(
        name="old",
        kind="mlflow",
        config={
            "tracking_uri": "https://user:pa55@mlflow.example.com",
            "auth": {"type": "bearer", "token": "literal-secret", "token_env": "MLFLOW_TOKEN"},
        },
    )
    page = admin_client.get(f"/admin/catalog/source/{source.pk}/change/").content.decode()
    assert "literal-secret" not in page and "pa55" not in page
    assert REDACTED in page and "MLFLOW_TOKEN" in page

    api = APIClient()
    api.force_authenticate(staff)
    [row] = api.get("/api/v1/sources/").json()["results"]
    assert row["config"] == {
        "tracking_uri": "https://***@mlflow.example.com",
        "auth": {"type": "bearer", "token": REDACTED, "token_env": "MLFLOW_TOKEN"},
    }
    assert "literal-secret" not in api.get(f"/api/v1/sources/{source.pk}/").content.decode()


def test_redaction_keeps_variable_names_and_plain_values():
    config = {"org": "ml-org", "token_env": "GH_TOKEN", "webhook_secret_env": "HOOK", "window_days": 90}
    assert redacted_config(config) == config
    assert redacted_config({"api_key": 5, "nested": [{"password": "p"}]}) == {
        "api_key": REDACTED,
        "nested": [{"password": REDACTED}],
    }


def test_the_admin_refuses_a_token_in_a_variable_name_and_never_shows_one(admin_add, admin_client, staff):
    from rest_framework.test import APIClient

    response = admin_add("gitlab", {"group": "ml", "webhook_secret_env": "glpat-SECRET123"})
    page = response.content.decode()
    [error] = [line for line in page.splitlines() if "looks like a token, not the NAME" in line]
    assert response.status_code == 200 and "glpat-SECRET123" not in error  # (the form keeps the input)
    assert not Source.objects.exists()
    # A row saved before this check shows neither in the admin nor in the API.
    source = Source.objects.create(name="old", kind="github", config={"org": "o", "token_env": "ghp_SECRET9"})
    assert (
        "ghp_SECRET9" not in admin_client.get(f"/admin/catalog/source/{source.pk}/change/").content.decode()
    )
    api = APIClient()
    api.force_authenticate(staff)
    [row] = api.get("/api/v1/sources/").json()["results"]
    assert row["config"] == {"org": "o", "token_env": REDACTED}


@pytest.mark.parametrize("kind", ["git", "file", "github", "gitlab", "mlflow"])
def test_every_env_key_of_every_kind_is_a_variable_name(kind):
    base = {
        "git": {"paths": ["/tmp"]},
        "file": {"paths": ["/tmp/x.yaml"]},
        "github": {"org": "o"},
        "gitlab": {"group": "g"},
        "mlflow": {"tracking_uri": MLFLOW},
    }[kind]
    with pytest.raises(ValidationError) as caught:
        Source(name="s", kind=kind, config={**base, "token_env": "ghp_SUPERSECRET"}).full_clean()
    assert "'token_env' looks like a token" in str(caught.value) and "SUPERSECRET" not in str(caught.value)


def test_a_slack_channel_takes_variable_names_not_tokens():
    from catalog.models import Channel

    for field, value in (("token_env", "xoxb-123-456-abc"), ("webhook_url_env", "https://hooks.slack.com/x")):
        channel = Channel(kind=Channel.Kind.SLACK, **{field: value})
        with pytest.raises(ValidationError) as caught:
            channel.full_clean()
        assert field in caught.value.message_dict and value not in str(caught.value)


def test_connectors_never_echo_a_token_saved_where_a_variable_name_belongs():
    from catalog.connectors import github, mlflow

    with pytest.raises(ValueError, match="'token_env' looks like a token") as caught:
        github.parse_config({"org": "o", "token_env": "ghp_SECRET42"})
    assert "SECRET42" not in str(caught.value)
    config = mlflow.parse_config(
        {"tracking_uri": MLFLOW, "auth": {"type": "bearer", "token_env": "my token=abc"}}
    )
    with pytest.raises(ValueError, match=r"'auth\.token_env' is not an environment variable NAME") as caught:
        mlflow._auth(config.auth)
    assert "abc" not in str(caught.value)
