"""CI on the pages: a project's pipelines with their last runs, and the maintenance view's CI filter."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from catalog.models import Pipeline, PipelineRun, Severity
from catalog.sync_pipelines import refresh_latest

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, outsider):
    client.force_login(outsider)
    return client


def add_pipeline(catalog, project, name, statuses, **fields):
    pipeline = Pipeline.objects.create(
        repository=project.repository,
        provider="github-actions",
        external_id=name,
        name=name,
        state=fields.pop("state", "active"),
        url=f"https://github.com/ml/{project.name}/actions/workflows/{name}.yml",
        file_path=f".github/workflows/{name}.yml",
        **fields,
    )
    for i, status in enumerate(statuses):
        created = catalog.now - timedelta(hours=i + 1)
        PipelineRun.objects.create(
            pipeline=pipeline,
            external_id=f"{name}-{i}",
            run_number=100 - i,
            status="completed",
            conclusion=status,
            portal_status=status,
            commit_sha=f"{i:x}" * 40,
            created_at=created,
            url=f"https://github.com/ml/{project.name}/actions/runs/{i}",
        )
    refresh_latest([pipeline.pk])
    return pipeline


def test_project_page_shows_pipelines_and_their_last_runs(signed_in, catalog):
    project = catalog.project("fraud-model")
    add_pipeline(
        catalog,
        project,
        "train",
        ["failure", "failure", "success", "success", "success", "success", "success"],
        templates=[
            {
                "kind": "github-reusable-workflow",
                "project": "ml-platform/ci",
                "file": "train.yml",
                "ref": "v2",
            }
        ],
    )
    add_pipeline(
        catalog, project, "lint", [], config_error=".github/workflows/lint.yml: invalid YAML at line 3"
    )
    page = signed_in.get(reverse("project-detail", args=["default", "fraud-model"])).content.decode()
    assert 'id="pipelines"' in page
    assert "https://github.com/ml/fraud-model/actions/workflows/train.yml" in page
    assert '<span class="status status-failure">failure</span>' in page
    assert "ml-platform/ci/train.yml@v2" in page and "none (custom)" in page
    assert "invalid YAML at line 3" in page and "no run on the default branch" in page
    assert page.count("/actions/runs/") == 5  # the last five runs of train
    assert ">#100</a>" in page and ">#95</a>" not in page


def test_project_page_without_pipelines_has_no_ci_section(signed_in, catalog):
    catalog.project("plain")
    page = signed_in.get(reverse("project-detail", args=["default", "plain"])).content.decode()
    assert 'id="pipelines"' not in page


def test_project_page_query_count_does_not_grow_with_pipelines(
    signed_in, catalog, django_assert_max_num_queries
):
    project = catalog.project("busy")
    add_pipeline(catalog, project, "a", ["success"])
    url = reverse("project-detail", args=["default", "busy"])
    with django_assert_max_num_queries(50) as few:
        signed_in.get(url)
    for name in ("b", "c", "d", "e"):
        add_pipeline(catalog, project, name, ["failure", "success", "success"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert signed_in.get(url).status_code == 200


def test_maintenance_filters_by_ci_status(signed_in, catalog):
    red, green, bare, disabled = (catalog.project(n) for n in ("red", "green", "bare", "disabled"))
    for project in (red, green, bare, disabled):
        catalog.finding(project, "stale-code", severity=Severity.WARNING)
    add_pipeline(catalog, red, "ci", ["failure", "success"])
    add_pipeline(catalog, red, "docs", ["success"])
    add_pipeline(catalog, green, "ci", ["success", "failure"])
    add_pipeline(catalog, disabled, "ci", ["failure"], state="disabled_manually")

    def listed(value):
        page = signed_in.get(reverse("maintenance") + f"?pipeline={value}").content.decode()
        return {
            p.name
            for p in (red, green, bare, disabled)
            if reverse("project-detail", args=["default", p.name]) in page
        }

    assert listed("failing") == {"red"}
    assert listed("passing") == {"green"}
    assert listed("none") == {"bare", "disabled"}
    form = signed_in.get(reverse("maintenance")).content.decode()
    assert 'name="pipeline"' in form and "CI failing" in form
