"""GitHub sources through the single write path: repositories, projects, pipelines, runs, the ETag cache,
rate limits that fail the run but keep the last good data, and the task that retries at the reset time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from celery.exceptions import Retry

from catalog import tasks
from catalog.models import HttpCacheEntry, Pipeline, PipelineRun, Project, Repository, Source, SyncRun
from catalog.sync import sync_source
from tests.hosted import payloads as p
from tests.hosted.fakeapi import json_response

pytestmark = pytest.mark.django_db

RESET = int(time.time()) + 1800  # GitHub's reset: epoch seconds, within the hour
RATE_LIMITED = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(RESET)}


@pytest.fixture
def source(github_config):
    return Source.objects.create(name="gh", kind=Source.Kind.GITHUB, config=github_config)


def test_first_sync_writes_repositories_projects_pipelines_and_runs(source):
    run = sync_source(source)
    assert run.status == SyncRun.Status.SUCCESS, run.errors
    repos = {r.name: r for r in Repository.objects.filter(source=source)}
    assert set(repos) == {"fraud-model", "churn", "empty"}
    assert repos["fraud-model"].topics == ["ml", "fraud"] and repos["fraud-model"].last_commit_sha == "a" * 40
    assert Project.objects.get(name="fraud-model").descriptor is not None  # declared
    assert Project.objects.get(name="churn").repository == repos["churn"]  # found

    ci = Pipeline.objects.get(repository=repos["fraud-model"], external_id="11")
    assert (ci.name, ci.file_path, ci.state) == ("CI", ".github/workflows/ci.yml", "active")
    assert ci.templates == [
        {
            "kind": "github-reusable-workflow",
            "project": "ml-platform/ci-templates",
            "file": ".github/workflows/train.yml",
            "ref": "v1.2.0",
        }
    ]
    assert (ci.template_project, ci.template_ref) == ("ml-platform/ci-templates", "v1.2.0")
    assert ci.latest_status == "failure"
    # The red streak began with run 1002 (timed_out), after the success of run 1001.
    assert ci.failing_since == p.NOW - timedelta(days=3) + timedelta(seconds=5)
    assert list(ci.runs.values_list("external_id", "conclusion", "portal_status")) == [
        ("1003", "failure", "failure"),
        ("1002", "timed_out", "failure"),
        ("1001", "success", "success"),
    ]
    deploy = Pipeline.objects.get(repository=repos["fraud-model"], external_id="12")
    assert (
        deploy.latest_status == "success" and deploy.failing_since is None
    )  # the running run is not counted
    assert PipelineRun.objects.count() == 6


def test_second_sync_changes_nothing_and_is_answered_with_304s(source, github):
    sync_source(source)
    assert HttpCacheEntry.objects.filter(source=source).exists()
    before = len(github.log)
    run = sync_source(source)
    assert run.status == SyncRun.Status.SUCCESS
    assert (run.created, run.updated, run.failed) == (0, 0, 0) and run.unchanged > 0
    answers = [status for _, _, status in github.log[before:]]
    assert answers.count(304) == len(answers) - 1  # all but the empty repository's 409


def test_a_rate_limit_fails_the_run_with_url_status_and_retry_time_and_keeps_the_data(source, github):
    sync_source(source)
    kept = list(Pipeline.objects.values_list("pk", "latest_status", "updated_at"))
    runs = PipelineRun.objects.count()
    github.routes["/repos/ml-org/churn/actions/runs"] = lambda request: json_response(
        {"message": "API rate limit exceeded"}, status=403, headers=RATE_LIMITED
    )
    run = sync_source(source)
    assert run.status == SyncRun.Status.FAILED
    [error] = run.errors
    assert "/repos/ml-org/churn/actions/runs" in error["message"] and "answered 403" in error["message"]
    assert error["retry_at"] == datetime.fromtimestamp(RESET, UTC).isoformat()
    assert list(Pipeline.objects.values_list("pk", "latest_status", "updated_at")) == kept
    assert PipelineRun.objects.count() == runs
    assert Repository.objects.filter(source=source, gone_at__isnull=True).count() == 3


def test_the_task_retries_at_the_time_the_api_named(source, github, monkeypatch, settings):
    github.routes["/orgs/ml-org/repos"] = lambda request: json_response(
        {"message": "API rate limit exceeded"}, status=403, headers=RATE_LIMITED
    )
    asked = {}

    def retry(**kwargs):
        asked.update(kwargs)
        raise Retry("rate limited", when=kwargs["eta"])

    monkeypatch.setattr(tasks.sync_source, "retry", retry)
    monkeypatch.setitem(tasks.sync_source.app.conf, "task_always_eager", False)
    with pytest.raises(Retry):
        tasks.sync_source.run(source.pk)
    assert asked["eta"] == datetime.fromtimestamp(RESET, UTC)
    assert SyncRun.objects.get(source=source).status == SyncRun.Status.FAILED


def test_eager_tasks_do_not_wait_for_a_rate_limit(source, github):
    github.routes["/orgs/ml-org/repos"] = lambda request: json_response(
        {"message": "API rate limit exceeded"}, status=429, headers={"Retry-After": "3600"}
    )
    tasks.sync_source.delay(source.pk)  # eager here: returns at once, the run failed
    assert SyncRun.objects.get(source=source).status == SyncRun.Status.FAILED


def test_a_repository_that_fails_keeps_its_pipelines(source, github):
    sync_source(source)
    github.failures["/repos/ml-org/fraud-model/actions/workflows"] = [json_response({}, status=500)] * 3
    run = sync_source(source)
    assert run.status == SyncRun.Status.PARTIAL
    assert "answered 500" in run.errors[0]["message"]
    assert Pipeline.objects.filter(repository__name="fraud-model", gone_at__isnull=True).count() == 2
    assert Repository.objects.get(name="fraud-model").last_error


def test_a_removed_workflow_is_gone_and_history_is_bounded(source, github, settings):
    settings.PORTAL = {**settings.PORTAL, "PIPELINE_RUN_HISTORY": 2}
    sync_source(source)
    ci = Pipeline.objects.get(external_id="11")
    assert list(ci.runs.values_list("external_id", flat=True)) == ["1003", "1002"]
    github.routes["/repos/ml-org/fraud-model/actions/workflows"] = {
        "total_count": 1,
        "workflows": [p.gh_workflow(11, "CI", ".github/workflows/ci.yml")],
    }
    sync_source(source)
    assert Pipeline.objects.get(external_id="12").gone_at is not None
    assert Pipeline.objects.get(external_id="11").gone_at is None


def test_targeted_sync_reads_one_repository_and_orphans_nothing(source, github):
    sync_source(source)
    github.routes["/repos/ml-org/churn"] = p.gh_repo(102, "churn", branch="develop", topics=["ml", "tabular"])
    run = sync_source(source, only=("ml-org/churn",))
    assert run.status == SyncRun.Status.SUCCESS and run.orphaned == 0
    assert Repository.objects.get(name="churn").topics == ["ml", "tabular"]
    assert Repository.objects.filter(source=source, gone_at__isnull=True).count() == 3


def test_a_targeted_sync_skips_a_repository_of_another_org(source, github):
    sync_source(source)
    before = list(Repository.objects.values_list("pk", "name", "gone_at", "last_commit_sha").order_by("pk"))
    github.routes["/repos/other-org/evil"] = p.gh_repo(900, "evil", org="other-org")
    run = sync_source(source, only=("other-org/evil",))
    assert run.status == SyncRun.Status.SUCCESS and (run.created, run.failed, run.orphaned) == (0, 0, 0)
    assert run.changes == {"skipped": {"repository outside the source": ["other-org/evil"]}}
    after = list(Repository.objects.values_list("pk", "name", "gone_at", "last_commit_sha").order_by("pk"))
    assert after == before


def test_a_targeted_sync_of_a_repository_now_archived_takes_it_as_gone_as_a_full_sync_does(source, github):
    sync_source(source)
    churn = p.gh_repo(102, "churn", branch="develop")
    github.routes["/repos/ml-org/churn"] = {**churn, "archived": True}
    run = sync_source(source, only=("ml-org/churn",))
    assert run.status == SyncRun.Status.SUCCESS and run.orphaned == 1
    assert Repository.objects.get(name="churn").gone_at is not None
    assert Project.objects.get(name="churn").orphaned_at is not None
    assert Repository.objects.filter(source=source, gone_at__isnull=True).count() == 2  # the others stay
    github.routes["/repos/ml-org/churn"] = churn  # unarchived
    run = sync_source(source, only=("ml-org/churn",))
    assert run.status == SyncRun.Status.SUCCESS
    assert Repository.objects.get(name="churn").gone_at is None
    assert Project.objects.get(name="churn").orphaned_at is None


def test_a_run_that_finishes_updates_its_row_and_the_pipeline(source, github):
    sync_source(source)
    deploy = Pipeline.objects.get(external_id="12")
    assert deploy.runs.get(external_id="1004").portal_status == "running"
    runs = github.routes["/repos/ml-org/fraud-model/actions/runs"].items
    runs[1] = p.gh_run(1004, 12, conclusion="failure", created=p.NOW - timedelta(hours=4))
    run = sync_source(source)
    assert run.status == SyncRun.Status.SUCCESS
    finished = deploy.runs.get(external_id="1004")
    assert (finished.status, finished.conclusion, finished.portal_status) == (
        "completed",
        "failure",
        "failure",
    )
    deploy.refresh_from_db()
    assert deploy.latest_status == "failure"
    assert deploy.failing_since == p.NOW - timedelta(hours=4) + timedelta(seconds=5)


def test_the_cache_drops_answers_no_longer_asked_for_after_a_complete_sync(source, github):
    sync_source(source)
    keys = set(HttpCacheEntry.objects.values_list("url", flat=True))
    assert any("/repos/ml-org/churn/" in url for url in keys)
    github.routes["/repos/ml-org/churn"] = p.gh_repo(102, "churn", branch="develop")
    sync_source(source, only=("ml-org/churn",))  # targeted: nothing is dropped
    assert keys <= set(HttpCacheEntry.objects.values_list("url", flat=True))
    github.routes["/orgs/ml-org/repos"].items.pop(1)  # churn leaves the organization
    sync_source(source)
    assert not HttpCacheEntry.objects.filter(url__contains="/repos/ml-org/churn/").exists()
    assert HttpCacheEntry.objects.filter(url__contains="/repos/ml-org/fraud-model/").exists()
