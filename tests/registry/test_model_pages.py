"""The registered-model pages: the list with its filters, a model's page, models on the project page and in
the maintenance view, and query counts that do not grow with the rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from catalog.connectors.records import ModelVersionRecord, RegisteredModelRecord, RunRecord, SourceSnapshot
from catalog.models import Project, Repository, Source
from catalog.rules.evaluate import evaluate_rules
from catalog.sync import apply_snapshot
from catalog.sync_registry import ANNOTATION

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
COMMIT = "c0ffee" + "0" * 34


@pytest.fixture
def signed_in(client, outsider):
    client.force_login(outsider)
    return client


def snapshot(count: int, *, start: int = 0) -> SourceSnapshot:
    """``fraud`` (two versions, the champion trained from COMMIT) and ``extra-NNN`` orphans."""
    run = RunRecord(
        run_id="r1",
        started_at=NOW - 40 * DAY,
        git_repo_url="git@github.com:acme/fraud.git",
        git_commit=COMMIT,
        metrics={"auc": 0.93},
        url="http://mlflow.example.com/#/experiments/1/runs/r1",
    )
    fraud = RegisteredModelRecord(
        name="fraud-detector",
        description="Scores card payments.",
        tags={"team": "risk"},
        aliases={"champion": "1"},
        url="http://mlflow.example.com/#/models/fraud-detector",
        versions=(
            ModelVersionRecord(
                version="1",
                aliases=("champion",),
                registered_at=NOW - 200 * DAY,
                status="READY",
                run_id="r1",
                run=run,
            ),
            ModelVersionRecord(
                version="2", stage="Staging", registered_at=NOW - DAY, status="FAILED_REGISTRATION"
            ),
        ),
    )
    extras = tuple(
        RegisteredModelRecord(
            name=f"extra-{i:03d}",
            aliases={"champion": "1"},
            versions=(ModelVersionRecord(version="1", aliases=("champion",), registered_at=NOW - 300 * DAY),),
        )
        for i in range(start, start + count)
    )
    return SourceSnapshot(registered_models=(fraud, *extras))


@pytest.fixture
def registry(db):
    git = Source.objects.create(name="repos", kind=Source.Kind.GIT)
    repository = Repository.objects.create(
        source=git,
        external_id="/srv/fraud",
        url="https://github.com/acme/fraud",
        name="fraud",
        last_commit_sha="f" * 40,
        last_commit_at=NOW - DAY,
        default_branch="main",
    )
    Project.objects.create(
        name="fraud",
        source=git,
        repository=repository,
        type="ml-model",
        lifecycle="production",
        annotations={ANNOTATION: "fraud-detector"},
    )
    source = Source.objects.create(name="mlflow", kind=Source.Kind.MLFLOW)
    apply_snapshot(source, snapshot(2), now=NOW - 10 * DAY)
    # champion moves to nowhere and back: history on the page
    apply_snapshot(source, snapshot(2), now=NOW)
    evaluate_rules(now=NOW)
    return source


def test_pages_need_a_sign_in(client, registry):
    for url in (reverse("model-list"), reverse("model-detail", args=["mlflow", "fraud-detector"])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_model_list_and_its_filters(signed_in, registry):
    page = signed_in.get(reverse("model-list")).content.decode()
    assert reverse("model-detail", args=["mlflow", "fraud-detector"]) in page
    assert reverse("project-detail", args=["default", "fraud"]) in page
    assert "extra-000" in page and "no project" in page

    orphans = signed_in.get(reverse("model-list"), {"linked": "false"}).content.decode()
    assert "extra-001" in orphans and "fraud-detector" not in orphans
    found = signed_in.get(reverse("model-list"), {"q": "card payments"}).content.decode()
    assert "fraud-detector" in found and "extra-000" not in found
    partial = signed_in.get(
        reverse("model-list"), {"q": "extra-001"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "extra-001" in partial and "<html" not in partial


def test_model_page_shows_versions_aliases_history_project_and_findings(signed_in, registry):
    url = reverse("model-detail", args=["mlflow", "fraud-detector"])
    page = signed_in.get(url).content.decode()

    assert "Scores card payments." in page
    assert "@champion → v1" in page
    assert f"https://github.com/acme/fraud/commit/{COMMIT}" in page  # the training commit, linked
    assert "http://mlflow.example.com/#/experiments/1/runs/r1" in page
    assert "auc 0.93" in page
    assert reverse("project-detail", args=["default", "fraud"]) in page
    assert f"annotation {ANNOTATION} of component:default/fraud" in page  # how it was linked
    assert "FAILED_REGISTRATION" in page and "failed to register" in page  # the version and the finding
    assert "stale-model" in page  # registered 200 days ago
    assert "gained alias" in page and "gained stage" in page

    answer = signed_in.get(url, {"on": (NOW - 5 * DAY).date().isoformat()}).content.decode()
    assert 'id="production-on-answer"' in answer and "<strong>v1</strong>" in answer
    before = signed_in.get(url, {"on": (NOW - 30 * DAY).date().isoformat()}).content.decode()
    assert "no version known to be in production" in before
    assert "is not a date" in signed_in.get(url, {"on": "soon"}).content.decode()


def test_unknown_models_are_404(signed_in, registry):
    assert signed_in.get(reverse("model-detail", args=["mlflow", "nope"])).status_code == 404
    assert signed_in.get(reverse("model-detail", args=["other", "fraud-detector"])).status_code == 404


def test_project_page_and_maintenance_view_show_models(signed_in, registry):
    project = signed_in.get(reverse("project-detail", args=["default", "fraud"])).content.decode()
    assert 'id="registered-models"' in project
    assert reverse("model-detail", args=["mlflow", "fraud-detector"]) in project

    maintenance = signed_in.get(reverse("maintenance")).content.decode()
    assert reverse("model-detail", args=["mlflow", "extra-000"]) in maintenance  # an orphan
    assert "orphan-model" in maintenance


@pytest.mark.parametrize(("page", "queries"), [("model-list", 6), ("model-detail", 7)])
def test_query_count_is_constant(signed_in, registry, django_assert_num_queries, page, queries):
    url = reverse(page, args=["mlflow", "fraud-detector"] if page == "model-detail" else [])
    with django_assert_num_queries(queries):
        assert signed_in.get(url).status_code == 200
    apply_snapshot(registry, snapshot(30, start=2), now=NOW + DAY)
    evaluate_rules(now=NOW + DAY)
    with django_assert_num_queries(queries):
        assert signed_in.get(url).status_code == 200


def test_admin_lists_models_read_only(client, staff, registry):
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    page = client.get(reverse("admin:catalog_registeredmodel_changelist")).content.decode()
    assert "fraud-detector" in page and "extra-001" in page
    assert client.get(reverse("admin:catalog_registeredmodel_add")).status_code == 403
