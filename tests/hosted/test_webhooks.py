"""Webhooks: signatures (good, bad, missing), replayed deliveries, and what each event changes."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections
from django.test import Client

from catalog import sync as sync_module
from catalog import webhooks
from catalog.connectors import github as github_connector
from catalog.connectors import gitlab as gitlab_connector
from catalog.models import Finding, Pipeline, PipelineRun, Repository, Source, SyncRun, WebhookDelivery
from catalog.rules.evaluate import evaluate_rules
from catalog.sync import sync_source
from catalog.sync_pipelines import record_run
from tests.hosted import payloads as p

pytestmark = pytest.mark.django_db

SECRET = "It's a Secret to Everybody"


@pytest.fixture
def gh_source(github_config, monkeypatch):
    monkeypatch.setenv("PORTAL_TEST_GH_HOOK", SECRET)
    source = Source.objects.create(
        name="gh",
        kind=Source.Kind.GITHUB,
        config={**github_config, "webhook_secret_env": "PORTAL_TEST_GH_HOOK"},
    )
    sync_source(source)
    return source


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_github(client, event: str, payload: dict, *, delivery: str = "d-1", signature: str | None = None):
    body = json.dumps(payload).encode()
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery}
    if signature != "":
        headers["X-Hub-Signature-256"] = signature or sign(body)
    return client.post("/hooks/github", body, content_type="application/json", headers=headers)


def workflow_run_event(
    *, run_id=1005, conclusion="success", branch="main", status="completed", attempt=1, updated=p.NOW
) -> dict:
    """The corpus ``workflow_run`` payload, pointed at ml-org/fraud-model's CI workflow."""
    payload = copy.deepcopy(p.corpus_json(p.GITHUB_WEBHOOK))
    payload["action"] = "completed" if status == "completed" else status
    payload["repository"] = p.gh_repo(101, "fraud-model")
    payload["workflow"].update(id=11, name="CI", path=".github/workflows/ci.yml")
    payload["workflow_run"].update(
        id=run_id,
        workflow_id=11,
        head_branch=branch,
        status=status,
        conclusion=conclusion,
        created_at=p.iso(p.NOW),
        updated_at=p.iso(updated),
        run_number=4,
        run_attempt=attempt,
    )
    payload["workflow_run"]["head_repository"].update(id=101, full_name="ml-org/fraud-model")
    return payload


def test_signature_check_matches_githubs_documented_example():
    # From GitHub's "Validating webhook deliveries" docs.
    assert hmac.compare_digest(
        sign(b"Hello, World!"), "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


def test_a_workflow_run_updates_the_pipeline_at_once(client, gh_source, django_capture_on_commit_callbacks):
    evaluate_rules(now=p.NOW, codes=["ci-failing"])
    assert Finding.objects.filter(rule="ci-failing", resolved_at=None).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = post_github(client, "workflow_run", workflow_run_event())
    assert response.status_code == 200 and response.json() == {"status": "updated", "event": "workflow_run"}
    ci = Pipeline.objects.get(external_id="11")
    assert ci.latest_status == "success" and ci.failing_since is None
    run = ci.runs.get(external_id="1005")
    assert (run.status, run.conclusion, run.portal_status, run.run_number) == (
        "completed",
        "success",
        "success",
        4,
    )
    assert ci.templates  # what the sync read of the file stays
    assert not Finding.objects.filter(rule="ci-failing", resolved_at=None).exists()


def test_a_bad_signature_gets_401_and_changes_nothing(client, gh_source):
    runs = PipelineRun.objects.count()
    response = post_github(client, "workflow_run", workflow_run_event(), signature=sign(b"other body"))
    assert response.status_code == 401
    response = post_github(client, "workflow_run", workflow_run_event(), signature=sign(b"x", "wrong-secret"))
    assert response.status_code == 401
    assert PipelineRun.objects.count() == runs and not WebhookDelivery.objects.exists()
    assert SECRET not in response.content.decode()


def test_a_missing_signature_gets_401(client, gh_source):
    assert post_github(client, "workflow_run", workflow_run_event(), signature="").status_code == 401


def test_no_source_with_a_secret_means_401(client, github_config):
    Source.objects.create(name="gh", kind=Source.Kind.GITHUB, config=github_config)
    assert post_github(client, "ping", {"zen": "Design for failure."}).status_code == 401


def test_a_replayed_delivery_is_not_applied_twice(client, gh_source):
    assert (
        post_github(client, "workflow_run", workflow_run_event(), delivery="abc").json()["status"]
        == "updated"
    )
    replay = post_github(client, "workflow_run", workflow_run_event(conclusion="failure"), delivery="abc")
    assert replay.status_code == 200 and replay.json() == {"status": "duplicate", "delivery": "abc"}
    assert PipelineRun.objects.get(external_id="1005").conclusion == "success"
    assert WebhookDelivery.objects.filter(provider="github", delivery_id="abc").count() == 1


def test_ping_unknown_events_and_other_branches_change_nothing(client, gh_source):
    runs = PipelineRun.objects.count()
    assert (
        post_github(client, "ping", {"zen": "Keep it logically awesome."}, delivery="1").json()["status"]
        == "pong"
    )
    assert post_github(client, "star", {"action": "created"}, delivery="2").json()["status"] == "ignored"
    other = post_github(client, "workflow_run", workflow_run_event(branch="feature"), delivery="3")
    assert other.json()["status"] == "ignored: not the default branch"
    assert PipelineRun.objects.count() == runs


def test_a_malformed_payload_gets_400_and_can_be_redelivered(client, gh_source):
    event = workflow_run_event()
    del event["workflow_run"]["created_at"]
    assert post_github(client, "workflow_run", event, delivery="x").status_code == 400
    assert (
        post_github(client, "workflow_run", workflow_run_event(), delivery="x").json()["status"] == "updated"
    )
    response = client.post(
        "/hooks/github",
        b"{not json",
        content_type="application/json",
        headers={
            "X-GitHub-Event": "ping",
            "X-GitHub-Delivery": "y",
            "X-Hub-Signature-256": sign(b"{not json"),
        },
    )
    assert response.status_code == 400


def test_a_push_to_the_default_branch_queues_a_targeted_sync(
    client, gh_source, github, django_capture_on_commit_callbacks
):
    github.routes["/repos/ml-org/churn"] = p.gh_repo(102, "churn", branch="develop", topics=["ml", "pushed"])
    push = {"ref": "refs/heads/develop", "repository": p.gh_repo(102, "churn", branch="develop")}
    with django_capture_on_commit_callbacks(execute=True):
        response = post_github(client, "push", push)
    assert response.json()["status"] == "queued"
    run = SyncRun.objects.filter(source=gh_source).first()
    assert run.trigger == SyncRun.Trigger.WEBHOOK and run.status == SyncRun.Status.SUCCESS
    assert Repository.objects.get(name="churn").topics == ["ml", "pushed"]
    ignored = post_github(client, "push", {**push, "ref": "refs/heads/feature"}, delivery="d-2")
    assert ignored.json()["status"] == "ignored: not the default branch"


def test_an_unknown_repository_queues_its_sync(client, gh_source, django_capture_on_commit_callbacks):
    event = workflow_run_event()
    event["repository"] = p.gh_repo(105, "new-model")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_github(client, "workflow_run", event)
    assert response.json()["status"] == "queued"
    run = SyncRun.objects.filter(source=gh_source).first()
    assert run.errors[0]["message"] == "repository ml-org/new-model not found"


def test_a_fork_pull_request_run_on_a_branch_named_like_the_default_is_ignored(client, gh_source):
    event = workflow_run_event(conclusion="failure")
    event["workflow_run"].update(event="pull_request")
    event["workflow_run"]["head_repository"].update(id=999, full_name="someone/fraud-model")
    response = post_github(client, "workflow_run", event)
    assert response.json()["status"] == "ignored: a pull request's run"
    assert not PipelineRun.objects.filter(external_id="1005").exists()
    event["workflow_run"]["event"] = "push"  # a fork's push run, as GitHub's own example shows one
    assert (
        post_github(client, "workflow_run", event, delivery="d-2").json()["status"]
        == "ignored: a pull request's run"
    )
    event["workflow_run"]["head_repository"] = None  # an older payload: the run counts
    assert post_github(client, "workflow_run", event, delivery="d-3").json()["status"] == "updated"


def test_a_pull_request_run_from_the_default_branch_of_the_same_repository_is_ignored(client, gh_source):
    event = workflow_run_event(conclusion="failure")  # a pull request from main into a release branch
    event["workflow_run"].update(event="pull_request")
    response = post_github(client, "workflow_run", event)
    assert response.json()["status"] == "ignored: a pull request's run"
    assert not PipelineRun.objects.filter(external_id="1005").exists()


def test_a_delivery_older_than_the_stored_run_is_ignored(client, gh_source):
    done = workflow_run_event(updated=p.NOW + timedelta(minutes=7))
    assert post_github(client, "workflow_run", done, delivery="1").json()["status"] == "updated"
    late = workflow_run_event(status="in_progress", conclusion=None, updated=p.NOW + timedelta(minutes=1))
    response = post_github(client, "workflow_run", late, delivery="2")
    assert response.json() == {"status": "ignored: older than stored", "event": "workflow_run"}
    earlier = workflow_run_event(conclusion="failure", updated=p.NOW + timedelta(minutes=3))
    assert post_github(client, "workflow_run", earlier, delivery="3").json()["status"].startswith("ignored")
    run = PipelineRun.objects.get(external_id="1005")
    assert (run.status, run.conclusion, run.run_attempt) == ("completed", "success", 1)
    assert Pipeline.objects.get(external_id="11").latest_status == "success"


def test_a_re_run_goes_back_to_running_and_its_first_attempt_stays_behind(client, gh_source):
    done = workflow_run_event(conclusion="failure", updated=p.NOW + timedelta(minutes=7))
    assert post_github(client, "workflow_run", done, delivery="1").json()["status"] == "updated"
    rerun = workflow_run_event(
        status="queued", conclusion=None, attempt=2, updated=p.NOW + timedelta(hours=1)
    )
    assert post_github(client, "workflow_run", rerun, delivery="2").json()["status"] == "updated"
    run = PipelineRun.objects.get(external_id="1005")
    assert (run.status, run.portal_status, run.run_attempt) == ("queued", "pending", 2)
    assert post_github(client, "workflow_run", done, delivery="3").json()["status"] == (
        "ignored: older than stored"
    )
    assert PipelineRun.objects.get(external_id="1005").run_attempt == 2


def test_a_repository_of_another_org_is_refused_early(client, gh_source, django_capture_on_commit_callbacks):
    push = {"ref": "refs/heads/main", "repository": p.gh_repo(900, "evil", org="other-org")}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_github(client, "push", push, delivery="1")
        # The corpus payload as published: octo-org/octo-repo.
        published = post_github(client, "workflow_run", p.corpus_json(p.GITHUB_WEBHOOK), delivery="2")
        edited = post_github(client, "repository", {**push, "action": "edited"}, delivery="3")
    assert response.json() == {"status": "ignored: not in this source's org", "event": "push"}
    assert published.json()["status"] == edited.json()["status"] == "ignored: not in this source's org"
    assert not callbacks and SyncRun.objects.filter(source=gh_source).count() == 1
    assert not Repository.objects.filter(name="evil").exists()


def test_an_archived_repository_is_taken_as_gone_and_comes_back_unarchived(
    client, gh_source, github, django_capture_on_commit_callbacks
):
    churn = p.gh_repo(102, "churn", branch="develop")
    github.routes["/repos/ml-org/churn"] = {**churn, "archived": True}
    with django_capture_on_commit_callbacks(execute=True):
        response = post_github(
            client, "repository", {"action": "archived", "repository": churn}, delivery="1"
        )
    assert response.json()["status"] == "queued"
    assert SyncRun.objects.filter(source=gh_source).first().status == SyncRun.Status.SUCCESS
    assert Repository.objects.get(name="churn").gone_at is not None
    github.routes["/repos/ml-org/churn"] = churn
    with django_capture_on_commit_callbacks(execute=True):
        post_github(client, "repository", {"action": "unarchived", "repository": churn}, delivery="2")
    assert Repository.objects.get(name="churn").gone_at is None


# GitLab


@pytest.fixture
def gl_repository(monkeypatch):
    monkeypatch.setenv("PORTAL_TEST_GL_HOOK", SECRET)
    source = Source.objects.create(
        name="gl",
        kind=Source.Kind.GITLAB,
        config={"group": "gitlab-org", "webhook_secret_env": "PORTAL_TEST_GL_HOOK"},
    )
    return Repository.objects.create(
        source=source,
        external_id="1",
        url="http://192.168.64.1:3005/gitlab-org/gitlab-test",
        name="gitlab-test",
        default_branch="master",
    )


def pipeline_hook(**attributes) -> dict:
    """The corpus Pipeline Hook made a branch pipeline (as published it is a merge request's, which names
    its source branch in ``ref``), with ``attributes`` changed."""
    payload = copy.deepcopy(p.corpus_json(p.GITLAB_HOOK))
    payload["object_attributes"].update({"source": "push", **attributes})
    payload["merge_request"] = None
    return payload


def post_gitlab(
    client, payload: dict, *, token: str = SECRET, key: str = "k-1", event: str = "Pipeline Hook"
):
    headers = {"X-Gitlab-Event": event, "Idempotency-Key": key}
    if token:
        headers["X-Gitlab-Token"] = token
    return client.post("/hooks/gitlab", json.dumps(payload), content_type="application/json", headers=headers)


def test_a_gitlab_pipeline_hook_writes_the_run(client, gl_repository):
    response = post_gitlab(client, pipeline_hook())
    assert response.status_code == 200 and response.json()["status"] == "updated"
    pipeline = Pipeline.objects.get(repository=gl_repository)
    assert (pipeline.provider, pipeline.external_id) == ("gitlab-ci", ".gitlab-ci.yml")
    run = pipeline.runs.get()
    assert (run.external_id, run.status, run.conclusion, run.portal_status) == (
        "31",
        "success",
        "",
        "success",
    )
    # GitLab's hook timestamps are "2016-08-12 15:23:28 UTC", not ISO 8601.
    assert run.created_at == datetime(2016, 8, 12, 15, 23, 28, tzinfo=UTC)
    assert run.finished_at == datetime(2016, 8, 12, 15, 26, 29, tzinfo=UTC)
    assert run.url == "http://192.168.64.1:3005/gitlab-org/gitlab-test/-/pipelines/31"
    assert pipeline.latest_status == "success"


def test_gitlab_token_bad_missing_and_replayed(client, gl_repository):
    payload = pipeline_hook()
    assert post_gitlab(client, payload, token="wrong").status_code == 401
    assert post_gitlab(client, payload, token="").status_code == 401
    assert not Pipeline.objects.exists()
    assert post_gitlab(client, payload, key="same").json()["status"] == "updated"
    assert post_gitlab(client, payload, key="same").json()["status"] == "duplicate"


def test_a_gitlab_merge_request_pipeline_is_ignored(client, gl_repository):
    # As published: source merge_request_event, with the merge request's source branch in ref.
    response = post_gitlab(client, p.corpus_json(p.GITLAB_HOOK))
    assert response.json()["status"] == "ignored: a merge request pipeline"
    fork = pipeline_hook(source="merge_request_event")  # merge_request may be null even then
    assert post_gitlab(client, fork, key="k-2").json()["status"] == "ignored: a merge request pipeline"
    assert not PipelineRun.objects.exists()


@pytest.fixture
def queued(monkeypatch) -> list:
    """The targeted syncs the webhooks queue, as (source pk, trigger, only), not run."""
    calls = []
    monkeypatch.setattr(webhooks.sync_source, "delay", lambda *args: calls.append(args))
    return calls


def test_a_gitlab_pipeline_finished_then_running_queues_a_resync_and_stays_finished(
    client, gl_repository, queued, django_capture_on_commit_callbacks
):
    failed = pipeline_hook(id=500, status="failed")
    assert post_gitlab(client, failed, key="k-1").json()["status"] == "updated"
    running = pipeline_hook(id=500, status="running", finished_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_gitlab(client, running, key="k-2")
    assert response.json()["status"] == "queued: finished before, re-read from the API"
    assert queued == [(gl_repository.source_id, SyncRun.Trigger.WEBHOOK, ["gitlab-org/gitlab-test"])]
    run = PipelineRun.objects.get(external_id="500")
    assert (run.status, run.portal_status) == ("failed", "failure")
    assert Pipeline.objects.get(repository=gl_repository).latest_status == "failure"
    # Retried and passed; the first failure's delivery, late, finished earlier.
    passed = pipeline_hook(id=500, status="success", finished_at="2016-08-12 15:40:00 UTC")
    assert post_gitlab(client, passed, key="k-3").json()["status"] == "updated"
    assert post_gitlab(client, failed, key="k-4").json()["status"] == "ignored: older than stored"
    assert PipelineRun.objects.get(external_id="500").status == "success"


def test_a_gitlab_project_outside_the_group_is_refused_early(
    client, gl_repository, queued, django_capture_on_commit_callbacks
):
    push = {"ref": "refs/heads/main", "project": {"id": 77, "path_with_namespace": "evil/gitlab-org"}}
    push["project"]["default_branch"] = "main"
    with django_capture_on_commit_callbacks(execute=True):
        response = post_gitlab(client, push, event="Push Hook", key="k-1")
        inside = {**push, "project": {**push["project"], "path_with_namespace": "GitLab-Org/sub/x"}}
        queued_inside = post_gitlab(client, inside, event="Push Hook", key="k-2")
    assert response.json()["status"] == "ignored: not in this source's group"
    assert queued_inside.json()["status"] == "queued"
    assert queued == [(gl_repository.source_id, SyncRun.Trigger.WEBHOOK, ["GitLab-Org/sub/x"])]


def test_gitlab_unknown_event_is_ignored(client, gl_repository):
    response = post_gitlab(client, {"object_kind": "note"}, event="Note Hook")
    assert response.status_code == 200 and response.json()["status"] == "ignored"


def test_get_is_not_allowed(client):
    assert client.get("/hooks/github").status_code == 405


@pytest.mark.parametrize(
    ("event", "delivery", "header"),
    [
        ("ping", "d" * 129, "X-GitHub-Delivery"),
        ("ping", "d-\x00", "X-GitHub-Delivery"),
        ("ping", "d-\u00e9", "X-GitHub-Delivery"),
        ("p" * 65, "d-1", "X-GitHub-Event"),
        ("ping\u00e9", "d-1", "X-GitHub-Event"),
    ],
)
def test_headers_out_of_shape_get_400_and_record_nothing(client, gh_source, event, delivery, header):
    response = post_github(client, event, {"zen": "Keep it logically awesome."}, delivery=delivery)
    assert response.status_code == 400
    longest = 128 if header == "X-GitHub-Delivery" else 64
    assert response.json() == {"error": f"{header} is not printable ASCII of at most {longest} characters"}
    assert not WebhookDelivery.objects.exists()


def test_two_long_delivery_ids_are_not_taken_for_one(client, gh_source):
    # Before, ids were cut to 128 characters, so two ids sharing their first 128 were one delivery.
    first = post_github(client, "ping", {"zen": "z"}, delivery="d" * 127 + "1")
    second = post_github(client, "ping", {"zen": "z"}, delivery="d" * 127 + "2")
    assert first.json() == second.json() == {"status": "pong", "event": "ping"}


def test_unsigned_deliveries_with_any_headers_get_401(client, gh_source):
    for signature in ("sha256=" + "\u00e9" * 64, "x" * 100_000):
        response = post_github(client, "ping", {"zen": "z"}, delivery="\u00e9" * 500, signature=signature)
        assert response.status_code == 401


def test_a_number_too_large_for_the_database_is_a_400(client, gh_source):
    event = workflow_run_event()
    event["workflow_run"]["run_attempt"] = 10**30
    response = post_github(client, "workflow_run", event)
    assert response.status_code == 400, response.content
    assert response.json()["error"].startswith("the workflow_run payload is not as documented")
    assert not WebhookDelivery.objects.exists()


def test_gitlab_headers_out_of_shape_get_400_naming_the_header(client, gl_repository):
    response = post_gitlab(client, {"object_kind": "note"}, key="k" * 200)
    assert response.status_code == 400
    assert response.json() == {"error": "Idempotency-Key is not printable ASCII of at most 128 characters"}
    response = post_gitlab(client, {"object_kind": "note"}, event="Note Hook\u2028")
    assert response.json() == {"error": "X-Gitlab-Event is not printable ASCII of at most 64 characters"}
    # A token that is not ASCII matches no secret: 401, not an error.
    assert post_gitlab(client, {"object_kind": "note"}, token="\u00e9" * 50).status_code == 401
    assert not WebhookDelivery.objects.exists()


# Payload fields null, of another type or missing: 400 naming the field, never a 500.

PUSH = {"ref": "refs/heads/main", "repository": {"id": 101, "full_name": "ml-org/fraud-model"}}


def _set(payload: dict, path: str, value) -> dict:
    """``payload`` with the dotted ``path`` set to ``value`` (or deleted when value is ``...``)."""
    payload = copy.deepcopy(payload)
    *parents, last = path.split(".")
    target = payload
    for part in parents:
        target = target[part]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return payload


@pytest.mark.parametrize(
    ("event", "path", "value", "error"),
    [
        ("workflow_run", "workflow_run", None, "workflow_run must be an object, not null"),
        ("workflow_run", "workflow_run", [], "workflow_run must be an object, not an array"),
        ("workflow_run", "workflow_run", ..., "workflow_run must be an object, not null"),
        ("workflow_run", "repository", "x", "repository must be an object, not a string"),
        ("workflow_run", "repository.id", None, "repository.id is null"),
        ("workflow_run", "repository.full_name", ..., "repository.full_name is missing"),
        ("workflow_run", "repository.default_branch", 5, "repository.default_branch must be a string"),
        ("workflow_run", "workflow_run.id", True, "workflow_run.id must be a number or a string, not true"),
        ("workflow_run", "workflow_run.created_at", 17, "workflow_run.created_at must be a string"),
        ("workflow_run", "workflow_run.head_branch", {}, "workflow_run.head_branch must be a string"),
        ("workflow_run", "workflow_run.status", [], "workflow_run.status must be a string, not an array"),
        ("workflow_run", "workflow_run.run_number", "4", "workflow_run.run_number must be a number"),
        ("workflow_run", "workflow", 3, "workflow must be an object, not a number"),
        ("workflow_run", "workflow.id", ..., "workflow.id is missing"),
        ("workflow_run", "workflow.state", 1, "workflow.state must be a string"),
        ("push", "repository", None, "repository must be an object, not null"),
        ("push", "ref", 7, "ref must be a string, not a number"),
        ("repository", "repository.full_name", None, "repository.full_name is null"),
        ("repository", "action", [], "action must be a string, not an array"),
    ],
)
def test_github_payload_fields_out_of_shape_get_400_naming_them(client, gh_source, event, path, value, error):
    base = workflow_run_event() if event == "workflow_run" else {**PUSH, "action": "edited"}
    response = post_github(client, event, _set(base, path, value))
    assert response.status_code == 400
    assert response.json()["error"].startswith(f"the {event} payload is not as documented: {error}")
    assert not PipelineRun.objects.filter(external_id="1005").exists()
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    ("event", "path", "value", "error"),
    [
        ("Pipeline Hook", "object_attributes", None, "object_attributes must be an object, not null"),
        ("Pipeline Hook", "object_attributes.id", ..., "object_attributes.id is missing"),
        ("Pipeline Hook", "object_attributes.ref", 1, "object_attributes.ref must be a string"),
        ("Pipeline Hook", "object_attributes.tag", "no", "object_attributes.tag must be true or false"),
        ("Pipeline Hook", "object_attributes.created_at", None, "object_attributes.created_at is null"),
        ("Pipeline Hook", "project", [], "project must be an object, not an array"),
        ("Pipeline Hook", "project.path_with_namespace", 1, "project.path_with_namespace must be a string"),
        ("Push Hook", "project", None, "project must be an object, not null"),
        ("Push Hook", "ref", {}, "ref must be a string, not an object"),
    ],
)
def test_gitlab_payload_fields_out_of_shape_get_400_naming_them(
    client, gl_repository, event, path, value, error
):
    payload = p.corpus_json(p.GITLAB_HOOK)
    payload["ref"] = "refs/heads/master"
    response = post_gitlab(client, _set(payload, path, value), event=event)
    assert response.status_code == 400
    assert response.json()["error"].startswith(f"the {event} payload is not as documented: {error}")
    assert not PipelineRun.objects.exists()


def test_a_workflow_run_without_its_workflow_keeps_the_pipelines_known_state(client, gh_source):
    Pipeline.objects.filter(external_id="11").update(state="disabled_manually")
    known = Pipeline.objects.values("name", "file_path", "state", "url").get(external_id="11")
    assert known["state"] == "disabled_manually" and known["url"]
    event = workflow_run_event()
    del event["workflow"]
    event["workflow_run"]["name"] = "A run title"
    response = post_github(client, "workflow_run", event)
    assert response.status_code == 200 and response.json()["status"] == "updated"
    ci = Pipeline.objects.get(external_id="11")
    assert {k: getattr(ci, k) for k in known} == known
    assert ci.runs.filter(external_id="1005").exists() and ci.latest_status == "success"
    # Without the workflow object and without workflow_run.workflow_id, no pipeline can be named.
    event["workflow_run"]["workflow_id"] = None
    response = post_github(client, "workflow_run", event, delivery="d-2")
    assert response.status_code == 400 and "workflow_run.workflow_id" in response.json()["error"]


def deploy_run_event(**kwargs) -> dict:
    """A ``workflow_run`` event of run 1004 of the "Deploy model" workflow (in progress in the fake API)."""
    payload = workflow_run_event(run_id=1004, **kwargs)
    payload["workflow"].update(id=12, name="Deploy model", path=".github/workflows/deploy-model.yml")
    payload["workflow_run"]["workflow_id"] = 12
    return payload


@pytest.mark.parametrize("attempt", [1, 2])
def test_a_sync_that_read_the_api_before_a_webhook_keeps_the_webhooks_newer_run(
    client, gh_source, monkeypatch, attempt
):
    assert PipelineRun.objects.get(external_id="1004").portal_status == "running"
    apply_snapshot = sync_module.apply_snapshot

    def webhook_in_between(source, snapshot, *, now):  # the sync has read run 1004 in progress
        event = deploy_run_event(conclusion="failure", attempt=attempt)
        assert post_github(client, "workflow_run", event).json()["status"] == "updated"
        return apply_snapshot(source, snapshot, now=now)

    monkeypatch.setattr(sync_module, "apply_snapshot", webhook_in_between)
    sync_source(gh_source)
    run = PipelineRun.objects.get(external_id="1004")
    assert (run.portal_status, run.run_attempt) == ("failure", attempt)
    assert Pipeline.objects.get(external_id="12").latest_status == "failure"


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_of_a_run_not_stored_yet_are_applied_one_after_the_other(gh_source, monkeypatch):
    """On PostgreSQL the second waits for the first's transaction (both would insert the run)."""
    run_recorded = webhooks._run_recorded
    written, release = threading.Event(), threading.Event()

    def first_waits(repositories, write):
        status = run_recorded(repositories, write)
        if threading.current_thread().name == "first":
            written.set()
            release.wait(10)  # its transaction stays open
        return status

    monkeypatch.setattr(webhooks, "_run_recorded", first_waits)
    answers = {}

    def deliver(name: str, event: dict) -> None:
        try:
            answers[name] = post_github(Client(), "workflow_run", event, delivery=name).status_code
        finally:
            connections.close_all()

    first = threading.Thread(
        target=deliver, name="first", args=("first", workflow_run_event(run_id=1006, status="in_progress"))
    )
    second = threading.Thread(
        target=deliver, name="second", args=("second", workflow_run_event(run_id=1006, conclusion="success"))
    )
    first.start()
    assert written.wait(10)
    second.start()
    time.sleep(0.5)  # the second is waiting for the repository's row (or, on SQLite, for the database)
    release.set()
    first.join(20)
    second.join(20)
    assert answers == {"first": 200, "second": 200}
    assert PipelineRun.objects.get(external_id="1006").portal_status == "success"


def test_a_gitlab_pipeline_read_running_after_it_finished_is_written_a_github_run_is_not(gl_repository):
    """A retried GitLab pipeline keeps its id (and has no attempt count); a GitHub re-run raises its
    ``run_attempt``, so the same attempt unfinished again is an older answer."""
    finished = gitlab_connector.run_record(pipeline_hook()["object_attributes"])
    running = dataclasses.replace(finished, status="running", portal_status="running", finished_at=None)
    shape = {"ci_config_path": ".gitlab-ci.yml", "web_url": ""}
    for run in (finished, running):
        record_run(gl_repository, gitlab_connector.pipeline_record(shape, [run]), p.NOW)
    assert PipelineRun.objects.get(external_id="31").portal_status == "running"

    event = workflow_run_event(run_id=2001)
    done = github_connector.run_record(event["workflow_run"])
    again = dataclasses.replace(done, status="in_progress", conclusion="", portal_status="running")
    for run in (done, again):
        record_run(gl_repository, github_connector.workflow_record(event["workflow"], [run]), p.NOW)
    assert PipelineRun.objects.get(external_id="2001").portal_status == "success"


def test_a_rerun_on_github_enterprise_without_run_attempt_is_written(client, gh_source):
    """GitHub Enterprise before ``run_attempt``: a re-run is the same run, finished, then running again."""
    event = workflow_run_event(conclusion="failure")
    del event["workflow_run"]["run_attempt"]
    assert post_github(client, "workflow_run", event).json()["status"] == "updated"
    rerun = workflow_run_event(status="in_progress", conclusion=None, updated=p.NOW + timedelta(minutes=5))
    del rerun["workflow_run"]["run_attempt"]
    assert post_github(client, "workflow_run", rerun, delivery="d-2").json()["status"] == "updated"
    assert PipelineRun.objects.get(external_id="1005").portal_status == "running"
