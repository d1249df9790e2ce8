"""The model rules: stale-model, model-behind-code, orphan-model, no-production-model, failed-registration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from catalog.models import Finding, ModelVersion, Project, RegisteredModel, Repository, RuleConfig, Source
from catalog.rules import RULES
from catalog.rules.evaluate import evaluate_rules

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
MODEL_RULES = [
    "stale-model",
    "model-behind-code",
    "orphan-model",
    "no-production-model",
    "failed-registration",
]


@pytest.fixture
def source():
    return Source.objects.create(name="mlflow", kind=Source.Kind.MLFLOW)


@pytest.fixture
def project():
    git = Source.objects.create(name="repos", kind=Source.Kind.GIT)
    repository = Repository.objects.create(
        source=git,
        external_id="/srv/fraud",
        url="git@github.com:acme/fraud.git",
        name="fraud",
        default_branch="main",
        last_commit_sha="f" * 40,
        last_commit_at=NOW - 2 * DAY,
    )
    return Project.objects.create(
        name="fraud", source=git, repository=repository, type="ml-model", lifecycle="production"
    )


def make_model(source, name, *, project=None, production_days_ago=None, **version_fields):
    model = RegisteredModel.objects.create(source=source, name=name, project=project)
    if production_days_ago is not None:
        version_fields.setdefault("aliases", ["champion"])
        version = ModelVersion.objects.create(
            registered_model=model,
            version="3",
            number=3,
            status="READY",
            registered_at=NOW - production_days_ago * DAY,
            **version_fields,
        )
        model.production_version = version
        model.save()
    return model


def findings(rule: str) -> dict[str, Finding]:
    rows = Finding.objects.filter(rule=rule, resolved_at=None).select_related("project", "registered_model")
    return {(f.registered_model or f.project).name: f for f in rows}


def test_the_model_rules_are_registered_with_a_description():
    for code in MODEL_RULES:
        assert RULES[code].title and RULES[code].description


def test_stale_model_counts_from_the_production_version(source, project):
    make_model(source, "old", project=project, production_days_ago=200)
    make_model(source, "fresh", project=project, production_days_ago=20)
    make_model(source, "none", project=project)
    make_model(source, "gone", production_days_ago=400)
    RegisteredModel.objects.filter(name="gone").update(gone_at=NOW)

    evaluate_rules(now=NOW, codes=["stale-model"])

    found = findings("stale-model")
    assert set(found) == {"old"}
    assert found["old"].message == (
        "Production version 3 of old (@champion) was registered 200 days ago, on 2025-08-13; "
        "the limit is 180 days."
    )
    assert found["old"].evidence["age_days"] == 200

    RuleConfig.objects.create(code="stale-model", params={"days": 10})
    evaluate_rules(now=NOW, codes=["stale-model"])
    assert set(findings("stale-model")) == {"old", "fresh"}


def test_model_behind_code_compares_the_training_run_with_the_default_branch(source, project):
    behind = dict(git_repo_url="https://github.com/Acme/fraud", git_commit="a" * 40)
    make_model(source, "behind", production_days_ago=60, trained_at=NOW - 60 * DAY, **behind)
    make_model(source, "recent", production_days_ago=10, trained_at=NOW - 10 * DAY, **behind)
    current = dict(git_repo_url="git@github.com:acme/fraud.git", git_commit="f" * 12)  # the tip, abbreviated
    make_model(source, "current", production_days_ago=90, trained_at=NOW - 90 * DAY, **current)
    elsewhere = dict(git_repo_url="https://github.com/acme/unknown", git_commit="a" * 40)
    make_model(source, "unknown-repo", production_days_ago=90, trained_at=NOW - 90 * DAY, **elsewhere)

    evaluate_rules(now=NOW, codes=["model-behind-code"])

    found = findings("model-behind-code")
    assert set(found) == {"behind"}
    assert found["behind"].message == (
        "Production version 3 of behind was trained on 2025-12-31 from commit aaaaaaaaaaaa; "
        "main of fraud has commits 58 days newer (last on 2026-02-27); the limit is 30 days."
    )
    assert found["behind"].evidence["commit_url"] == f"https://github.com/Acme/fraud/commit/{'a' * 40}"


def test_orphan_model_says_why_no_project_was_found(source, project):
    make_model(source, "linked", project=project)
    orphan = make_model(source, "orphan")
    orphan.link_detail = "trained from https://github.com/acme/x, the repository of no project in the catalog"
    orphan.save()

    evaluate_rules(now=NOW, codes=["orphan-model"])

    found = findings("orphan-model")
    assert set(found) == {"orphan"}
    assert "the repository of no project in the catalog" in found["orphan"].message
    assert "mlflow.org/registered-models" in found["orphan"].message

    RegisteredModel.objects.filter(name="orphan").update(project=project)
    evaluate_rules(now=NOW + DAY, codes=["orphan-model"])
    assert findings("orphan-model") == {}
    assert Finding.objects.get(rule="orphan-model").resolved_at == NOW + DAY


def test_no_production_model_for_production_ml_projects(source, project):
    other = Project.objects.create(name="ranker", type="ml-model", lifecycle="production")
    Project.objects.create(name="sandbox", type="ml-model", lifecycle="experimental")
    Project.objects.create(name="api", type="service", lifecycle="production")
    make_model(source, "ranker-model", project=other)

    evaluate_rules(now=NOW, codes=["no-production-model"])

    found = findings("no-production-model")
    assert set(found) == {"fraud", "ranker"}
    assert "no registered model is linked to it" in found["fraud"].message
    assert "None of its registered models (ranker-model) has a production version" in found["ranker"].message

    make_model(source, "fraud-model", project=project, production_days_ago=5)
    evaluate_rules(now=NOW, codes=["no-production-model"])
    assert set(findings("no-production-model")) == {"ranker"}


def test_failed_registration_lists_failed_and_long_pending_versions(source):
    model = make_model(source, "fraud")
    for number, status, age in [
        (1, "READY", 9),
        (2, "FAILED_REGISTRATION", 5),
        (3, "PENDING_REGISTRATION", 2),
    ]:
        ModelVersion.objects.create(
            registered_model=model,
            version=str(number),
            number=number,
            status=status,
            status_message="artifact upload failed" if number == 2 else "",
            registered_at=NOW - age * DAY,
        )
    waiting = make_model(source, "waiting")
    ModelVersion.objects.create(
        registered_model=waiting, version="1", number=1, status="PENDING_REGISTRATION", registered_at=NOW
    )

    evaluate_rules(now=NOW, codes=["failed-registration"])

    found = findings("failed-registration")
    assert set(found) == {"fraud"}
    assert found["fraud"].message == (
        "Registered model fraud: version 2 failed to register; version 3 pending for over 24 hours."
    )
    assert [v["version"] for v in found["fraud"].evidence["versions"]] == ["3", "2"]


def test_findings_on_models_are_kept_apart_from_project_findings(source, project):
    make_model(source, "orphan")

    evaluate_rules(now=NOW, codes=MODEL_RULES)
    evaluate_rules(now=NOW + DAY, codes=MODEL_RULES)  # re-evaluation updates in place

    rows = Finding.objects.filter(resolved_at=None).order_by("rule")
    assert [(f.rule, str(f.subject), f.last_seen_at) for f in rows] == [
        ("no-production-model", "fraud", NOW + DAY),
        ("orphan-model", "orphan", NOW + DAY),
    ]
