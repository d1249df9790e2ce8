"""A real Celery worker on Redis syncs a source end to end and evaluates the rules."""

import pytest

from catalog.models import Finding, Project, Source, SyncRun
from catalog.tasks import sync_source
from tests.gitrepos import make_repo
from tests.services import redis_test_url, running_workers, wait_until

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path):
    broker_url = redis_test_url(flush=True)
    with running_workers(1, broker_url, tmp_path, PORTAL_GIT_CACHE_DIR=str(tmp_path / "cache")) as (_, logs):
        yield logs


def test_worker_syncs_a_source_and_evaluates_rules(worker, tmp_path):
    make_repo(tmp_path / "repos" / "fraud", days_ago=[400, 200], descriptor=None)
    source = Source.objects.create(
        name="repos", kind=Source.Kind.GIT, config={"paths": [str(tmp_path / "repos")]}
    )

    sync_source.delay(source.pk, SyncRun.Trigger.MANUAL)

    wait_until(
        lambda: SyncRun.objects.filter(source=source).exclude(status=SyncRun.Status.RUNNING).exists(), worker
    )
    run = SyncRun.objects.get(source=source)
    assert (run.status, run.created, run.failed) == (SyncRun.Status.SUCCESS, 2, 0), run.errors
    project = Project.objects.get()
    assert project.name == "fraud" and project.repository.commits_in_window == 0
    # the worker queued the rules after the sync
    expected = {"stale-code", "no-owner", "no-descriptor"}
    wait_until(
        lambda: set(Finding.objects.filter(project=project).values_list("rule", flat=True)) >= expected,
        worker,
    )
    assert set(Finding.objects.filter(project=project).values_list("rule", flat=True)) == expected
