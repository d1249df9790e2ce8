"""Fixtures: a stand-in GitHub organization and GitLab group served over real HTTP on 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta

import pytest
import stamina

from catalog.connectors.ci import parse_time
from tests.hosted import payloads as p
from tests.hosted.fakeapi import FakeApi, Paged, json_response

DESCRIPTOR = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: fraud-model
  description: Scores card payments
spec:
  type: ml-model
  lifecycle: production
  owner: team-a
"""
TEMPLATED_WORKFLOW = """\
name: CI
on: [push]
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
  train:
    uses: ml-platform/ci-templates/.github/workflows/train.yml@v1.2.0
    with: {model: fraud}
  local:
    uses: ./.github/workflows/helper.yml
"""


@pytest.fixture(autouse=True)
def no_backoff():
    """Retries happen, without their waits."""
    with stamina.set_testing(True, attempts=3):
        yield


def commits_route(commits: list[dict], *, key: str = "commit"):
    """A commits list that honours ``since`` and ``per_page`` as the real APIs do."""

    def route(request):
        since = parse_time(request.args.get("since"))
        rows = commits
        if since is not None:
            rows = [
                c
                for c in rows
                if parse_time(c["commit"]["committer"]["date"] if key == "commit" else c["committed_date"])
                >= since
            ]
        return rows[: int(request.args.get("per_page", 30))]

    return route


def github_org(api: FakeApi) -> None:
    """ml-org: fraud-model (descriptor, two workflows), churn (no descriptor), an archived and an empty
    repository."""
    r = api.routes
    r["/orgs/ml-org/repos"] = Paged(
        [
            p.gh_repo(101, "fraud-model", topics=["ml", "fraud"]),
            p.gh_repo(102, "churn", branch="develop"),
            p.gh_repo(103, "old-notebooks", archived=True),
            p.gh_repo(104, "empty"),
        ],
        page_size=2,
    )
    fraud = "/repos/ml-org/fraud-model"
    r[f"{fraud}/commits"] = commits_route(
        [
            p.gh_commit("a" * 40, p.NOW - timedelta(days=2)),
            p.gh_commit("b" * 40, p.NOW - timedelta(days=20), name="Alan Turing", email="alan@example.com"),
            p.gh_commit("c" * 40, p.NOW - timedelta(days=400)),
        ]
    )
    r[f"{fraud}/contents/"] = p.gh_dir("README.md", "catalog-info.yaml", dirs=(".github",))
    r[f"{fraud}/contents/catalog-info.yaml"] = p.gh_file("catalog-info.yaml", DESCRIPTOR)
    r[f"{fraud}/actions/workflows"] = {
        "total_count": 2,
        "workflows": [
            p.gh_workflow(11, "CI", ".github/workflows/ci.yml"),
            p.gh_workflow(12, "Deploy model", ".github/workflows/deploy-model.yml"),
        ],
    }
    r[f"{fraud}/actions/runs"] = Paged(
        [
            p.gh_run(1003, 11, conclusion="failure", created=p.NOW - timedelta(hours=5), number=3),
            p.gh_run(1004, 12, status="in_progress", conclusion=None, created=p.NOW - timedelta(hours=4)),
            p.gh_run(1002, 11, conclusion="timed_out", created=p.NOW - timedelta(days=3), number=2),
            p.gh_run(1001, 11, conclusion="success", created=p.NOW - timedelta(days=6), number=1),
            p.gh_run(1000, 12, conclusion="success", created=p.NOW - timedelta(days=7)),
        ],
        wrap="workflow_runs",
    )
    r[f"{fraud}/contents/.github/workflows/ci.yml"] = p.gh_file(
        ".github/workflows/ci.yml", TEMPLATED_WORKFLOW
    )
    r[f"{fraud}/contents/.github/workflows/deploy-model.yml"] = p.gh_file(
        ".github/workflows/deploy-model.yml", p.corpus_text(p.DEPLOY_WORKFLOW)
    )

    churn = "/repos/ml-org/churn"
    r[f"{churn}/commits"] = commits_route([p.gh_commit("d" * 40, p.NOW - timedelta(days=200))])
    r[f"{churn}/contents/"] = p.gh_dir("setup.py")
    r[f"{churn}/actions/workflows"] = {
        "total_count": 1,
        "workflows": [p.gh_workflow(21, "tests", ".github/workflows/ci.yml")],
    }
    r[f"{churn}/actions/runs"] = Paged(
        [p.gh_run(2001, 21, created=p.NOW - timedelta(days=1), branch="develop", repo=(102, "ml-org/churn"))],
        wrap="workflow_runs",
    )
    r[f"{churn}/contents/.github/workflows/ci.yml"] = p.gh_file(
        ".github/workflows/ci.yml", p.corpus_text(p.SB3_WORKFLOW)
    )

    empty = "/repos/ml-org/empty"
    r[f"{empty}/commits"] = lambda request: json_response({"message": "Git Repository is empty."}, status=409)
    r[f"{empty}/contents/"] = lambda request: json_response(
        {"message": "This repository is empty."}, status=404
    )
    r[f"{empty}/actions/workflows"] = {"total_count": 0, "workflows": []}


@pytest.fixture
def github(httpserver) -> FakeApi:
    api = FakeApi(httpserver, style="github")
    github_org(api)
    return api


@pytest.fixture
def github_config(github) -> dict:
    return {"org": "ml-org", "api_url": github.base_url, "concurrency": 4, "timeout": 5}
