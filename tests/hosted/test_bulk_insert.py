"""``catalog.bulk.bulk_insert``: rows as values, prepared as ``save()`` would prepare them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db.models import TextField
from django.db.models.functions import Cast

from catalog.bulk import bulk_insert
from catalog.models import HttpCacheEntry, Pipeline, PipelineRun, Repository, Source

pytestmark = pytest.mark.django_db


def test_values_round_trip_with_datetimes_in_utc_json_and_defaults():
    source = Source.objects.create(name="gh", kind=Source.Kind.GITHUB, config={"org": "ml"})
    paris = timezone(timedelta(hours=2))
    sent = bulk_insert(
        HttpCacheEntry,
        [
            {
                "source_id": source.pk,
                "key": "k1",
                "url": "https://api.github.com/x",
                "etag": '"e1"',
                "body": {"data": [1, "two", None], "next": None, "v": 1},
                "fetched_at": datetime(2026, 5, 1, 12, 0, tzinfo=paris),
            }
        ],
    )
    assert sent == 1
    row = HttpCacheEntry.objects.get(key="k1")
    assert row.body == {"data": [1, "two", None], "next": None, "v": 1}
    assert row.fetched_at == datetime(2026, 5, 1, 10, 0, tzinfo=UTC)

    repo = Repository.objects.create(source=source, external_id="1", name="r", url="https://github.com/ml/r")
    pipeline = Pipeline.objects.create(
        repository=repo, provider="github-actions", external_id="11", name="CI"
    )
    created = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    bulk_insert(
        PipelineRun,
        [{"pipeline_id": pipeline.pk, "external_id": "7", "status": "queued", "portal_status": "pending",
          "created_at": created, "started_at": None}],
    )  # fmt: skip
    run = PipelineRun.objects.get(external_id="7")
    assert (run.created_at, run.started_at, run.finished_at) == (created, None, None)
    assert (run.run_attempt, run.conclusion, run.url) == (1, "", "")  # the fields' defaults
    assert bulk_insert(PipelineRun, []) == 0


def test_datetimes_are_stored_exactly_as_save_stores_them():
    """The same instant written by ``save()`` and by ``bulk_insert`` gives the same stored text."""
    source = Source.objects.create(name="gh", kind=Source.Kind.GITHUB, config={"org": "ml"})
    repo = Repository.objects.create(source=source, external_id="1", name="r", url="https://github.com/ml/r")
    pipeline = Pipeline.objects.create(repository=repo, provider="github-actions", external_id="1", name="CI")
    kathmandu = timezone(timedelta(hours=5, minutes=45))
    for when in (
        datetime(2026, 5, 1, 12, 0, tzinfo=kathmandu),
        datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 1, 1, 0, 0, 0, 7, tzinfo=timezone(timedelta(hours=-9))),
    ):
        values = {"pipeline_id": pipeline.pk, "status": "completed", "portal_status": "success"}
        values["created_at"] = when
        PipelineRun.objects.create(external_id=f"saved-{when.isoformat()}", **values)
        bulk_insert(PipelineRun, [{**values, "external_id": f"bulk-{when.isoformat()}"}])
        saved, bulk = (  # as stored: SQLite compares and orders these as text
            PipelineRun.objects.filter(external_id=f"{how}-{when.isoformat()}")
            .annotate(text=Cast("created_at", TextField()))
            .values_list("text", flat=True)
            .get()
            for how in ("saved", "bulk")
        )
        assert saved == bulk
        assert PipelineRun.objects.get(external_id=f"bulk-{when.isoformat()}").created_at == when
