"""Structured logs: JSON lines with the request id (echoed to the client) and the sync run id."""

import io
import json
import logging
import logging.config

import pytest
from django.conf import settings
from django.urls import reverse

from catalog.models import Source, SyncRun
from catalog.sync import sync_source
from portal.logs import ContextFilter, RedactFilter, log_context


@pytest.fixture
def log_lines():
    """Returns a function giving the JSON objects logged so far, formatted as settings.LOGGING says."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    configurator = logging.config.DictConfigurator({})
    handler.setFormatter(configurator.configure_formatter(dict(settings.LOGGING["formatters"]["json"])))
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactFilter())
    assert settings.LOGGING["handlers"]["console"]["filters"] == ["context", "redact"]
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def test_request_id_is_echoed_and_logged(client, log_lines):
    response = client.get(f"{reverse('login')}?next=/private-token-abc", HTTP_X_REQUEST_ID="edge-7f3a.1")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "edge-7f3a.1"
    [line] = [x for x in log_lines() if x["logger"] == "portal.request"]
    assert line["request_id"] == "edge-7f3a.1"
    assert (line["method"], line["path"], line["status"], line["level"]) == ("GET", "/login/", 200, "INFO")
    assert isinstance(line["duration_ms"], float) and line["time"].endswith("+00:00")
    assert "private-token-abc" not in json.dumps(line)  # no query strings in the log


@pytest.mark.django_db
def test_no_line_carries_a_query_string(client, django_user_model, log_lines):
    client.force_login(django_user_model.objects.create_user("reader"))
    assert client.get("/nope/?token=glpat-LEAKME123").status_code == 404
    assert client.post("/hooks/github?secret=LEAK2", data=b"{}", content_type="application/json").status_code
    lines = log_lines()
    assert [x for x in lines if x["logger"] == "django.request"], "Django logs the 404 and the 401"
    assert not [x for x in lines if "LEAK" in json.dumps(x)]
    [not_found] = [x for x in lines if x["logger"] == "django.request" and x["status_code"] == 404]
    assert not_found["request"] == "GET /nope/"


def test_a_bad_host_is_one_warning_without_a_traceback(client, log_lines):
    assert client.get("/login/", HTTP_HOST="evil.example.com").status_code == 400
    [line] = [x for x in log_lines() if x["logger"].startswith("django.security")]
    assert line["level"] == "WARNING" and "exc_info" not in line and "Traceback" not in json.dumps(line)


@pytest.mark.parametrize("given", ["", "has spaces", "x" * 129, "<script>"])
def test_a_request_without_a_usable_id_gets_a_new_one(client, given):
    response = client.get(reverse("login"), HTTP_X_REQUEST_ID=given)
    assert len(response["X-Request-ID"]) == 32 and response["X-Request-ID"] != given


@pytest.mark.django_db
def test_sync_log_lines_carry_the_sync_run_id_and_no_secret(log_lines):
    source = Source.objects.create(
        name="leaky",
        kind=Source.Kind.GIT,
        config={"urls": ["https://bot:s3cr3t-value@git.example.com/ml/a.git"]},
    )
    with log_context(request_id="req-1"):
        run = sync_source(source)
    assert run.status == SyncRun.Status.FAILED
    assert "holds a password" in run.errors[0]["message"]
    lines = [x for x in log_lines() if x["logger"] == "catalog.sync"]
    assert lines, log_lines()
    for line in lines:
        assert (line["sync_run_id"], line["source"], line["request_id"]) == (run.pk, "leaky", "req-1")
    everything = json.dumps(log_lines()) + json.dumps(run.errors)
    assert "s3cr3t-value" not in everything
    # Outside the sync, the run's id is no longer bound.
    logging.getLogger("catalog.sync").info("after")
    assert "sync_run_id" not in log_lines()[-1]
