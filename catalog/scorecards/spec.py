"""The scorecards file: YAML that defines scorecards, validated with an error per bad line.

Shape (every key but ``scorecards``, ``name``, ``levels``, and each check's ``id``, ``level`` and ``kind``
optional; a check's other keys are its kind's parameters, see ``catalog.scorecards.checks``)::

    scorecards:
      - name: ml-readiness            # a slug
        title: ML readiness
        levels: [bronze, silver, gold]  # lowest first
        checks:
          - id: owned
            title: Has an owner
            level: bronze
            kind: has-owner
          - id: coverage
            level: gold
            kind: fact
            name: coverage
            min: 0.8

``load_scorecards`` writes the scorecards a valid file defines (checks matched by ``id``, so stored results
and exemptions of a kept check stay) and leaves the database untouched when the file has any error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from django.db import transaction
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from catalog.models import Scorecard, ScorecardCheck
from catalog.scorecards.checks import CHECK_KINDS, check_params, param_errors

SLUG = r"^[a-z0-9](?:[-a-z0-9_]{0,98}[a-z0-9])?$"


class ScorecardFileError(ValueError):
    """The file's errors, one ``path:line: where: what`` string each (``errors``)."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


class CheckSpec(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(pattern=SLUG)
    title: str = ""
    description: str = ""
    level: str
    kind: str

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ScorecardSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=SLUG)
    title: str = ""
    description: str = ""
    levels: list[str] = Field(min_length=1)
    checks: list[CheckSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def levels_unique(self) -> ScorecardSpec:
        if len(set(self.levels)) != len(self.levels):
            raise ValueError("each level is named once")
        return self


class ScorecardsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scorecards: list[ScorecardSpec]


@dataclass
class LoadResult:
    """Names of the scorecards created and updated, and the number of checks removed."""

    created: list[str]
    updated: list[str]
    checks_removed: int


def _lines(node: yaml.Node, path: tuple = ()) -> dict[tuple, int]:
    """Each path (keys and indexes) of the composed document mapped to its 1-based line."""
    lines = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines[(*path, key.value)] = key.start_mark.line + 1
            lines.update(
                {k: v for k, v in _lines(value, (*path, key.value)).items() if k != (*path, key.value)}
            )
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.update(_lines(item, (*path, index)))
    return lines


def _where(loc: tuple) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "file"


def _line(lines: dict[tuple, int], loc: tuple) -> int:
    while loc not in lines and loc:
        loc = loc[:-1]
    return lines.get(loc, 1)


def parse_scorecards(text: str, filename: str) -> ScorecardsFile:
    """The validated file; raises ScorecardFileError listing every error as ``filename:line: where: what``."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise ScorecardFileError(
            [f"{filename}:{line}: not valid YAML: {getattr(error, 'problem', error)}"]
        ) from None
    if node is None:
        raise ScorecardFileError([f"{filename}:1: empty file: expected a mapping with 'scorecards'"])
    lines = _lines(node)
    errors: list[tuple[int, str]] = []
    try:
        parsed = ScorecardsFile.model_validate(data)
    except ValidationError as error:
        for e in error.errors():
            loc = tuple(e["loc"])
            errors.append((_line(lines, loc), f"{_where(loc)}: {_message(e)}"))
        parsed = None
    if parsed is not None:
        names: dict[str, int] = {}
        for i, card in enumerate(parsed.scorecards):
            if card.name in names:
                errors.append(
                    (lines[("scorecards", i, "name")], f"scorecards[{i}].name: {card.name!r} is repeated")
                )
            names[card.name] = i
            codes: set[str] = set()
            for j, check in enumerate(card.checks):
                base = ("scorecards", i, "checks", j)
                where = f"scorecards[{i}].checks[{j}]"
                if check.id in codes:
                    errors.append(
                        (lines[(*base, "id")], f"{where}.id: {check.id!r} is repeated in {card.name}")
                    )
                codes.add(check.id)
                if check.level not in card.levels:
                    errors.append(
                        (
                            lines[(*base, "level")],
                            f"{where}.level: {check.level!r} is not one of {card.levels}",
                        )
                    )
                if check.kind not in CHECK_KINDS:
                    known = ", ".join(sorted(CHECK_KINDS))
                    errors.append(
                        (lines[(*base, "kind")], f"{where}.kind: unknown kind {check.kind!r}; known: {known}")
                    )
                    continue
                for name, message in param_errors(check.kind, check.params):
                    line = lines.get((*base, name.split(".")[0]), lines[base])
                    errors.append((line, f"{where}.{name or 'params'}: {message}"))
    if errors:
        raise ScorecardFileError([f"{filename}:{line}: {message}" for line, message in sorted(errors)])
    return parsed


def _message(error: dict) -> str:
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "string_pattern_mismatch":
        return "must be a slug: lowercase letters, digits, '-' and '_'"
    return re.sub(r"^Value error, ", "", message)


def load_scorecards(text: str, filename: str) -> LoadResult:
    """Validate the file and write its scorecards in one transaction; raises ScorecardFileError (nothing is
    written then). Checks are matched by ``id``: a check left out of the file is deleted with its results
    and exemptions; scorecards the file does not name are kept."""
    parsed = parse_scorecards(text, filename)
    result = LoadResult(created=[], updated=[], checks_removed=0)
    with transaction.atomic():
        for card in parsed.scorecards:
            scorecard, created = Scorecard.objects.update_or_create(
                name=card.name,
                defaults={
                    "title": card.title,
                    "description": card.description,
                    "levels": card.levels,
                    "file": filename,
                },
            )
            (result.created if created else result.updated).append(card.name)
            for position, check in enumerate(card.checks):
                ScorecardCheck.objects.update_or_create(
                    scorecard=scorecard,
                    code=check.id,
                    defaults={
                        "title": check.title
                        or CHECK_KINDS[check.kind].describe(
                            CHECK_KINDS[check.kind].params.model_validate(check.params)
                        ),
                        "description": check.description,
                        "level": check.level,
                        "kind": check.kind,
                        "params": check_params(check.kind, check.params),
                        "position": position,
                    },
                )
            stale = ScorecardCheck.objects.filter(scorecard=scorecard).exclude(
                code__in=[c.id for c in card.checks]
            )
            _, removed = stale.delete()
            result.checks_removed += removed.get(ScorecardCheck._meta.label, 0)
    return result
