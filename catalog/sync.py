"""Records -> catalog: the single write path.

``sync_source`` claims a source (one running SyncRun per source is the lock), asks its connector for a
``SourceSnapshot`` and writes it with ``apply_snapshot``: idempotent upserts keyed by natural keys
(source + external id for repositories, Backstage's case-insensitive ``namespace/name`` for entities),
all in one transaction, so a failed run writes nothing and the good data already stored stays.

What a source stops declaring is orphaned (``orphaned_at``), never deleted. What could not be read this
time (a repository that failed, a descriptor document with errors, a file cut short by bad YAML) keeps
its last good data.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import re
import threading
import unicodedata
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models.functions import Lower

from catalog import memberships, sync_registry, sync_scorecards
from catalog.bulk import bulk_insert, bulk_update
from catalog.connectors import accepts, get_connector
from catalog.connectors.http import RateLimited
from catalog.connectors.records import DescriptorFile as DescriptorRecord
from catalog.connectors.records import Entity, RepositoryRecord, SourceSnapshot
from catalog.descriptors.backstage import parse_ref
from catalog.http_cache import SourceHttpCache
from catalog.models import DescriptorFile, Person, Project, Repository, Source, SyncRun, System, Team
from catalog.source_urls import check_source_config
from portal.logs import log_context

logger = logging.getLogger(__name__)

# Backstage kinds (lowercased) the catalog stores, and where.
KIND_MODELS: dict[str, type[models.Model]] = {
    "group": Team,
    "user": Person,
    "system": System,
    "component": Project,
}
BATCH_SIZE = 500
MAX_CHANGES_LISTED = 200
GC_THRESHOLD = 50_000  # container allocations between two young-generation collections, during a sync


class SyncAlreadyRunning(Exception):
    """Raised when the source already has a running sync (another worker holds it)."""


@dataclass
class Tally:
    """What a sync changed. ``errors`` holds ``{"item": str, "message": str}`` per failed item."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    orphaned: int = 0
    skipped: int = 0  # not stored: the names are in ``changes``
    errors: list[dict[str, str]] = field(default_factory=list)
    # What changed: {action: {kind of item: [names]}}, actions "created", "updated", "orphaned" and
    # "skipped" (left alone), at most MAX_CHANGES_LISTED names per action and kind.
    changes: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def fail(self, item: str, message: str) -> None:
        self.failed += 1
        self.errors.append({"item": item, "message": message})

    def note(self, action: str, kind: str, item: str) -> None:
        """Count ``item`` of ``kind`` (e.g. "project", "default/fraud-model") as created/updated/orphaned/
        skipped."""
        setattr(self, action, getattr(self, action) + 1)
        listed = self.changes.setdefault(action, {}).setdefault(kind, [])
        if len(listed) < MAX_CHANGES_LISTED:
            listed.append(item)


def sync_source(
    source: Source, *, trigger: str = SyncRun.Trigger.MANUAL, only: tuple[str, ...] = ()
) -> SyncRun:
    """Read ``source`` through its connector and write what it found; return the finished SyncRun.

    ``only`` names the repositories to read (a targeted sync, for connectors that take it): the snapshot
    is then incomplete and nothing is taken as gone but a named repository the source's filters now leave
    out (as a full sync would); one outside the source is listed as skipped. Connectors that read an API
    get the source's stored answers for conditional requests (``catalog.http_cache``). Raises
    SyncAlreadyRunning when another sync of the source is running. Connector and database failures do
    not raise: they end the run as ``failed`` with the cause in ``errors``, and so does a snapshot whose
    listing failed (``listing_failed``); a rate limit's error also holds ``retry_at`` (ISO 8601), the
    time the API named, for the caller to retry then.
    """
    run = start_run(source, trigger=trigger)
    with log_context(sync_run_id=run.pk, source=source.name), fewer_collections():
        return _read_and_write(source, run, only)


_gc_lock = threading.Lock()
_gc_syncs = 0  # syncs running in this process under fewer_collections
_gc_threshold: tuple[int, ...] = ()  # the thresholds to restore when the last one ends


@contextmanager
def fewer_collections():
    """Run the block with the cyclic garbage collector's first threshold at ``GC_THRESHOLD``.

    A sync builds hundreds of thousands of small containers (records, dicts) that stay alive until it
    writes: with Python's default threshold (700 allocations) they set off over a thousand collections,
    each of the older generations walking everything alive, about 1.4 s of a 1,000-repository sync's
    15 s of CPU (benchmarks/ci_sync.py). Nested and concurrent syncs (threads) share one setting; the
    process's own thresholds come back when the last ends.
    """
    global _gc_syncs, _gc_threshold
    with _gc_lock:
        if _gc_syncs == 0:
            _gc_threshold = gc.get_threshold()
            gc.set_threshold(max(GC_THRESHOLD, _gc_threshold[0]), *_gc_threshold[1:])
        _gc_syncs += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_syncs -= 1
            if _gc_syncs == 0:
                gc.set_threshold(*_gc_threshold)


def _connector_config(source: Source) -> dict[str, Any]:
    """The source's config for its connector: a git source's ``authors_days`` defaults to the window the
    ``bus-factor`` rule judges (its ``days``), unless the source sets it."""
    if (
        source.kind != Source.Kind.GIT
        or not isinstance(source.config, dict)
        or "authors_days" in source.config
    ):
        return source.config
    from catalog.rules.authorship import authorship_days  # the rules import what this module writes

    return {**source.config, "authors_days": authorship_days()}


def _read_and_write(source: Source, run: SyncRun, only: tuple[str, ...]) -> SyncRun:
    """``sync_source`` once ``run`` is claimed: its log lines carry the run's id."""
    cache = None
    try:
        check_source_config(source.kind, source.config)  # also for sources saved before the policy
        workdir = Path(settings.PORTAL["GIT_CACHE_DIR"]) / f"source-{source.pk}"
        connector = get_connector(source.kind)
        options: dict[str, Any] = {"only": tuple(only)} if only else {}
        if accepts(connector, "cache"):
            cache = options["cache"] = SourceHttpCache(source)
        snapshot = connector.fetch(_connector_config(source), workdir=workdir, **options)
    except Exception as exc:
        logger.exception("sync of source %s: the connector failed", source.name)
        tally = Tally()
        tally.fail(source.name, f"reading the source failed: {exc}")
        if isinstance(exc, RateLimited):
            tally.errors[-1]["retry_at"] = exc.reset_at.isoformat()
        _save_cache(cache, prune=False)  # what was read before the failure is still worth a 304
        return finish_run(run, tally, status=SyncRun.Status.FAILED)
    try:
        tally = apply_snapshot(source, snapshot, now=_now())
    except Exception as exc:
        logger.exception("sync of source %s: writing the catalog failed", source.name)
        tally = Tally()
        tally.fail(source.name, f"writing the catalog failed, nothing was changed: {exc!r}")
        _save_cache(cache, prune=False)
        return finish_run(run, tally, status=SyncRun.Status.FAILED)
    _save_cache(cache, prune=snapshot.complete)
    return finish_run(run, tally, status=SyncRun.Status.FAILED if listing_failed(snapshot) else None)


def listing_failed(snapshot: SourceSnapshot) -> bool:
    """Whether the connector could not list the source at all (a dead or foreign server, no configured
    path readable): it reported source-level errors and read nothing. Such a run is ``failed``, not
    ``partial``; being incomplete, it takes nothing as gone, so the last good data stays."""
    read = snapshot.repositories or snapshot.descriptors or snapshot.registered_models
    return not snapshot.complete and bool(snapshot.errors) and not read


def _save_cache(cache: SourceHttpCache | None, *, prune: bool) -> None:
    """Store the answers read; a failure here costs only full answers next time, so it is logged."""
    if cache is None:
        return
    try:
        cache.save(now=_now(), prune=prune)
    except Exception:
        logger.exception("sync of source %s: storing the HTTP cache failed", cache.source.name)


def start_run(source: Source, *, trigger: str = SyncRun.Trigger.MANUAL) -> SyncRun:
    """Create the source's running SyncRun, or raise SyncAlreadyRunning.

    A run left ``running`` longer than ``PORTAL["SYNC_LOCK_TIMEOUT"]`` seconds (its worker died) is
    closed as failed first, so a crash never locks a source for good.
    """
    now = _now()
    timeout = timedelta(seconds=settings.PORTAL["SYNC_LOCK_TIMEOUT"])
    SyncRun.objects.filter(source=source, status=SyncRun.Status.RUNNING, started_at__lt=now - timeout).update(
        status=SyncRun.Status.FAILED,
        finished_at=now,
        errors=[{"item": source.name, "message": "abandoned: the worker stopped before the run ended"}],
    )
    try:
        with transaction.atomic():
            return SyncRun.objects.create(source=source, trigger=trigger, started_at=now)
    except IntegrityError:
        raise SyncAlreadyRunning(f"source {source.name!r} is already being synced") from None


def finish_run(run: SyncRun, tally: Tally, *, status: str | None = None) -> SyncRun:
    """Store the tally on ``run`` and close it (``partial`` when some items failed)."""
    if status is None:
        status = SyncRun.Status.PARTIAL if tally.failed else SyncRun.Status.SUCCESS
    run.status = status
    run.finished_at = _now()
    run.created, run.updated, run.unchanged = tally.created, tally.updated, tally.unchanged
    run.failed, run.orphaned, run.errors = tally.failed, tally.orphaned, tally.errors
    run.changes = tally.changes
    run.save()
    logger.info(
        "sync run %s of source %s: %s (%s created, %s updated, %s unchanged, %s failed, %s orphaned)",
        run.pk,
        run.source.name,
        run.status,
        run.created,
        run.updated,
        run.unchanged,
        run.failed,
        run.orphaned,
        extra={"status": run.status, "duration_ms": round(run.duration.total_seconds() * 1000, 1)},
    )
    return run


def apply_snapshot(source: Source, snapshot: SourceSnapshot, *, now: datetime) -> Tally:
    """Write one connector snapshot of ``source`` to the catalog in a single transaction; return the tally.

    ``now`` (aware UTC) stamps reads, orphaning and new rows. Entity references are resolved across the
    whole catalog afterwards, so an owner declared by another source is found too.
    """
    writer = _SnapshotWriter(source, now)
    with transaction.atomic():
        writer.write(snapshot)
        resolve_references()
    return writer.tally


class _SnapshotWriter:
    """The steps of ``apply_snapshot``, sharing what earlier steps learned."""

    def __init__(self, source: Source, now: datetime) -> None:
        self.source = source
        self.now = now
        self.tally = Tally()
        self.repos_read: dict[str, Repository] = {}  # external_id -> repositories read successfully
        self.repos_gone: set[int] = set()
        self.files_read: dict[int, DescriptorRecord] = {}  # DescriptorFile.pk -> what was read
        self.files_gone: set[int] = set()
        self.touched: dict[type, set[int]] = defaultdict(set)
        self.repos_with_component: set[int] = set()
        self.descriptor_state: dict[int, str] = {}  # repository pk -> "valid" or "broken" (no entry: none)
        self.rejected_files: dict[int, DescriptorFile] = {}  # files that got errors from the entity step
        self.repos_unread: dict[int, Repository] = {}  # repositories that failed to read this time

    def write(self, snapshot: SourceSnapshot) -> None:
        for message in snapshot.errors:
            self.tally.fail(self.source.name, message)
        for name in snapshot.skipped:
            self.tally.note("skipped", "repository outside the source", name)
        self.write_repositories(snapshot)
        files = self.write_descriptor_files(snapshot)
        self.write_entities(files)
        self.write_found_projects()
        self.write_pipelines(snapshot)
        self.orphan_missing()
        sync_registry.write_registry(self, snapshot)
        sync_scorecards.write_scorecards(self.tally, snapshot)

    def write_pipelines(self, snapshot: SourceSnapshot) -> None:
        from catalog.sync_pipelines import write_pipelines  # it builds on this module's upsert

        records = {r.external_id: r for r in snapshot.repositories}
        write_pipelines(self.repos_read, records, self.tally, self.now)

    # Repositories

    def write_repositories(self, snapshot: SourceSnapshot) -> None:
        existing = {r.external_id: r for r in Repository.objects.filter(source=self.source)}
        desired: dict[str, dict[str, Any]] = {}
        for record in snapshot.repositories:
            repo = existing.get(record.external_id)
            if record.error:
                self.tally.fail(record.external_id, record.error)
                if repo is None:  # never read: keep it visible, with its error
                    repo = Repository.objects.create(
                        source=self.source,
                        external_id=record.external_id,
                        url=record.url,
                        name=record.name,
                        host=record.host,
                        last_error=record.error,
                        last_error_at=self.now,
                    )
                else:
                    Repository.objects.filter(pk=repo.pk).update(
                        last_error=record.error, last_error_at=self.now
                    )
                self.repos_unread[repo.pk] = repo
                continue
            desired[record.external_id] = _repository_values(record)
        stored = upsert(
            Repository,
            existing,
            desired,
            self.tally,
            self.now,
            new={"source": self.source},
            bookkeeping={"last_read_at": self.now, "last_error": "", "last_error_at": None},
        )
        self.repos_read = stored
        if snapshot.complete:
            listed = {r.external_id for r in snapshot.repositories}
            leaving = [r for r in existing.values() if r.external_id not in listed]
        else:  # a targeted read: only what it found the filters now leave out
            excluded = set(snapshot.excluded)
            leaving = [r for r in existing.values() if r.external_id in excluded]
        gone = [r.pk for r in leaving if r.gone_at is None]
        Repository.objects.filter(pk__in=gone).update(gone_at=self.now)
        self.repos_gone = {r.pk for r in leaving}

    # Descriptor files

    def write_descriptor_files(
        self, snapshot: SourceSnapshot
    ) -> list[tuple[DescriptorFile, DescriptorRecord]]:
        """Upsert the descriptor files read; mark the ones no longer there as gone."""
        wanted: list[tuple[Repository | None, DescriptorRecord]] = []
        records_by_id = {r.external_id: r for r in snapshot.repositories}
        for external_id, repo in self.repos_read.items():
            wanted += [(repo, d) for d in records_by_id[external_id].descriptors]
        wanted += [(None, d) for d in snapshot.descriptors]

        existing = {(f.repository_id, f.path): f for f in DescriptorFile.objects.filter(source=self.source)}
        result = []
        to_create, to_update = [], []
        for repo, record in wanted:
            errors = [_error_dict(e) for e in record.errors]
            for error in record.errors:
                self.tally.fail(f"{repo.name}/{error.path}" if repo else error.path, str(error))
            obj = existing.pop((repo.pk if repo else None, record.path), None)
            values = {
                "errors": errors,
                "entity_count": len(record.entities),
                "read_at": self.now,
                "gone_at": None,
            }
            if obj is None:
                obj = DescriptorFile(source=self.source, repository=repo, path=record.path, **values)
                to_create.append(obj)
            else:
                for name, value in values.items():
                    setattr(obj, name, value)
                to_update.append(obj)
            result.append((obj, record))
        DescriptorFile.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
        bulk_update(DescriptorFile, to_update, ["errors", "entity_count", "read_at", "gone_at"])
        self.files_read = {obj.pk: record for obj, record in result}
        for repo, record in wanted:
            if repo is not None and self.descriptor_state.get(repo.pk) != "broken":
                self.descriptor_state[repo.pk] = "broken" if record.errors else "valid"

        # A file cut short (bad YAML, the file limit) may have led to files not read this time: in its
        # repository (or, outside repositories, in the whole source) nothing is taken as gone.
        cut_short = {repo.pk if repo else None for repo, record in wanted if not record.complete}
        read_repo_ids = {r.pk for r in self.repos_read.values()} - cut_short
        listing_complete = snapshot.complete and None not in cut_short
        gone = [
            f
            for (repo_id, _), f in existing.items()
            if f.gone_at is None
            and (
                repo_id in read_repo_ids
                or repo_id in self.repos_gone
                or (repo_id is None and listing_complete)
            )
        ]
        DescriptorFile.objects.filter(pk__in=[f.pk for f in gone]).update(gone_at=self.now)
        self.files_gone = {f.pk for f in gone}
        return result

    # Entities

    def write_entities(self, files: list[tuple[DescriptorFile, DescriptorRecord]]) -> None:
        """Upsert the entities of the kinds the catalog stores; reject the ones declared twice.

        When two files declare one entity, the file that declared it before keeps it (else the first
        file read); the other gets an error on its file, so an ``invalid-descriptor`` finding shows it.
        """
        declarations: dict[tuple[str, tuple[str, str]], list[tuple[Entity, DescriptorFile]]] = defaultdict(
            list
        )
        for file_obj, record in files:
            for entity in record.entities:
                kind = entity.kind.lower()
                if kind in KIND_MODELS:
                    declarations[(kind, _key(entity.namespace, entity.name))].append((entity, file_obj))
        by_kind: dict[str, list[tuple[Entity, DescriptorFile]]] = defaultdict(list)
        for (kind, key), declared in declarations.items():
            if len(declared) > 1:
                holder = _existing_entities(KIND_MODELS[kind], {key}).get(key)
                declared.sort(key=lambda d: not (holder and holder.descriptor_id == d[1].pk))
            by_kind[kind].append(declared[0])
            for entity, file_obj in declared[1:]:
                self.reject(entity, file_obj, f"{entity.ref} is already declared in {_where(declared[0][1])}")
        # Teams and people first: the others refer to them.
        for kind in ("group", "user", "system", "component"):
            self.write_kind(KIND_MODELS[kind], by_kind.get(kind, []))
        bulk_update(DescriptorFile, list(self.rejected_files.values()), ["errors"])

    def reject(
        self, entity: Entity, file_obj: DescriptorFile, message: str, field: str | None = None
    ) -> None:
        """Leave ``entity`` out, with ``message`` as an error of its run and of its descriptor file."""
        self.tally.fail(f"{_where(file_obj)}#{entity.document}", message)
        file_obj.errors = [
            *file_obj.errors,
            {"path": file_obj.path, "document": entity.document, "field": field, "message": message},
        ]
        self.rejected_files[file_obj.pk] = file_obj
        if file_obj.repository_id:
            self.descriptor_state[file_obj.repository_id] = "broken"

    def write_kind(self, model: type[models.Model], entities: list[tuple[Entity, DescriptorFile]]) -> None:
        keys = {_key(e.namespace, e.name) for e, _ in entities}
        existing = _existing_entities(model, keys)
        desired: dict[tuple[str, str], dict[str, Any]] = {}
        for entity, file_obj in entities:
            key = _key(entity.namespace, entity.name)
            try:
                values = _entity_values(entity, file_obj)
            except ValueError as exc:
                self.reject(entity, file_obj, str(exc))
                continue
            current = existing.get(key)
            if (
                current is not None
                and current.source_id not in (None, self.source.pk)
                and not current.orphaned_at
            ):
                where = f" in {current.descriptor.path}" if current.descriptor else ""
                self.reject(
                    entity,
                    file_obj,
                    f"{entity.ref} is already declared by source {current.source.name}{where}",
                )
                continue
            desired[key] = values
            if model is Project and file_obj.repository_id:
                self.repos_with_component.add(file_obj.repository_id)
        self.carry_over_renames(model, existing, desired)
        stored = upsert(model, existing, desired, self.tally, self.now, new={"source": self.source})
        self.touched[model] |= {obj.pk for obj in stored.values()}

    def carry_over_renames(self, model, existing: dict, desired: dict) -> None:
        """Give a renamed entity its old row (and so its history) instead of leaving a ghost behind.

        An entity is taken as renamed when, in one descriptor file, a row of this source is no longer
        declared and a new entity of the same kind is, at the same document position; or when exactly one
        went and one came in that file. A project found in a repository (no descriptor) that now gets
        declared there carries over the same way.
        """
        new_keys = [k for k in desired if k not in existing]
        if not new_keys:
            return
        declared = set(desired)
        new_by_file: dict[int, list] = defaultdict(list)
        for key in new_keys:
            new_by_file[desired[key]["descriptor_id"]].append(key)
        candidates = model.objects.filter(source=self.source, orphaned_at__isnull=True)
        missing_by_file: dict[int, list] = defaultdict(list)
        for row in candidates.filter(descriptor__in=list(new_by_file)):
            if _key(row.namespace, row.name) not in declared:
                missing_by_file[row.descriptor_id].append(row)
        for file_id, keys in new_by_file.items():
            gone = missing_by_file.get(file_id, [])
            if not gone or file_id not in self.files_read or not self.files_read[file_id].complete:
                continue
            by_position = {row.descriptor_document: row for row in gone}
            for key in list(keys):
                row = by_position.pop(desired[key]["descriptor_document"], None)
                if row is not None:
                    existing[key] = row
                    keys.remove(key)
                    gone.remove(row)
            if len(keys) == 1 and len(gone) == 1:
                existing[keys[0]] = gone[0]
        if model is Project:
            repo_of_file = {
                f.pk: f.repository_id for f in DescriptorFile.objects.filter(pk__in=list(new_by_file))
            }
            found = {
                p.repository_id: p
                for p in candidates.filter(descriptor__isnull=True, repository__in=set(repo_of_file.values()))
            }
            for key in new_keys:
                if key in existing:
                    continue
                row = found.pop(repo_of_file.get(desired[key]["descriptor_id"]), None)
                if row is not None:
                    existing[key] = row

    # Projects found in repositories without a descriptor

    def write_found_projects(self) -> None:
        """Give a project named after it to each repository read that declares none.

        A repository whose valid descriptors declare only other kinds (an organisation's groups and
        users, say) is not a project; one whose descriptor is broken is, so that its error shows, and so is
        one that could not be read and has no project yet.
        """
        repos = [
            r
            for r in self.repos_read.values()
            if r.pk not in self.repos_with_component and self.descriptor_state.get(r.pk, "none") != "valid"
        ]
        repos += list(self.repos_unread.values())
        if not repos:
            return
        linked, existing = set(), {}
        for project in Project.objects.filter(repository__source=self.source):
            if project.descriptor_id is None and project.source_id == self.source.pk:
                existing[project.repository_id] = project
            else:
                linked.add(project.repository_id)
        # A repository already named like a valid project name gets that name before one made from it.
        wanted = sorted(
            (r for r in repos if r.pk not in linked), key=lambda r: _project_name(r.name) != r.name
        )
        taken = _taken_names(Project, [_project_name(r.name) for r in wanted])
        by_key: dict[tuple[str, str], Project] = {}
        desired: dict[tuple[str, str], dict[str, Any]] = {}
        for repo in wanted:
            current = existing.get(repo.pk)
            name = current.name if current else _project_name(repo.name)
            if current is None and name.lower() in taken:
                name = f"{name[:56]}-{hashlib.sha1(repo.external_id.encode()).hexdigest()[:6]}"
            key = _key("default", name)
            taken.add(name.lower())
            if current is not None:
                by_key[key] = current
            desired[key] = {
                "namespace": "default",
                "name": name,
                "title": repo.name,
                "repository_id": repo.pk,
                "descriptor_id": None,
                "descriptor_document": None,
                "orphaned_at": None,
            }
        stored = upsert(Project, by_key, desired, self.tally, self.now, new={"source": self.source})
        self.touched[Project] |= {obj.pk for obj in stored.values()}

    # Orphans

    def orphan_missing(self) -> None:
        """Orphan what this source declared before and, as far as this run can tell, no longer does."""
        for model in KIND_MODELS.values():
            fields = ["pk", "namespace", "name", "descriptor_id", "descriptor_document"]
            fields += ["repository_id"] if model is Project else []
            rows = model.objects.filter(source=self.source, orphaned_at__isnull=True).only(*fields)
            orphans = [row for row in rows if row.pk not in self.touched[model] and self._is_gone(row)]
            for start in range(0, len(orphans), BATCH_SIZE):
                batch = orphans[start : start + BATCH_SIZE]
                model.objects.filter(pk__in=[row.pk for row in batch]).update(orphaned_at=self.now)
            for row in orphans:
                self.tally.note("orphaned", str(model._meta.verbose_name), f"{row.namespace}/{row.name}")

    def _is_gone(self, row) -> bool:
        if row.descriptor_id is None:  # a project found in a repository, or its descriptor was deleted
            repository_id = getattr(row, "repository_id", None)
            return repository_id in self.repos_gone or repository_id in self.repos_with_component
        if row.descriptor_id in self.files_gone:
            return True
        record = self.files_read.get(row.descriptor_id)
        return (
            record is not None and record.complete and row.descriptor_document not in record.failed_documents
        )


def resolve_references() -> None:
    """Point owners, systems, parents and memberships at the entities their references name.

    Works over the whole catalog (references cross sources); writes only what changed. A reference that
    matches nothing leaves the foreign key empty (the ``owner-unknown`` rule reports it).
    """
    teams = {_key(ns, name): pk for pk, ns, name in Team.objects.values_list("pk", "namespace", "name")}
    people = {_key(ns, name): pk for pk, ns, name in Person.objects.values_list("pk", "namespace", "name")}
    systems = {_key(ns, name): pk for pk, ns, name in System.objects.values_list("pk", "namespace", "name")}
    lookup = {"group": teams, "user": people, "system": systems}

    def target(ref: str, kind: str) -> int | None:
        parsed = _split_ref(ref)
        return lookup[kind].get(parsed[1:]) if parsed and parsed[0] == kind else None

    for model in (Project, System):
        changed = []
        fields = ["owner_team_id", "owner_person_id"] + (["system_id"] if model is Project else [])
        for row in model.objects.only(
            "pk", "owner_ref", *fields, *(["system_ref"] if model is Project else [])
        ):
            want = {
                "owner_team_id": target(row.owner_ref, "group"),
                "owner_person_id": target(row.owner_ref, "user"),
            }
            if model is Project:
                want["system_id"] = target(row.system_ref, "system")
            if any(getattr(row, f) != v for f, v in want.items()):
                for f, v in want.items():
                    setattr(row, f, v)
                changed.append(row)
        bulk_update(model, changed, fields)

    changed = []
    for team in Team.objects.only("pk", "parent_ref", "parent_id"):
        parent = target(team.parent_ref, "group")
        if parent != team.parent_id and parent != team.pk:
            team.parent_id = parent
            changed.append(team)
    bulk_update(Team, changed, ["parent_id"])
    _resolve_memberships(teams, people)


def _resolve_memberships(teams: dict, people: dict) -> None:
    """Set the descriptor-sourced team memberships to the declared ``spec.members`` and ``spec.memberOf``.

    Memberships from the identity provider or made in the portal are kept (catalog/memberships.py).
    """
    declared_teams = Team.objects.filter(source__isnull=False)
    declared_people = Person.objects.filter(source__isnull=False)
    wanted: set[tuple[int, int]] = set()
    for team_pk, refs in declared_teams.values_list("pk", "member_refs"):
        for ref in refs:
            parsed = _split_ref(ref)
            if parsed and parsed[0] == "user" and parsed[1:] in people:
                wanted.add((team_pk, people[parsed[1:]]))
    for person_pk, refs in declared_people.values_list("pk", "member_of_refs"):
        for ref in refs:
            parsed = _split_ref(ref)
            if parsed and parsed[0] == "group" and parsed[1:] in teams:
                wanted.add((teams[parsed[1:]], person_pk))
    memberships.replace_declared(wanted)


# Helpers


def _now() -> datetime:
    return datetime.now(UTC)


def _key(namespace: str, name: str) -> tuple[str, str]:
    """The case-insensitive natural key of an entity (Backstage compares references case-insensitively)."""
    return (namespace.lower(), name.lower())


def _split_ref(ref: str) -> tuple[str, str, str] | None:
    """``kind:namespace/name`` (as stored, lowercased) -> its three parts; None when empty."""
    if not ref or ":" not in ref or "/" not in ref:
        return None
    kind, rest = ref.split(":", 1)
    namespace, name = rest.split("/", 1)
    return kind, namespace, name


def _ref(value: Any, *, default_kind: str, namespace: str, spec_field: str) -> str:
    """Normalize a declared reference to ``kind:namespace/name`` in lower case; '' when absent."""
    if value in (None, ""):
        return ""
    try:
        return str(parse_ref(value, default_kind=default_kind, default_namespace=namespace)).lower()
    except ValueError as exc:
        raise ValueError(f"spec.{spec_field}: {exc}") from None


def _refs(values: Any, *, default_kind: str, namespace: str, spec_field: str) -> list[str]:
    return sorted(
        {_ref(v, default_kind=default_kind, namespace=namespace, spec_field=spec_field) for v in values or ()}
    )


def _entity_values(entity: Entity, file_obj: DescriptorFile) -> dict[str, Any]:
    """The model field values of a Backstage entity. Raises ValueError naming the field at fault."""
    spec = entity.spec
    values: dict[str, Any] = {
        "namespace": entity.namespace,
        "name": entity.name,
        "title": entity.title,
        "description": entity.description,
        "labels": dict(entity.labels),
        "annotations": dict(entity.annotations),
        "tags": list(entity.tags),
        "links": [dict(link) for link in entity.links],
        "descriptor_id": file_obj.pk,
        "descriptor_document": entity.document,
        "orphaned_at": None,
    }
    kind, ns = entity.kind.lower(), entity.namespace
    if kind == "component":
        values.update(
            type=str(spec.get("type", "")),
            lifecycle=str(spec.get("lifecycle", "")),
            owner_ref=_ref(spec.get("owner"), default_kind="group", namespace=ns, spec_field="owner"),
            system_ref=_ref(spec.get("system"), default_kind="system", namespace=ns, spec_field="system"),
            repository_id=file_obj.repository_id,
        )
    elif kind == "system":
        values["owner_ref"] = _ref(spec.get("owner"), default_kind="group", namespace=ns, spec_field="owner")
    elif kind == "group":
        profile = spec.get("profile") or {}
        values.update(
            type=str(spec.get("type", "")),
            title=entity.title or str(profile.get("displayName") or "").strip(),
            email=str(profile.get("email") or "").strip(),
            parent_ref=_ref(spec.get("parent"), default_kind="group", namespace=ns, spec_field="parent"),
            member_refs=_refs(spec.get("members"), default_kind="user", namespace=ns, spec_field="members"),
        )
    elif kind == "user":
        profile = spec.get("profile") or {}
        values.update(
            title=entity.title or str(profile.get("displayName") or "").strip(),
            email=str(profile.get("email") or "").strip(),
            member_of_refs=_refs(
                spec.get("memberOf"), default_kind="group", namespace=ns, spec_field="memberOf"
            ),
        )
    return values


def _repository_values(record: RepositoryRecord) -> dict[str, Any]:
    commit = record.last_commit
    return {
        "external_id": record.external_id,
        "url": record.url,
        "host": record.host,
        "name": record.name,
        "default_branch": record.default_branch,
        "archived": record.archived,
        "topics": list(record.topics),
        "last_commit_sha": commit.sha if commit else "",
        "last_commit_at": commit.committed_at if commit else None,
        "last_commit_author_name": commit.author_name if commit else "",
        "last_commit_author_email": commit.author_email if commit else "",
        "commits_in_window": record.commits_in_window,
        "window_days": record.window_days,
        "top_authors": [{"name": a.name, "email": a.email, "commits": a.commits} for a in record.top_authors],
        "authors": [{"name": a.name, "email": a.email, "commits": a.commits} for a in record.authors],
        "authors_days": record.authors_days,
        "gone_at": None,
    }


def _error_dict(error) -> dict[str, Any]:
    return {"path": error.path, "document": error.document, "field": error.field, "message": error.message}


def _where(file_obj: DescriptorFile) -> str:
    repo = file_obj.repository
    return f"{repo.name}/{file_obj.path}" if repo else file_obj.path


def _existing_entities(model, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """Rows of ``model`` with one of ``keys`` (any source), keyed case-insensitively."""
    by_namespace: dict[str, list[str]] = defaultdict(list)
    for namespace, name in keys:
        by_namespace[namespace].append(name)
    rows = {}
    qs = model.objects.annotate(lns=Lower("namespace"), lname=Lower("name")).select_related(
        "descriptor", "source"
    )
    for namespace, names in by_namespace.items():
        for start in range(0, len(names), BATCH_SIZE):
            for row in qs.filter(lns=namespace, lname__in=names[start : start + BATCH_SIZE]):
                rows[_key(row.namespace, row.name)] = row
    return rows


def _taken_names(model, names: list[str]) -> set[str]:
    lowered = [n.lower() for n in names]
    taken = set()
    for start in range(0, len(lowered), BATCH_SIZE):
        taken |= set(
            model.objects.annotate(lname=Lower("name"))
            .filter(lname__in=lowered[start : start + BATCH_SIZE])
            .values_list("lname", flat=True)
        )
    return taken


_NAME_JUNK = re.compile(r"[^A-Za-z0-9_.-]+")


def _project_name(repository_name: str) -> str:
    """A valid Backstage entity name made from a repository name (ASCII, at most 63 characters).

    Accents are dropped (``modèle`` -> ``modele``), other characters become ``-``; a name with no ASCII
    letter or digit left (``模型``) becomes ``repository`` (a clash then adds a suffix).
    """
    ascii_name = unicodedata.normalize("NFKD", repository_name).encode("ascii", "ignore").decode()
    name = _NAME_JUNK.sub("-", ascii_name).strip("-_.")[:63].strip("-_.")
    return name or "repository"


def upsert(
    model,
    existing: dict,
    desired: dict,
    tally: Tally,
    now: datetime,
    *,
    new=None,
    bookkeeping=None,
    returning: bool = True,
) -> dict:
    """Create or update ``model`` rows so that each key's row has the desired values; return rows by key.

    ``existing`` maps keys to current rows, ``desired`` keys to field values (attnames). ``new`` adds
    values to created rows only; ``bookkeeping`` values are written every time but do not count as a
    change. Counts go to ``tally``; a row whose values are too long for its column fails alone. With
    ``returning=False`` created rows are inserted faster, as values without model instances, and are not
    returned (their keys map to None): for rows nothing refers to, such as pipeline runs.
    """
    limits = {f.attname: f.max_length for f in model._meta.concrete_fields if getattr(f, "max_length", None)}
    kind = str(model._meta.verbose_name)
    to_create, to_insert, to_update, fields = [], [], [], set(bookkeeping or ())
    stored = {}
    for key, values in desired.items():
        label = "/".join(map(str, key)) if isinstance(key, tuple) else str(key)
        too_long = [
            name
            for name, value in values.items()
            if isinstance(value, str) and name in limits and len(value) > limits[name]
        ]
        if too_long:
            tally.fail(
                f"{kind} {label}", f"{', '.join(too_long)}: longer than {limits[too_long[0]]} characters"
            )
            continue
        obj = existing.get(key)
        if obj is None:
            row = {**(new or {}), **values, **(bookkeeping or {})}
            if returning:
                obj = model(**row)
                to_create.append(obj)
            else:
                to_insert.append(row)
            tally.note("created", kind, label)
        else:
            changed = [name for name, value in values.items() if getattr(obj, name) != value]
            for name in changed:
                setattr(obj, name, values[name])
            for name, value in (bookkeeping or {}).items():
                setattr(obj, name, value)
            if changed:
                fields.update(changed)
                tally.note("updated", kind, label)
                if hasattr(obj, "updated_at"):
                    obj.updated_at = now
                    fields.add("updated_at")
            else:
                tally.unchanged += 1
            if changed or bookkeeping:
                to_update.append(obj)
        stored[key] = obj
    model.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
    bulk_insert(model, to_insert)
    bulk_update(model, to_update, sorted(fields))
    return stored
