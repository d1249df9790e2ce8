"""Registry records -> catalog: upserts, gone markers, the alias and stage history, production on a date,
links to projects, and last good data kept when the registry cannot be read.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from catalog.connectors.records import ModelVersionRecord, RegisteredModelRecord, RunRecord, SourceSnapshot
from catalog.models import (
    ModelVersion,
    ModelVersionEvent,
    Project,
    RegisteredModel,
    Repository,
    Source,
    SyncRun,
)
from catalog.production import production_version_on
from catalog.sync import apply_snapshot, sync_source
from catalog.sync_registry import ANNOTATION, link_registered_models

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def source():
    return Source.objects.create(name="mlflow", kind=Source.Kind.MLFLOW, config={"tracking_uri": "http://x"})


def version(
    number: int, *, aliases=(), stage="", run: RunRecord | None = None, **fields
) -> ModelVersionRecord:
    fields.setdefault("registered_at", NOW - 100 * DAY + number * DAY)
    fields.setdefault("last_updated_at", fields["registered_at"])
    fields.setdefault("status", "READY")
    return ModelVersionRecord(
        version=str(number),
        aliases=tuple(aliases),
        stage=stage,
        run=run,
        run_id=run.run_id if run else fields.pop("run_id", ""),
        **fields,
    )


def model(name: str, *versions: ModelVersionRecord, tags=None, **fields) -> RegisteredModelRecord:
    aliases = {alias: v.version for v in versions for alias in v.aliases}
    return RegisteredModelRecord(
        name=name,
        tags=tags or {},
        aliases=aliases,
        registered_at=NOW - 200 * DAY,
        versions=versions,
        **fields,
    )


def train(run_id: str, repo="https://github.com/acme/fraud.git", commit="a" * 40, days_ago=30, **metrics):
    return RunRecord(
        run_id=run_id,
        status="FINISHED",
        started_at=NOW - days_ago * DAY,
        git_repo_url=repo,
        git_commit=commit,
        metrics=metrics,
        url=f"http://x/#/experiments/1/runs/{run_id}",
    )


def write(source, *models, now=NOW, complete=True, errors=()):
    return apply_snapshot(
        source, SourceSnapshot(registered_models=models, complete=complete, errors=errors), now=now
    )


def events(name: str) -> list[tuple[str, str, str, str, datetime]]:
    return [
        (e.model_version.version, e.label_kind, e.label, e.action, e.at)
        for e in ModelVersionEvent.objects.filter(registered_model__name=name).select_related("model_version")
    ]


def test_first_sync_writes_models_versions_and_the_labels_they_start_with(source):
    tally = write(
        source,
        model(
            "fraud",
            version(1, stage="Archived"),
            version(2, aliases=["champion"], stage="Production", run=train("r2", rmse=0.5)),
            version(3, aliases=["challenger"]),
            tags={"team": "risk"},
        ),
        model("churn"),
    )

    assert (tally.created, tally.updated, tally.failed) == (5, 0, 0)
    fraud = RegisteredModel.objects.get(name="fraud")
    assert fraud.aliases == {"champion": "2", "challenger": "3"} and fraud.tags == {"team": "risk"}
    assert fraud.last_read_at == NOW and fraud.gone_at is None
    assert fraud.production_version.version == "2"
    v2 = fraud.versions.get(version="2")
    assert (v2.number, v2.aliases, v2.stage, v2.run_id) == (2, ["champion"], "Production", "r2")
    assert (v2.git_repo_url, v2.git_commit, v2.metrics) == (
        "https://github.com/acme/fraud.git",
        "a" * 40,
        {"rmse": 0.5},
    )
    assert (
        v2.trained_at == NOW - 30 * DAY
        and v2.commit_url == f"https://github.com/acme/fraud/commit/{'a' * 40}"
    )
    assert [v.version for v in fraud.versions.all()] == ["3", "2", "1"]
    # stages are dated by MLflow's last update of the version, aliases by the sync that saw them
    assert events("fraud") == [
        ("1", "stage", "Archived", "added", NOW - 99 * DAY),
        ("2", "stage", "Production", "added", NOW - 98 * DAY),
        ("2", "alias", "champion", "added", NOW),
        ("3", "alias", "challenger", "added", NOW),
    ]
    assert RegisteredModel.objects.get(name="churn").production_version is None


def test_a_second_identical_sync_changes_nothing(source):
    records = [model("fraud", version(1, aliases=["champion"], run=train("r1")))]
    write(source, *records)

    tally = write(source, *records, now=NOW + DAY)

    assert (tally.created, tally.updated, tally.unchanged) == (0, 0, 2)
    assert ModelVersionEvent.objects.count() == 1
    assert RegisteredModel.objects.get().last_read_at == NOW + DAY


def test_moving_an_alias_is_recorded_and_answers_which_version_was_in_production(source):
    write(source, model("fraud", version(1, aliases=["champion"]), version(2)))
    write(source, model("fraud", version(1), version(2, aliases=["champion"])), now=NOW + 10 * DAY)
    write(source, model("fraud", version(1), version(2)), now=NOW + 20 * DAY)

    fraud = RegisteredModel.objects.get(name="fraud")
    assert events("fraud")[1:] == [
        ("1", "alias", "champion", "removed", NOW + 10 * DAY),
        ("2", "alias", "champion", "added", NOW + 10 * DAY),
        ("2", "alias", "champion", "removed", NOW + 20 * DAY),
    ]
    assert production_version_on(fraud, NOW - DAY) is None  # before the first sync: unknown
    assert production_version_on(fraud, NOW + 5 * DAY).version == "1"
    assert production_version_on(fraud, NOW + 10 * DAY).version == "2"
    assert production_version_on(fraud, NOW + 15 * DAY).version == "2"
    assert production_version_on(fraud, NOW + 25 * DAY) is None
    assert fraud.production_version is None


def test_a_stage_transition_is_dated_by_the_version_update_between_syncs(source):
    write(source, model("fraud", version(1, stage="Production"), version(2, stage="Staging")))
    moved = NOW + 3 * DAY
    write(
        source,
        model(
            "fraud",
            version(1, stage="Archived", last_updated_at=moved),
            version(2, stage="Production", last_updated_at=moved),
        ),
        now=NOW + 7 * DAY,
    )

    fraud = RegisteredModel.objects.get(name="fraud")
    assert events("fraud")[2:] == [
        ("1", "stage", "Production", "removed", moved),
        ("1", "stage", "Archived", "added", moved),
        ("2", "stage", "Staging", "removed", moved),
        ("2", "stage", "Production", "added", moved),
    ]
    assert production_version_on(fraud, moved - DAY).version == "1"
    assert production_version_on(fraud, moved).version == "2"
    assert fraud.production_version.version == "2"


def test_an_alias_wins_over_a_stage_and_settings_choose_the_aliases(source, settings):
    write(source, model("fraud", version(1, stage="Production"), version(2, aliases=["production"])))
    assert RegisteredModel.objects.get().production_version.version == "2"

    settings.PORTAL = {**settings.PORTAL, "PRODUCTION_ALIASES": ["live"]}
    write(
        source,
        model("fraud", version(1, stage="Production"), version(2, aliases=["production"], description="x")),
    )
    assert RegisteredModel.objects.get().production_version.version == "1"


def test_deleted_versions_and_models_are_marked_gone_and_lose_their_labels(source):
    write(source, model("fraud", version(1, aliases=["champion"]), version(2)), model("churn", version(1)))

    tally = write(source, model("fraud", version(2)), now=NOW + DAY)

    fraud = RegisteredModel.objects.get(name="fraud")
    assert (
        fraud.versions.get(version="1").gone_at == NOW + DAY
        and fraud.versions.get(version="2").gone_at is None
    )
    assert events("fraud")[-1] == ("1", "alias", "champion", "removed", NOW + DAY)
    churn = RegisteredModel.objects.get(name="churn")
    assert churn.gone_at == NOW + DAY and churn.versions.get().gone_at == NOW + DAY
    assert tally.failed == 0 and tally.orphaned == 3
    assert tally.changes["orphaned"] == {
        "model version": ["fraud/1", "churn/1"],
        "registered model": ["churn"],
    }
    # back in the registry: no longer gone
    write(source, model("fraud", version(2)), model("churn", version(1)), now=NOW + 2 * DAY)
    assert RegisteredModel.objects.get(name="churn").gone_at is None
    assert ModelVersion.objects.filter(gone_at__isnull=False).count() == 1


def test_an_incomplete_snapshot_takes_nothing_as_gone(source):
    write(source, model("fraud", version(1)), model("churn", version(1)))

    tally = write(
        source, model("fraud", version(1)), now=NOW + DAY, complete=False, errors=("listing failed",)
    )

    assert RegisteredModel.objects.get(name="churn").gone_at is None
    assert tally.errors == [{"item": "mlflow", "message": "listing failed"}]


def test_a_model_whose_versions_failed_keeps_its_last_good_data(source):
    write(source, model("fraud", version(1, aliases=["champion"]), version(2), tags={"a": "1"}))

    tally = write(
        source,
        model("fraud", tags={"a": "2"}, error="GET .../model-versions/search: HTTP 500"),
        now=NOW + DAY,
    )

    fraud = RegisteredModel.objects.get(name="fraud")
    assert fraud.tags == {"a": "1"} and fraud.last_read_at == NOW and fraud.production_version.version == "1"
    assert not fraud.versions.filter(gone_at__isnull=False).exists()
    assert tally.errors == [
        {"item": "registered model fraud", "message": "GET .../model-versions/search: HTTP 500"}
    ]


def test_a_run_that_could_not_be_read_keeps_the_stored_run_facts(source):
    write(source, model("fraud", version(1, run=train("r1", commit="b" * 40, auc=0.9))))

    tally = write(
        source, model("fraud", version(1, run_id="r1", run_error="runs/get: HTTP 500")), now=NOW + DAY
    )

    v1 = ModelVersion.objects.get()
    assert (v1.git_commit, v1.metrics, v1.trained_at) == ("b" * 40, {"auc": 0.9}, NOW - 30 * DAY)
    assert tally.errors == [{"item": "model version fraud/1", "message": "runs/get: HTTP 500"}]


def test_a_version_longer_than_its_columns_fails_alone(source):
    tally = write(source, model("fraud", version(1), version(2, run=train("r" * 80))))

    assert tally.failed == 1 and "run_id" in tally.errors[0]["message"]
    assert list(ModelVersion.objects.values_list("version", flat=True)) == ["1"]


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_server_keeps_the_last_good_data(source):
    write(source, model("fraud", version(1, aliases=["champion"])))
    source.config = {"tracking_uri": f"http://127.0.0.1:{unused_port()}", "retries": 0}
    source.save()

    run = sync_source(source)

    # Nothing was read: the run failed (not "partial"), and the last good data stays.
    assert run.status == SyncRun.Status.FAILED and "ConnectError" in run.errors[0]["message"]
    assert run.failed == 1
    fraud = RegisteredModel.objects.get(name="fraud")
    assert fraud.gone_at is None and fraud.production_version.version == "1"
    assert not ModelVersion.objects.filter(gone_at__isnull=False).exists()


def test_a_server_that_is_not_mlflow_fails_the_run_and_keeps_the_data(source, httpserver):
    write(source, model("fraud", version(1, aliases=["champion"])))
    httpserver.expect_request("/api/2.0/mlflow/registered-models/search").respond_with_data(
        "<html><body>Welcome to nginx!</body></html>", content_type="text/html"
    )
    source.config = {"tracking_uri": httpserver.url_for("/").rstrip("/"), "retries": 0}
    source.save()

    run = sync_source(source)

    assert run.status == SyncRun.Status.FAILED and run.failed == 1
    assert RegisteredModel.objects.get(name="fraud").gone_at is None


def test_a_git_source_with_no_readable_path_fails(tmp_path):
    git = Source.objects.create(
        name="repos", kind=Source.Kind.GIT, config={"paths": [str(tmp_path / "missing")]}
    )
    run = sync_source(git)
    assert run.status == SyncRun.Status.FAILED and run.failed == 1
    assert str(tmp_path / "missing") in run.errors[0]["message"]


# Linking


@pytest.fixture
def projects(source):
    git = Source.objects.create(name="repos", kind=Source.Kind.GIT)

    def make(name, url=None, **fields):
        repository = None
        if url:
            repository = Repository.objects.get_or_create(
                source=git, external_id=url, defaults={"url": url, "name": name}
            )[0]
        return Project.objects.create(name=name, source=git, repository=repository, **fields)

    return make


def link_of(name: str) -> tuple[str | None, str, str]:
    row = RegisteredModel.objects.select_related("project").get(name=name)
    return (row.project.name if row.project else None, row.link_method, row.link_detail)


def test_models_link_by_annotation_then_tag_then_training_repository(source, projects):
    projects("fraud", "git@github.com:Acme/Fraud.git", annotations={ANNOTATION: "fraud-a, fraud-b"})
    projects("churn", "https://github.com/acme/churn")
    projects("mono-1", "https://gitlab.com/acme/mono.git")
    projects("mono-2", "https://gitlab.com/acme/mono.git")

    write(
        source,
        model("fraud-a", tags={"portal.project": "churn"}),  # the annotation comes first
        model("fraud-b"),
        model("tagged", tags={"backstage.io/component": "component:default/churn"}),
        model("by-repo", version(1, run=train("r1", repo="https://GITHUB.com/acme/fraud/"))),
        model("by-old-repo", version(1, run=train("r2", repo="ssh://git@github.com:22/acme/churn.git"))),
        model("monorepo", version(1, run=train("r3", repo="git@gitlab.com:acme/mono.git"))),
        model("bad-tag", tags={"portal.project": "nobody"}),
        model("lonely"),
    )

    assert link_of("fraud-a") == (
        "fraud",
        "annotation",
        f"annotation {ANNOTATION} of component:default/fraud",
    )
    assert link_of("fraud-b")[:2] == ("fraud", "annotation")
    assert link_of("tagged") == ("churn", "tag", "tag backstage.io/component = component:default/churn")
    assert link_of("by-repo") == (
        "fraud",
        "repository",
        "trained from https://github.com/acme/fraud, the repository of component:default/fraud",
    )
    assert link_of("by-old-repo")[:2] == ("churn", "repository")
    assert link_of("monorepo") == (
        None,
        "",
        "trained from https://gitlab.com/acme/mono, which holds several projects "
        "(component:default/mono-1, component:default/mono-2)",
    )
    assert link_of("bad-tag") == (
        None,
        "",
        "tag portal.project names component:default/nobody, which is no project in the catalog; "
        "no training run names a git repository",
    )
    assert link_of("lonely") == (None, "", "no training run names a git repository")


def test_links_follow_the_catalog(source, projects):
    fraud = projects("fraud", annotations={ANNOTATION: "fraud"})
    write(source, model("fraud"))
    assert link_of("fraud")[0] == "fraud"

    fraud.annotations = {}
    fraud.save()
    assert link_registered_models() == 1
    assert link_of("fraud")[0] is None

    projects("fraud-2", annotations={ANNOTATION: "fraud"}, orphaned_at=NOW)  # orphaned projects claim nothing
    assert link_registered_models() == 0


def test_source_add_makes_an_mlflow_source():
    call_command("source_add", "registry", "https://mlflow.example.com/", "--kind", "mlflow")
    assert Source.objects.get(name="registry").config == {"tracking_uri": "https://mlflow.example.com/"}
    with pytest.raises(CommandError, match="http:// or https://"):
        call_command("source_add", "bad", "mlflow.example.com", "--kind", "mlflow")
