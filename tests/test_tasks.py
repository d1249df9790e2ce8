"""Celery tasks run eagerly here (no broker): the schedule, the lock and the chain to the rules."""

import json

import pytest
from django_celery_beat.models import PeriodicTask

from catalog.models import Finding, Project, Source, SyncRun
from catalog.sync import start_run
from catalog.tasks import sync_all_sources, sync_source
from tests.gitrepos import make_repo

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(tmp_path):
    make_repo(tmp_path / "repos" / "fraud", days_ago=[200])
    return Source.objects.create(
        name="repos",
        kind=Source.Kind.GIT,
        config={"paths": [str(tmp_path / "repos")]},
        sync_interval_minutes=15,
    )


def test_each_source_gets_a_beat_schedule_that_follows_it(source):
    task = PeriodicTask.objects.get(name=f"sync source {source.pk}")
    assert (task.task, json.loads(task.args), task.enabled) == (
        "catalog.tasks.sync_source",
        [source.pk],
        True,
    )
    assert (task.interval.every, task.interval.period) == (15, "minutes")
    source.enabled, source.sync_interval_minutes = False, 60
    source.save()
    task.refresh_from_db()
    assert task.enabled is False and task.interval.every == 60
    source.delete()
    assert not PeriodicTask.objects.filter(name=f"sync source {source.pk}").exists()


def test_sync_task_syncs_then_evaluates_the_rules(source):
    sync_source.delay(source.pk)
    run = SyncRun.objects.get()
    assert (run.status, run.trigger, run.created) == (SyncRun.Status.SUCCESS, SyncRun.Trigger.SCHEDULE, 2)
    project = Project.objects.get()
    assert set(Finding.objects.filter(project=project).values_list("rule", flat=True)) == {
        "stale-code",
        "no-owner",
        "no-descriptor",
    }


def test_a_source_being_synced_is_skipped(source):
    start_run(source)
    sync_source.delay(source.pk)
    assert SyncRun.objects.count() == 1 and not Project.objects.exists()


def test_disabled_or_deleted_sources_are_not_synced(source):
    Source.objects.filter(pk=source.pk).update(enabled=False)
    sync_source.delay(source.pk)
    sync_source.delay(source.pk + 1000)
    assert not SyncRun.objects.exists()


def test_sync_all_sources_queues_every_enabled_source(source, tmp_path):
    Source.objects.create(name="off", kind=Source.Kind.GIT, config={"paths": [str(tmp_path)]}, enabled=False)
    sync_all_sources.delay()
    assert list(SyncRun.objects.values_list("source__name", flat=True)) == ["repos"]
