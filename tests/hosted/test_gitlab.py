"""The GitLab connector over real HTTP against a stand-in API, and the CI vocabulary both providers share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from catalog.connectors import ci, gitlab
from catalog.connectors.http import MemoryCache, RateLimited
from catalog.connectors.records import TemplateRef
from tests.hosted import payloads as p
from tests.hosted.conftest import commits_route
from tests.hosted.fakeapi import FakeApi, Paged, json_response

GITLAB_CI = """\
include:
  - project: ml-platform/ci-templates
    ref: v2.1.0
    file:
      - /templates/train.gitlab-ci.yml
      - templates/lint.yml
  - component: $CI_SERVER_FQDN/ml-platform/components/evaluate@1.4.0
  - template: Security/SAST.gitlab-ci.yml
  - local: /ci/extra.yml
  - https://example.com/shared.yml
train:
  script: [!reference [.setup, script], python train.py]
"""


@pytest.fixture
def gitlab_api(httpserver) -> FakeApi:
    api = FakeApi(httpserver, style="gitlab", prefix="/api/v4")
    r = api.routes
    r["/groups/ml%2Fplatform/projects"] = Paged(
        [
            p.gl_project(201, "ml/platform/forecast"),
            p.gl_project(202, "ml/platform/sub/llm-finetune", ci_config_path="ci/pipeline.yml"),
            p.gl_project(203, "ml/platform/attic", archived=True),
            p.gl_project(204, "ml/platform/shared-config", ci_config_path="ci.yml@ml-platform/ci-configs:v3"),
        ],
        page_size=2,
    )
    r["/projects/201/repository/commits"] = lambda request: commits_route(
        [
            p.gl_commit("e" * 40, p.NOW - timedelta(days=1)),
            p.gl_commit("f" * 40, p.NOW - timedelta(days=500)),
        ],
        key="gitlab",
    )(request)
    r["/projects/201/repository/tree"] = p.gl_tree("catalog-info.yaml", ".gitlab-ci.yml")
    r["/projects/201/repository/files/catalog-info.yaml"] = p.gl_file(
        "catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: forecast\n"
        "spec:\n  type: ml-model\n  lifecycle: experimental\n  owner: team-b\n",
    )
    r["/projects/201/repository/files/.gitlab-ci.yml"] = p.gl_file(".gitlab-ci.yml", GITLAB_CI)
    r["/projects/201/pipelines"] = Paged(
        [
            p.gl_pipeline(9002, status="failed", created=p.NOW - timedelta(hours=2), iid=2),
            p.gl_pipeline(9001, status="success", created=p.NOW - timedelta(days=1), iid=1),
        ]
    )
    r["/projects/202/repository/commits"] = commits_route([p.gl_commit("1" * 40, p.NOW)], key="gitlab")
    r["/projects/202/repository/tree"] = p.gl_tree("README.md")
    r["/projects/202/repository/files/ci%2Fpipeline.yml"] = p.gl_file(
        "ci/pipeline.yml", p.corpus_text(p.MEGATRON_CI)
    )
    r["/projects/202/pipelines"] = Paged([p.gl_pipeline(9100, status="running")])
    r["/projects/204/repository/commits"] = commits_route([p.gl_commit("2" * 40, p.NOW)], key="gitlab")
    r["/projects/204/repository/tree"] = p.gl_tree("README.md")
    r["/projects/204/pipelines"] = Paged([])
    return api


@pytest.fixture
def gitlab_config(gitlab_api) -> dict:
    return {"group": "ml/platform", "api_url": gitlab_api.base_url, "concurrency": 2}


def fetch(config, **kwargs):
    return gitlab.connector.fetch(config, now=p.NOW, **kwargs)


def test_reads_the_group_with_subgroups(gitlab_api, gitlab_config):
    snapshot = fetch(gitlab_config)
    repos = {r.name: r for r in snapshot.repositories}
    assert set(repos) == {"forecast", "llm-finetune", "shared-config"}
    listing = gitlab_api.requests("^/groups/")
    assert listing[0][1]["include_subgroups"] == "true" and listing[0][1]["archived"] == "false"
    assert [q.get("page") for _, q, _ in listing] == [None, "2"]

    forecast = repos["forecast"]
    assert forecast.error is None, forecast.error
    assert (forecast.external_id, forecast.url) == ("201", "https://gitlab.example.com/ml/platform/forecast")
    assert forecast.last_commit.sha == "e" * 40 and forecast.commits_in_window == 1
    assert forecast.top_authors[0].name == "Grace Hopper"
    commits_query = gitlab_api.requests("^/projects/201/repository/commits$")[0][1]
    assert commits_query["ref_name"] == "main" and "since" in commits_query
    assert forecast.descriptors[0].entities[0].name == "forecast"

    [pipeline] = forecast.pipelines
    assert (pipeline.provider, pipeline.external_id, pipeline.file_path) == (
        "gitlab-ci",
        ".gitlab-ci.yml",
        ".gitlab-ci.yml",
    )
    assert pipeline.templates == (
        TemplateRef(
            "gitlab-include-project", "ml-platform/ci-templates", "templates/train.gitlab-ci.yml", "v2.1.0"
        ),
        TemplateRef("gitlab-include-project", "ml-platform/ci-templates", "templates/lint.yml", "v2.1.0"),
        TemplateRef("gitlab-component", "ml-platform/components", "evaluate", "1.4.0"),
        TemplateRef("gitlab-template", "", "Security/SAST.gitlab-ci.yml", ""),
        TemplateRef("gitlab-include-remote", "", "https://example.com/shared.yml", ""),
    )
    assert [
        (r.external_id, r.status, r.conclusion, r.portal_status, r.run_number) for r in pipeline.runs
    ] == [
        ("9002", "failed", "", "failure", 2),
        ("9001", "success", "", "success", 1),
    ]
    assert pipeline.runs[0].finished_at == p.NOW - timedelta(hours=2) + timedelta(minutes=9)


def test_custom_ci_config_path_and_external_config(gitlab_api, gitlab_config):
    repos = {r.name: r for r in fetch(gitlab_config).repositories}
    [llm] = repos["llm-finetune"].pipelines
    assert llm.file_path == "ci/pipeline.yml" and llm.templates == ()  # Megatron's include is local
    assert llm.config_error == "" and llm.runs[0].portal_status == "running"
    [shared] = repos["shared-config"].pipelines
    assert shared.templates == (
        TemplateRef("gitlab-external-config", "ml-platform/ci-configs", "ci.yml", "v3"),
    )
    assert shared.runs == ()


def test_only_reads_projects_of_the_group_and_its_subgroups(gitlab_api, gitlab_config):
    r = gitlab_api.routes
    r["/projects/ml%2Fplatform%2Fsub%2Fllm-finetune"] = p.gl_project(
        202, "ML/Platform/sub/llm-finetune", ci_config_path="ci/pipeline.yml"
    )
    r["/projects/evil%2Fother"] = p.gl_project(77, "evil/other")
    r["/projects/ml%2Fplatform-x%2Fthing"] = p.gl_project(78, "ml/platform-x/thing")  # not a subgroup
    r["/projects/ml%2Fplatform%2Fattic"] = p.gl_project(203, "ml/platform/attic", archived=True)
    only = ("ml/platform/sub/llm-finetune", "evil/other", "ml/platform-x/thing", "ml/platform/attic")
    snapshot = fetch(gitlab_config, only=only)
    assert [r.name for r in snapshot.repositories] == ["llm-finetune"] and not snapshot.errors
    assert snapshot.skipped == ("evil/other", "ml/platform-x/thing")
    assert snapshot.excluded == ("203",)
    assert not gitlab_api.requests("^/projects/(77|78)/")
    # A group named by its id: its path is read once to tell.
    r["/groups/42"] = {"id": 42, "full_path": "ml/platform", "name": "platform"}
    by_id = fetch({**gitlab_config, "group": "42"}, only=("evil/other", "ml/platform/sub/llm-finetune"))
    assert [r.name for r in by_id.repositories] == ["llm-finetune"] and by_id.skipped == ("evil/other",)
    assert [q for _, q, _ in gitlab_api.requests("^/groups/42$")] == [{"with_projects": "false"}]


def test_second_read_is_answered_with_304s(gitlab_api, gitlab_config):
    cache = MemoryCache()
    first = fetch(gitlab_config, cache=cache)
    before = len(gitlab_api.log)
    assert fetch(gitlab_config, cache=cache) == first
    assert {status for _, _, status in gitlab_api.log[before:]} == {304}


def test_rate_limit_429(gitlab_api, gitlab_config):
    gitlab_api.routes["/projects/202/pipelines"] = lambda request: json_response(
        {"message": "429 Too Many Requests"},
        status=429,
        headers={"Retry-After": "30", "RateLimit-Remaining": "0"},
    )
    with pytest.raises(RateLimited) as raised:
        fetch(gitlab_config)
    assert raised.value.status == 429 and "/projects/202/pipelines" in raised.value.url


def test_token_goes_in_private_token(gitlab_api, gitlab_config, monkeypatch, httpserver):
    monkeypatch.setenv("PORTAL_TEST_GL_TOKEN", "glpat-secret")
    seen = []
    gitlab_api.routes["/groups/ml%2Fplatform/projects"] = lambda request: (
        seen.append(request.headers.get("PRIVATE-TOKEN")) or []
    )
    fetch({**gitlab_config, "token_env": "PORTAL_TEST_GL_TOKEN"})
    assert seen == ["glpat-secret"]


def test_portal_status_vocabulary():
    assert ci.github_status("completed", "success") == "success"
    assert ci.github_status("completed", "startup_failure") == "failure"
    assert ci.github_status("completed", "action_required") == "pending"
    assert ci.github_status("completed", "brand_new_value") == "neutral"
    assert (
        ci.github_status("waiting", None) == "pending" and ci.github_status("in_progress", None) == "running"
    )
    assert ci.gitlab_status("canceled") == "cancelled" and ci.gitlab_status("manual") == "pending"
    assert ci.gitlab_status("waiting_for_resource") == "pending" and ci.gitlab_status("failed") == "failure"


def test_parse_time_reads_both_providers_formats():
    utc = datetime(2016, 8, 12, 15, 23, 28, tzinfo=UTC)
    assert ci.parse_time("2016-08-12 15:23:28 UTC") == utc  # GitLab webhooks
    assert ci.parse_time("2016-08-12T15:23:28Z") == utc
    assert ci.parse_time("2016-08-12T17:23:28+02:00") == utc
    assert ci.parse_time("2016-08-12 17:23:28 +0200") == utc
    assert ci.parse_time("2016-08-12T15:23:28.000Z") == utc
    assert ci.parse_time(None) is None and ci.parse_time("") is None
    with pytest.raises(ValueError, match="not a timestamp: 'yesterday'"):
        ci.parse_time("yesterday")


def test_github_templates_from_the_corpus_workflows():
    assert ci.github_templates(p.corpus_text(p.SB3_WORKFLOW), "ci.yml") == ()
    assert ci.github_templates(p.corpus_text(p.DEPLOY_WORKFLOW), "deploy.yml") == ()
    with pytest.raises(ValueError, match="must be a mapping"):
        ci.github_templates("- a\n- b\n", "x.yml")


def test_gitlab_include_forms():
    assert ci.gitlab_templates("include: https://example.com/a.yml\n", "f") == (
        TemplateRef("gitlab-include-remote", "", "https://example.com/a.yml"),
    )
    assert ci.gitlab_templates("include: local.yml\n", "f") == ()
    assert ci.gitlab_templates("include:\n  project: g/p\n  file: x.yml\n", "f") == (
        TemplateRef("gitlab-include-project", "g/p", "x.yml", ""),
    )
    assert ci.gitlab_templates(p.corpus_text(p.MEGATRON_CI), ".gitlab-ci.yml") == ()
    with pytest.raises(ValueError, match=r"include\[0\]: 'file' must be a path"):
        ci.gitlab_templates("include:\n  - project: g/p\n", "f")
    assert ci.gitlab_external_config("ci.yml") is None
