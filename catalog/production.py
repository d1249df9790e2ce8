"""Which version of a registered model is in production: now (from its aliases and stages) and on a past
date (from the history the sync records, since MLflow keeps none).

The production aliases and stages are settings (``PORTAL["PRODUCTION_ALIASES"]``, default ``champion``,
``production``; ``PORTAL["PRODUCTION_STAGES"]``, default ``Production``), compared case-insensitively.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from django.conf import settings

from catalog.models import ModelVersion, ModelVersionEvent, RegisteredModel


class Labelled(Protocol):
    version: str
    number: int | None
    aliases: Sequence[str]
    stage: str


V = TypeVar("V", bound=Labelled)


def production_version(
    versions: Iterable[V], *, aliases: Sequence[str] | None = None, stages: Sequence[str] | None = None
) -> V | None:
    """The production one of ``versions`` (anything with ``version``, ``number``, ``aliases``, ``stage``).

    That is the version holding the first of ``aliases`` that any version holds; failing that, the newest
    version in one of ``stages``; failing that, None. Both default to the settings.
    """
    versions = list(versions)
    aliases = settings.PORTAL["PRODUCTION_ALIASES"] if aliases is None else aliases
    stages = settings.PORTAL["PRODUCTION_STAGES"] if stages is None else stages
    wanted_aliases, wanted_stages = [a.lower() for a in aliases], {s.lower() for s in stages}
    for alias in wanted_aliases:
        for version in versions:
            if alias in (a.lower() for a in version.aliases):
                return version
    staged = [v for v in versions if v.stage and v.stage.lower() in wanted_stages]
    return max(staged, key=version_order) if staged else None


def version_order(version: Labelled) -> tuple[int, str]:
    """Sort key of versions, oldest first: by number, then by the version string."""
    return (version.number if version.number is not None else -1, version.version)


@dataclass
class _Then:
    """A version's labels at some past time."""

    row: ModelVersion
    aliases: list[str] = field(default_factory=list)
    stage: str = ""

    @property
    def version(self) -> str:
        return self.row.version

    @property
    def number(self) -> int | None:
        return self.row.number


def production_version_on(model: RegisteredModel, when: datetime) -> ModelVersion | None:
    """The version of ``model`` that was in production at ``when`` (an aware datetime), or None.

    Replays the model's ``ModelVersionEvent`` history up to ``when`` and applies ``production_version`` to
    the labels each version held then, with today's settings. The history starts at the first sync that saw
    the model: before that, the answer is None (unknown). Raises ValueError for a naive ``when``.
    """
    if when.tzinfo is None:
        raise ValueError("when must be an aware datetime")
    events = ModelVersionEvent.objects.filter(registered_model=model, at__lte=when).order_by("at", "pk")
    state: dict[int, _Then] = {}
    for event in events.select_related("model_version"):
        then = state.get(event.model_version_id)
        if then is None:
            then = state[event.model_version_id] = _Then(event.model_version)
        if event.label_kind == ModelVersionEvent.LabelKind.ALIAS:
            if event.action == ModelVersionEvent.Action.ADDED and event.label not in then.aliases:
                then.aliases.append(event.label)
            elif event.action == ModelVersionEvent.Action.REMOVED and event.label in then.aliases:
                then.aliases.remove(event.label)
        elif event.action == ModelVersionEvent.Action.ADDED:
            then.stage = event.label
        elif then.stage == event.label:
            then.stage = ""
    chosen = production_version(state.values())
    return chosen.row if chosen else None
