"""The CI rules: ci-failing, no-ci, custom-pipeline, outdated-template."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from catalog.models import Finding, Pipeline, PipelineRun, Project, Repository, RuleConfig, Source
from catalog.rules import RULES
from catalog.rules.ci import is_older, parse_standard_templates
from catalog.rules.evaluate import evaluate_rules
from catalog.sync_pipelines import refresh_latest

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TRAIN = {
    "kind": "github-reusable-workflow",
    "project": "ml-platform/ci-templates",
    "file": ".github/workflows/train.yml",
}
STANDARD = [
    "ml-platform/ci-templates/.github/workflows/train.yml@v2.0.0",
    "ml-platform/components/train@1.4.0",
]


@pytest.fixture
def source():
    return Source.objects.create(name="gh", kind=Source.Kind.GITHUB, config={"org": "ml-org"})


def project(source, name, **repo_fields):
    repo_fields.setdefault("last_read_at", NOW)
    repo = Repository.objects.create(
        source=source,
        external_id=name,
        url=f"https://github.com/ml-org/{name}",
        name=name,
        default_branch="main",
        **repo_fields,
    )
    return Project.objects.create(name=name, source=source, repository=repo, lifecycle="production")


def pipeline(project, name="CI", *, runs=(), templates=(), **fields):
    row = Pipeline.objects.create(
        repository=project.repository,
        provider="github-actions",
        external_id=name,
        name=name,
        state=fields.pop("state", "active"),
        templates=list(templates),
        **fields,
    )
    for i, (status, hours_ago) in enumerate(runs):
        created = NOW - timedelta(hours=hours_ago)
        PipelineRun.objects.create(
            pipeline=row,
            external_id=str(i),
            status="completed",
            conclusion=status,
            portal_status=status,
            branch="main",
            created_at=created,
            started_at=created,
            url=f"https://github.com/run/{i}",
        )
    refresh_latest([row.pk])
    row.refresh_from_db()
    return row


def findings(code):
    evaluate_rules(now=NOW, codes=[code])
    return {f.project.name: f for f in Finding.objects.filter(rule=code, resolved_at=None)}


def test_the_rules_are_registered_with_descriptions():
    for code in ("ci-failing", "no-ci", "custom-pipeline", "outdated-template"):
        assert RULES[code].title and RULES[code].description


def test_ci_failing_reports_how_long_the_default_branch_has_been_red(source):
    red = project(source, "red")
    pipeline(red, runs=[("failure", 1), ("cancelled", 20), ("failure", 50), ("success", 80)])
    green = project(source, "green")
    pipeline(green, runs=[("success", 1), ("failure", 5)])
    flaky_cancel = project(source, "cancelled-last")
    pipeline(flaky_cancel, runs=[("cancelled", 1), ("success", 5)])
    found = findings("ci-failing")
    assert set(found) == {"red"}
    finding = found["red"]
    assert finding.message == "CI failing on main: CI red for 2 days (since 2026-02-28 10:00 UTC)."
    assert finding.evidence["failing_since"] == (NOW - timedelta(hours=50)).isoformat()
    assert finding.evidence["pipelines"][0]["run_url"] == "https://github.com/run/0"


def test_ci_failing_threshold_and_resolution(source):
    red = project(source, "red")
    ci = pipeline(red, runs=[("failure", 3), ("success", 10)])
    RuleConfig.objects.create(code="ci-failing", params={"days": 1})
    assert findings("ci-failing") == {}
    RuleConfig.objects.filter(code="ci-failing").update(params={"days": 0})
    assert "red for 3 hours" in findings("ci-failing")["red"].message
    PipelineRun.objects.create(
        pipeline=ci,
        external_id="fix",
        status="completed",
        conclusion="success",
        portal_status="success",
        created_at=NOW - timedelta(hours=1),
    )
    refresh_latest([ci.pk])
    assert findings("ci-failing") == {}
    assert Finding.objects.get(rule="ci-failing").resolved_at == NOW


def test_ci_failing_ignores_gone_disabled_and_archived(source):
    pipeline(project(source, "gone"), runs=[("failure", 1)], gone_at=NOW)
    pipeline(project(source, "disabled"), runs=[("failure", 1)], state="disabled_manually")
    pipeline(project(source, "archived", archived=True), runs=[("failure", 1)])
    assert findings("ci-failing") == {}


def test_no_ci_only_for_read_github_and_gitlab_repositories_without_an_active_pipeline(source):
    project(source, "bare")
    pipeline(project(source, "disabled-only"), state="disabled_manually")
    pipeline(project(source, "with-ci"))
    project(source, "never-read", last_read_at=None)
    git = Source.objects.create(name="git", kind=Source.Kind.GIT)
    project(git, "plain-git")
    found = findings("no-ci")
    assert set(found) == {"bare", "disabled-only"}
    assert found["bare"].message == "Repository bare has no active CI pipeline."


def test_custom_pipeline_needs_a_configured_standard(source):
    pipeline(project(source, "custom"))
    assert findings("custom-pipeline") == {}  # no standard templates configured
    RuleConfig.objects.create(code="custom-pipeline", params={"standard_templates": STANDARD})
    pipeline(project(source, "standard"), templates=[{**TRAIN, "ref": "v1.0.0"}])
    component = {
        "kind": "gitlab-component",
        "project": "ml-platform/components",
        "file": "train",
        "ref": "1.4.0",
    }
    pipeline(project(source, "component"), templates=[component])
    found = findings("custom-pipeline")
    assert set(found) == {"custom"}
    assert found["custom"].message == "None of its 1 pipeline(s) (CI) uses a standard CI template."


def test_custom_pipeline_default_comes_from_settings(source, settings):
    defaults = {**settings.PORTAL["RULE_DEFAULTS"], "custom-pipeline": {"standard_templates": STANDARD}}
    settings.PORTAL = {**settings.PORTAL, "RULE_DEFAULTS": defaults}
    pipeline(project(source, "custom"))
    assert set(findings("custom-pipeline")) == {"custom"}


def test_outdated_template(source):
    RuleConfig.objects.create(code="outdated-template", params={"standard_templates": STANDARD})
    pipeline(project(source, "old"), templates=[{**TRAIN, "ref": "v1.10.0"}])
    pipeline(project(source, "current"), templates=[{**TRAIN, "ref": "v2.0.0"}])
    pipeline(project(source, "branch"), templates=[{**TRAIN, "ref": "main"}])
    pipeline(project(source, "unpinned"), templates=[{**TRAIN, "ref": ""}])
    found = findings("outdated-template")
    assert set(found) == {"old", "branch"}
    assert found["old"].message == (
        "CI uses ml-platform/ci-templates/.github/workflows/train.yml at v1.10.0, "
        "older than the current v2.0.0."
    )
    assert found["old"].evidence["outdated"][0]["newest_ref"] == "v2.0.0"


def test_ref_comparison_and_settings_format():
    assert is_older("v1.9.0", "v1.10.0") and not is_older("v1.10.0", "v1.9.0")
    assert is_older("1.2", "v2") and not is_older("v2.0.0", "v2.0.0")
    assert is_older("0123abc", "v2") and not is_older("", "v2") and not is_older("v1", "")
    assert parse_standard_templates(["/Org/Tpl/ci.yml@v3", "org/tpl/other.yml"]) == {
        "org/tpl/ci.yml": "v3",
        "org/tpl/other.yml": "",
    }
    with pytest.raises(ValueError, match="standard_templates"):
        parse_standard_templates([""])
