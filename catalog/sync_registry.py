"""Registry records -> catalog: registered models, their versions, the history of aliases and stages, and
the links from models to projects. A step of ``catalog.sync``'s single write path, in its transaction.

Natural keys: source + model name, model + version string. A model whose versions could not be read
(``RegisteredModelRecord.error``) keeps its last good data; a model missing from a complete snapshot, or a
version missing from its model's listing, is marked gone (``gone_at``), never deleted, and loses its
labels in the history. A version whose run could not be read keeps its stored run facts.

Linking, in this order (the first that applies wins):

1. a project's annotation ``mlflow.org/registered-models`` (``ANNOTATION``): registered model names,
   comma-separated, e.g. ``fraud-detector, fraud-detector-shadow``;
2. a registered-model tag ``portal.project`` or ``backstage.io/component`` (``PROJECT_TAGS``) holding the
   project's entity reference (``fraud``, ``default/fraud`` or ``component:default/fraud``);
3. the git repository of the newest version's training run (``mlflow.source.git.repoURL``) matching the
   repository of exactly one project (``catalog.giturls.repository_key``: ssh or https, ``.git``, case).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from catalog import giturls
from catalog import sync as core  # the shared upsert; ``catalog.sync`` imports this module in turn
from catalog.bulk import bulk_update
from catalog.connectors.records import ModelVersionRecord, RegisteredModelRecord, SourceSnapshot
from catalog.descriptors.backstage import parse_ref
from catalog.models import ModelVersion, ModelVersionEvent, Project, RegisteredModel, Repository, Source
from catalog.production import production_version

if TYPE_CHECKING:
    from catalog.sync import Tally

ANNOTATION = "mlflow.org/registered-models"
PROJECT_TAGS = ("portal.project", "backstage.io/component")
RUN_FIELDS = ("git_repo_url", "git_commit", "trained_at", "metrics", "run_url")
Alias = ModelVersionEvent.LabelKind.ALIAS
Stage = ModelVersionEvent.LabelKind.STAGE


def write_registry(writer: Any, snapshot: SourceSnapshot) -> None:
    """Write ``snapshot.registered_models`` of ``writer.source``, then re-link every registered model.

    ``writer`` is the ``catalog.sync._SnapshotWriter`` running the sync (its ``source``, ``now`` and
    ``tally`` are used). Linking runs after any source's sync, since a git source may add an annotation.
    """
    RegistryWriter(writer.source, writer.now, writer.tally).write(snapshot)
    link_registered_models()


class RegistryWriter:
    """Writes one snapshot's registered models and versions; counts go to ``tally``."""

    def __init__(self, source: Source, now: datetime, tally: Tally) -> None:
        self.source, self.now, self.tally = source, now, tally
        self.events: list[ModelVersionEvent] = []

    def write(self, snapshot: SourceSnapshot) -> None:
        existing = {(m.name,): m for m in RegisteredModel.objects.filter(source=self.source)}
        if not existing and not snapshot.registered_models:
            return
        previous_read = {key: m.last_read_at for key, m in existing.items()}
        readable: list[RegisteredModelRecord] = []
        desired: dict[tuple[str], dict[str, Any]] = {}
        for record in snapshot.registered_models:
            if record.error:
                self.tally.fail(f"registered model {record.name}", record.error)
                continue
            readable.append(record)
            desired[(record.name,)] = _model_values(record)
        stored = core.upsert(
            RegisteredModel,
            existing,
            desired,
            self.tally,
            self.now,
            new={"source": self.source},
            bookkeeping={"last_read_at": self.now},
        )
        versions = self.write_versions([r for r in readable if (r.name,) in stored], stored, previous_read)
        if snapshot.complete:
            listed = {(r.name,) for r in snapshot.registered_models}
            gone = [m for key, m in existing.items() if key not in listed and m.gone_at is None]
            self.mark_gone(gone)
        ModelVersionEvent.objects.bulk_create(self.events, batch_size=core.BATCH_SIZE)
        self.set_production_versions(stored.values(), versions)

    def write_versions(
        self,
        records: list[RegisteredModelRecord],
        models: dict[tuple[str], RegisteredModel],
        previous_read: dict[tuple[str], datetime | None],
    ) -> dict[int, list[ModelVersion]]:
        """Upsert the versions of ``records``; mark the versions they no longer list as gone; record label
        changes. Returns the live versions by model pk.
        """
        model_pks = [models[(r.name,)].pk for r in records]
        existing: dict[tuple[str, str], ModelVersion] = {}
        name_of = {models[(r.name,)].pk: r.name for r in records}
        for start in range(0, len(model_pks), core.BATCH_SIZE):
            rows = ModelVersion.objects.filter(
                registered_model__in=model_pks[start : start + core.BATCH_SIZE]
            )
            for row in rows:
                existing[(name_of[row.registered_model_id], row.version)] = row
        before = {key: (list(row.aliases), row.stage, row.gone_at) for key, row in existing.items()}
        desired: dict[tuple[str, str], dict[str, Any]] = {}
        for record in records:
            model = models[(record.name,)]
            for version in record.versions:
                key = (record.name, version.version)
                if version.run_error:
                    self.tally.fail(f"model version {record.name}/{version.version}", version.run_error)
                desired[key] = _version_values(model, version)
        stored = core.upsert(ModelVersion, existing, desired, self.tally, self.now)

        live: dict[int, list[ModelVersion]] = defaultdict(list)
        for key, row in stored.items():
            aliases, stage, gone_at = before.get(key, ([], "", None))
            if gone_at is not None:  # deleted in the registry, then made again under the same number
                aliases, stage = [], ""
            since = previous_read.get((key[0],))
            self.record_changes(row, aliases, stage, row.aliases, row.stage, since)
            live[row.registered_model_id].append(row)
        gone = [row for key, row in existing.items() if key not in desired and row.gone_at is None]
        self.retire(gone, name_of)
        return live

    def record_changes(
        self,
        row: ModelVersion,
        old_aliases: Iterable[str],
        old_stage: str,
        new_aliases: Iterable[str],
        new_stage: str,
        since: datetime | None,
    ) -> None:
        """Queue the events that turn ``row``'s old labels into its new ones (removals first).

        A stage change is dated by the version's ``last_updated_at`` (MLflow stamps transitions) when that
        falls after the previous sync ``since`` and not after now; anything else by the time of this sync.
        """
        old, new = set(old_aliases), set(new_aliases)
        stamped = row.last_updated_at
        stage_at = (
            stamped if stamped and stamped <= self.now and (since is None or stamped > since) else self.now
        )
        changes = [(Alias, label, ModelVersionEvent.Action.REMOVED, self.now) for label in sorted(old - new)]
        if old_stage and old_stage != new_stage:
            changes.append((Stage, old_stage, ModelVersionEvent.Action.REMOVED, stage_at))
        changes += [(Alias, label, ModelVersionEvent.Action.ADDED, self.now) for label in sorted(new - old)]
        if new_stage and old_stage != new_stage:
            changes.append((Stage, new_stage, ModelVersionEvent.Action.ADDED, stage_at))
        for kind, label, action, at in changes:
            self.events.append(
                ModelVersionEvent(
                    registered_model_id=row.registered_model_id,
                    model_version=row,
                    label_kind=kind,
                    label=label,
                    action=action,
                    at=at,
                    observed_at=self.now,
                )
            )

    def retire(self, versions: list[ModelVersion], model_names: dict[int, str]) -> None:
        """Mark ``versions`` gone (counted as orphaned); their aliases and stage end now."""
        for row in versions:
            self.record_changes(row, row.aliases, row.stage, [], "", since=self.now)
            row.gone_at = self.now
            self.tally.note(
                "orphaned", "model version", f"{model_names[row.registered_model_id]}/{row.version}"
            )
        bulk_update(ModelVersion, versions, ["gone_at"])

    def mark_gone(self, models: list[RegisteredModel]) -> None:
        """Mark ``models`` (no longer listed by the registry) gone, with their versions."""
        if not models:
            return
        for model in models:
            model.gone_at, model.production_version_id = self.now, None
            self.tally.note("orphaned", "registered model", model.name)
        bulk_update(RegisteredModel, models, ["gone_at", "production_version_id"])
        names = {m.pk: m.name for m in models}
        pks = list(names)
        for start in range(0, len(pks), core.BATCH_SIZE):
            chunk = pks[start : start + core.BATCH_SIZE]
            self.retire(
                list(ModelVersion.objects.filter(registered_model__in=chunk, gone_at__isnull=True)), names
            )

    def set_production_versions(
        self, models: Iterable[RegisteredModel], versions: dict[int, list[ModelVersion]]
    ) -> None:
        changed = []
        for model in models:
            if model.pk not in versions and model.production_version_id is None:
                continue
            chosen = production_version(versions.get(model.pk, []))
            pk = chosen.pk if chosen else None
            if model.production_version_id != pk:
                model.production_version_id = pk
                changed.append(model)
        bulk_update(RegisteredModel, changed, ["production_version_id"])


def _model_values(record: RegisteredModelRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "description": record.description,
        "tags": dict(record.tags),
        "aliases": dict(record.aliases),
        "url": record.url,
        "registered_at": record.registered_at,
        "last_updated_at": record.last_updated_at,
        "gone_at": None,
    }


def _version_values(model: RegisteredModel, record: ModelVersionRecord) -> dict[str, Any]:
    values: dict[str, Any] = {
        "registered_model_id": model.pk,
        "version": record.version,
        "number": int(record.version) if record.version.isdigit() and len(record.version) < 19 else None,
        "aliases": list(record.aliases),
        "stage": record.stage,
        "status": record.status,
        "status_message": record.status_message,
        "description": record.description,
        "source_uri": record.source,
        "run_id": record.run_id,
        "user_id": record.user_id,
        "tags": dict(record.tags),
        "url": record.url,
        "registered_at": record.registered_at,
        "last_updated_at": record.last_updated_at,
        "gone_at": None,
    }
    run = record.run
    if run is not None:
        values.update(
            git_repo_url=run.git_repo_url,
            git_commit=run.git_commit,
            trained_at=run.started_at,
            metrics=dict(run.metrics),
            run_url=run.url,
        )
    elif not record.run_id:
        values.update(git_repo_url="", git_commit="", trained_at=None, metrics={}, run_url="")
    # else: the run could not be read this time: its stored facts stay
    return values


# Linking


def link_registered_models() -> int:
    """Link every registered model still in its registry to a project (module docstring); return how many
    rows changed. Models no rule links keep no project, with ``link_detail`` saying why when it can.
    """
    models = list(
        RegisteredModel.objects.filter(gone_at__isnull=True).only(
            "pk", "name", "tags", "project_id", "link_method", "link_detail"
        )
    )
    if not models:
        return 0
    projects = list(
        Project.objects.filter(orphaned_at__isnull=True).values(
            "pk", "namespace", "name", "annotations", "repository_id"
        )
    )
    ref_of = {p["pk"]: f"component:{p['namespace']}/{p['name']}" for p in projects}
    claims: dict[str, list[int]] = defaultdict(list)
    for project in projects:
        value = (project["annotations"] or {}).get(ANNOTATION)
        if isinstance(value, str):
            for name in {n.strip() for n in value.split(",") if n.strip()}:
                claims[name].append(project["pk"])
    by_ref = {(p["namespace"].lower(), p["name"].lower()): p["pk"] for p in projects}
    projects_of_repo = _projects_by_repository(projects)
    trained_in = _newest_repository_urls([m.pk for m in models])

    changed = []
    for model in models:
        notes: list[str] = []
        project_id, method, detail = (
            _by_annotation(claims.get(model.name, []), ref_of)
            or _by_tag(model.tags or {}, by_ref, notes)
            or _by_repository(trained_in.get(model.pk), projects_of_repo, ref_of, notes)
        )
        detail = detail[:1024]
        if (model.project_id, model.link_method, model.link_detail) != (project_id, method, detail):
            model.project_id, model.link_method, model.link_detail = project_id, method, detail
            changed.append(model)
    return bulk_update(RegisteredModel, changed, ["project_id", "link_method", "link_detail"])


Link = tuple[int | None, str, str]  # project pk, RegisteredModel.LinkMethod (or ''), what was found


def _by_annotation(claimants: list[int], ref_of: dict[int, str]) -> Link | None:
    if not claimants:
        return None
    first, *others = sorted(claimants, key=ref_of.__getitem__)
    detail = f"annotation {ANNOTATION} of {ref_of[first]}"
    if others:
        detail += f" (also claimed by {', '.join(ref_of[pk] for pk in others)})"
    return first, RegisteredModel.LinkMethod.ANNOTATION, detail


def _by_tag(tags: dict[str, str], by_ref: dict[tuple[str, str], int], notes: list[str]) -> Link | None:
    """The project the first of ``PROJECT_TAGS`` names; a tag naming nothing usable goes to ``notes``."""
    for key in PROJECT_TAGS:
        value = tags.get(key)
        if not value:
            continue
        try:
            ref = parse_ref(value, default_kind="component")
        except ValueError as exc:
            notes.append(f"tag {key}: {exc}")
            continue
        pk = by_ref.get((ref.namespace.lower(), ref.name.lower())) if ref.kind == "component" else None
        if pk is None:
            notes.append(f"tag {key} names {ref}, which is no project in the catalog")
            continue
        return pk, RegisteredModel.LinkMethod.TAG, f"tag {key} = {value}"
    return None


def _by_repository(
    url: str | None, projects_of_repo: dict[str, set[int]], ref_of: dict[int, str], notes: list[str]
) -> Link:
    """The one project whose repository trained the model; else no project, with why in the detail."""
    if url:
        shown = giturls.web_url(url) or url
        candidates = projects_of_repo.get(giturls.repository_key(url), set())
        if len(candidates) == 1:
            pk = next(iter(candidates))
            return (
                pk,
                RegisteredModel.LinkMethod.REPOSITORY,
                f"trained from {shown}, the repository of {ref_of[pk]}",
            )
        if candidates:
            refs = ", ".join(sorted(ref_of[pk] for pk in candidates))
            notes.append(f"trained from {shown}, which holds several projects ({refs})")
        else:
            notes.append(f"trained from {shown}, the repository of no project in the catalog")
    else:
        notes.append("no training run names a git repository")
    return None, "", "; ".join(notes)


def _projects_by_repository(projects: list[dict[str, Any]]) -> dict[str, set[int]]:
    """Project pks by the repository key of their repository (one repository may be read by two sources)."""
    repo_pks = {p["repository_id"] for p in projects if p["repository_id"]}
    key_of = {}
    for start in range(0, len(repo_pks), core.BATCH_SIZE):
        chunk = list(repo_pks)[start : start + core.BATCH_SIZE]
        for pk, url in Repository.objects.filter(pk__in=chunk).values_list("pk", "url"):
            key_of[pk] = giturls.repository_key(url)
    found: dict[str, set[int]] = defaultdict(set)
    for project in projects:
        key = key_of.get(project["repository_id"])
        if key:
            found[key].add(project["pk"])
    return found


def _newest_repository_urls(model_pks: list[int]) -> dict[int, str]:
    """Per registered model, the git repository URL of its newest live version that names one."""
    newest: dict[int, tuple[int, str]] = {}
    for start in range(0, len(model_pks), core.BATCH_SIZE):
        rows = (
            ModelVersion.objects.filter(
                registered_model__in=model_pks[start : start + core.BATCH_SIZE], gone_at__isnull=True
            )
            .exclude(git_repo_url="")
            .values_list("registered_model_id", "number", "git_repo_url")
        )
        for model_pk, number, url in rows:
            if model_pk not in newest or (number or -1) > newest[model_pk][0]:
                newest[model_pk] = (number or -1, url)
    return {pk: url for pk, (_, url) in newest.items()}
