"""The GitHub connector over real HTTP against a stand-in API: discovery, facts, descriptors, pipelines."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from catalog.connectors import github
from catalog.connectors.http import HttpError, MemoryCache, RateLimited
from catalog.connectors.records import TemplateRef
from tests.hosted import payloads as p
from tests.hosted.fakeapi import json_response


def fetch(config, **kwargs):
    return github.connector.fetch(config, now=p.NOW, **kwargs)


def by_name(snapshot):
    return {r.name: r for r in snapshot.repositories}


def test_lists_the_org_over_pages_and_reads_each_repository(github, github_config):
    snapshot = fetch(github_config)
    assert snapshot.complete and not snapshot.errors
    repos = by_name(snapshot)
    assert set(repos) == {"fraud-model", "churn", "empty"}  # archived repositories are left out
    assert [q.get("page") for path, q, _ in github.requests("^/orgs/ml-org/repos$")] == [None, "2"]

    fraud = repos["fraud-model"]
    assert fraud.error is None
    assert (fraud.external_id, fraud.url, fraud.host) == (
        "101",
        "https://github.com/ml-org/fraud-model",
        "github.com",
    )
    assert fraud.default_branch == "main" and fraud.topics == ("ml", "fraud") and not fraud.archived
    assert fraud.last_commit.sha == "a" * 40
    assert fraud.last_commit.committed_at == p.NOW - timedelta(days=2)
    assert fraud.commits_in_window == 2
    assert [(a.name, a.commits) for a in fraud.top_authors] == [("Ada Lovelace", 1), ("Alan Turing", 1)]
    [descriptor] = fraud.descriptors
    assert descriptor.path == "catalog-info.yaml" and descriptor.entities[0].name == "fraud-model"


def test_last_commit_comes_from_the_commits_api_on_the_default_branch(github, github_config):
    repos = by_name(fetch(github_config))
    churn = repos["churn"]
    # Its only commit is older than the window: one query with since, then per_page=1 without.
    assert churn.last_commit.sha == "d" * 40 and churn.commits_in_window == 0
    queries = [q for _, q, _ in github.requests("^/repos/ml-org/churn/commits$")]
    assert queries[0]["sha"] == "develop" and queries[0]["since"] == "2025-12-02T00:00:00Z"
    assert queries[1] == {"sha": "develop", "per_page": "1"}
    assert repos["empty"].last_commit is None and repos["empty"].error is None


def test_workflows_runs_and_templates(github, github_config):
    fraud = by_name(fetch(github_config))["fraud-model"]
    ci, deploy = fraud.pipelines
    assert (ci.provider, ci.external_id, ci.name, ci.file_path, ci.state) == (
        "github-actions",
        "11",
        "CI",
        ".github/workflows/ci.yml",
        "active",
    )
    assert ci.templates == (
        TemplateRef(
            "github-reusable-workflow", "ml-platform/ci-templates", ".github/workflows/train.yml", "v1.2.0"
        ),
    )
    assert deploy.templates == () and deploy.config_error == ""
    assert [(r.external_id, r.status, r.conclusion, r.portal_status) for r in ci.runs] == [
        ("1003", "completed", "failure", "failure"),
        ("1002", "completed", "timed_out", "failure"),
        ("1001", "completed", "success", "success"),
    ]
    run = ci.runs[0]
    assert run.branch == "main" and run.commit_sha == "acb5820ced9479c074f688cc328bf03f341a511d"
    assert run.finished_at == run.created_at + timedelta(minutes=7) and run.run_number == 3
    assert deploy.runs[0].portal_status == "running" and deploy.runs[0].finished_at is None
    runs_query = github.requests("^/repos/ml-org/fraud-model/actions/runs$")[0][1]
    assert runs_query["branch"] == "main" and runs_query["per_page"] == "30"


def test_a_second_read_with_the_cache_is_all_304s(github, github_config):
    cache = MemoryCache()
    first = fetch(github_config, cache=cache)
    before = len(github.log)
    second = fetch(github_config, cache=cache)
    answers = [status for _, _, status in github.log[before:]]
    assert len(answers) == before
    # Everything is a 304 but the empty repository's 409, which carries no ETag.
    assert sorted(set(answers)) == [304, 409] and answers.count(304) == len(answers) - 1
    assert second == first


def test_only_reads_the_named_repositories_and_is_incomplete(github, github_config):
    github.routes["/repos/ml-org/churn"] = p.gh_repo(102, "churn", branch="develop")
    snapshot = fetch(github_config, only=("ml-org/churn", "ml-org/gone"))
    assert [r.name for r in snapshot.repositories] == ["churn"]
    assert not snapshot.complete and snapshot.errors == ("repository ml-org/gone not found",)
    assert not github.requests("^/orgs/")


def test_only_reads_what_the_full_listing_would_hold(github, github_config):
    r = github.routes
    r["/repos/other-org/evil"] = p.gh_repo(900, "evil", org="other-org")
    r["/repos/ml-org/moved"] = p.gh_repo(106, "moved", org="other-org")  # transferred: GitHub redirects
    r["/repos/ml-org/old-notebooks"] = p.gh_repo(103, "old-notebooks", archived=True)
    r["/repos/ML-ORG/churn"] = p.gh_repo(102, "churn", branch="develop")  # logins ignore case
    only = ("other-org/evil", "ml-org/moved", "ml-org/old-notebooks", "ML-ORG/churn")
    snapshot = fetch(github_config, only=only)
    assert [r.name for r in snapshot.repositories] == ["churn"] and not snapshot.errors
    assert snapshot.skipped == ("other-org/evil", "other-org/moved")
    assert snapshot.excluded == ("103",)  # archived: the full listing leaves it out
    assert not github.requests("^/repos/(other-org/evil|ml-org/moved)/")  # nothing read of them
    churn_only = fetch({**github_config, "topics": ["fraud"]}, only=("ML-ORG/churn",))
    assert churn_only.repositories == () and churn_only.excluded == ("102",)


def test_pull_requests_runs_are_not_the_default_branchs(github, github_config):
    runs = github.routes["/repos/ml-org/fraud-model/actions/runs"].items
    fork = p.gh_run(1006, 11, conclusion="failure", created=p.NOW - timedelta(hours=1), number=9)
    fork["head_repository"].update(id=999, full_name="someone/fraud-model")
    older = p.gh_run(1007, 11, created=p.NOW - timedelta(hours=2), number=8)
    older["head_repository"] = None  # payloads before head_repository: kept
    named = p.gh_run(1008, 11, created=p.NOW - timedelta(hours=3), number=7)
    named["head_repository"] = {"full_name": "ML-Org/Fraud-Model"}  # no id: compared by name
    own_pull_request = p.gh_run(1009, 11, conclusion="failure", created=p.NOW - timedelta(hours=1), number=10)
    own_pull_request["event"] = "pull_request"  # from main into another branch: it tests a merge
    runs[:0] = [own_pull_request, fork, older, named]
    ci = by_name(fetch(github_config))["fraud-model"].pipelines[0]
    assert [r.external_id for r in ci.runs] == ["1007", "1008", "1003", "1002", "1001"]


def test_filters_by_topic_and_name(github, github_config):
    assert set(by_name(fetch({**github_config, "topics": ["FRAUD"]}))) == {"fraud-model"}
    assert set(by_name(fetch({**github_config, "name_patterns": ["c*", "e*"]}))) == {"churn", "empty"}
    assert "old-notebooks" in by_name(fetch({**github_config, "include_archived": True}))


def test_token_goes_in_the_header_from_the_named_variable(github, github_config, monkeypatch):
    monkeypatch.setenv("PORTAL_TEST_GH_TOKEN", "ghp_secret")
    fetch({**github_config, "token_env": "PORTAL_TEST_GH_TOKEN"})
    assert github.log
    with pytest.raises(ValueError, match="PORTAL_TEST_GH_UNSET") as raised:
        fetch({**github_config, "token_env": "PORTAL_TEST_GH_UNSET"})
    assert "ghp_secret" not in str(raised.value)


def test_bad_config_names_the_key(github_config):
    with pytest.raises(ValueError, match="'orgs'"):
        fetch({**github_config, "orgs": "x"})
    with pytest.raises(ValueError, match="exactly one"):
        fetch({"api_url": github_config["api_url"]})


def test_rate_limit_403_names_the_reset_time(github, github_config):
    reset = int(time.time()) + 1800
    github.routes["/repos/ml-org/churn/actions/workflows"] = lambda request: json_response(
        {"message": "API rate limit exceeded for user ID 1."},
        status=403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
    )
    with pytest.raises(RateLimited) as raised:
        fetch(github_config)
    error = raised.value
    assert error.status == 403 and error.url.endswith("/repos/ml-org/churn/actions/workflows?per_page=100")
    assert error.reset_at == datetime.fromtimestamp(reset, UTC)
    assert "403" in str(error) and "/repos/ml-org/churn/actions/workflows" in str(error)


def test_a_403_that_is_not_a_rate_limit_fails_that_repository_only(github, github_config):
    github.routes["/repos/ml-org/churn/actions/workflows"] = lambda request: json_response(
        {"message": "Resource not accessible by integration"}, status=403
    )
    repos = by_name(fetch(github_config))
    assert "answered 403: Resource not accessible by integration" in repos["churn"].error
    assert "/repos/ml-org/churn/actions/workflows" in repos["churn"].error
    assert repos["fraud-model"].error is None


def test_malformed_json_fails_that_repository_with_url_and_status(github, github_config):
    from werkzeug import Response

    github.routes["/repos/ml-org/fraud-model/actions/workflows"] = lambda request: Response(
        '{"total_count": 2, "workflows": [', content_type="application/json"
    )
    fraud = by_name(fetch(github_config))["fraud-model"]
    assert "answered 200: the answer is not valid JSON" in fraud.error
    assert "/repos/ml-org/fraud-model/actions/workflows" in fraud.error


def test_listing_failure_raises_with_url_and_status(github, github_config):
    github.failures["/orgs/ml-org/repos"] = [json_response({"message": "Server Error"}, status=500)] * 5
    with pytest.raises(HttpError) as raised:
        fetch(github_config)
    assert raised.value.status == 500 and "/orgs/ml-org/repos" in raised.value.url
    assert len(github.requests("^/orgs/ml-org/repos$")) == 3  # tried three times (the test cap)


def test_a_5xx_is_retried_and_then_succeeds(github, github_config):
    github.failures["/orgs/ml-org/repos"] = [json_response({"message": "Bad Gateway"}, status=502)]
    snapshot = fetch(github_config)
    assert snapshot.complete and len(snapshot.repositories) == 3
    assert [s for _, _, s in github.requests("^/orgs/ml-org/repos$")] == [502, 200, 200]


def test_a_workflow_file_with_bad_yaml_keeps_the_pipeline_with_its_error(github, github_config):
    github.routes["/repos/ml-org/fraud-model/contents/.github/workflows/ci.yml"] = p.gh_file(
        ".github/workflows/ci.yml", "jobs:\n  train: [unclosed\n"
    )
    ci = by_name(fetch(github_config))["fraud-model"].pipelines[0]
    assert ci.templates == () and ci.config_error.startswith(".github/workflows/ci.yml: invalid YAML at line")
    assert len(ci.runs) == 3
