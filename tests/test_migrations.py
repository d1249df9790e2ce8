"""Data migrations, run forward from the migration before them on a database holding rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(target: tuple[str, str]):
    """Migrate the test database to ``target``; return the historical apps at that state."""
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    executor.loader.build_graph()
    return executor.loader.project_state([target]).apps


@pytest.mark.django_db(transaction=True)
def test_0002_deletes_the_github_runs_of_pull_requests_and_nothing_else():
    apps = migrate(("catalog", "0001_initial"))
    try:
        source = apps.get_model("catalog", "Source").objects.create(name="gh", kind="github", config={})
        repository = apps.get_model("catalog", "Repository").objects.create(
            source=source, external_id="1", url="https://github.com/o/r", name="r"
        )
        Pipeline, PipelineRun = (
            apps.get_model("catalog", "Pipeline"),
            apps.get_model("catalog", "PipelineRun"),
        )
        when = datetime(2026, 11, 1, tzinfo=UTC)
        for provider in ("github-actions", "gitlab-ci"):
            pipeline = Pipeline.objects.create(
                repository=repository, provider=provider, external_id="1", name="CI"
            )
            for n, event in enumerate(("push", "pull_request", "pull_request_target", "schedule")):
                PipelineRun.objects.create(
                    pipeline=pipeline,
                    external_id=str(n),
                    status="completed",
                    portal_status="failure",
                    event=event,
                    created_at=when,
                )
        apps = migrate(("catalog", "0002_skipped_changes_pull_request_runs"))
        kept = apps.get_model("catalog", "PipelineRun").objects.values_list("pipeline__provider", "event")
        assert sorted(kept) == [
            ("github-actions", "push"),
            ("github-actions", "schedule"),
            ("gitlab-ci", "pull_request"),
            ("gitlab-ci", "pull_request_target"),
            ("gitlab-ci", "push"),
            ("gitlab-ci", "schedule"),
        ]
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
