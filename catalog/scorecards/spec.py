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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.db import transaction
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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

    @field_validator("levels")
    @classmethod
    def levels_unique(cls, levels: list[str]) -> list[str]:
        if len(set(levels)) != len(levels):
            raise ValueError("each level is named once")
        return levels


class _CardHead(ScorecardSpec):
    """A scorecard with its checks left unchecked: each check is validated on its own, so one bad field
    of a scorecard hides none of its checks' errors."""

    checks: list[Any] = Field(default_factory=list)  # type: ignore[assignment]


class ScorecardsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scorecards: list[ScorecardSpec]


@dataclass
class LoadResult:
    """Names of the scorecards created, updated (their definition changed) and unchanged, and the number
    of checks removed."""

    created: list[str]
    updated: list[str]
    checks_removed: int
    unchanged: list[str] = field(default_factory=list)


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


def decode_scorecards(data: bytes, filename: str) -> str:
    """``data`` as UTF-8 text (a BOM dropped); raises ScorecardFileError naming ``filename``, the line and
    the byte offset of the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ScorecardFileError(
            [f"{filename}:{line}: not UTF-8 text (byte {data[error.start]:#04x} at offset {error.start})"]
        ) from None


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
    errors = _errors(data, _lines(node))
    if errors:
        raise ScorecardFileError([f"{filename}:{line}: {message}" for line, message in sorted(errors)])
    return ScorecardsFile.model_validate(data)


def _errors(data: Any, lines: dict[tuple, int]) -> list[tuple[int, str]]:
    """Every error of the loaded file ``data`` as ``(line, "where: what")``, in one pass: the file's
    shape, then each scorecard's own fields and each of its checks on their own, so that one bad field
    hides no other error (only a part whose shape is unusable, such as ``checks`` not being a list,
    leaves its content unchecked)."""
    errors: list[tuple[int, str]] = []

    def refused(problems: list[Any], base: tuple = ()) -> set[str]:
        """Record pydantic's ``problems`` (``ValidationError.errors()``) under ``base``; return the
        top-level fields at fault."""
        fields = set()
        for e in problems:
            loc = (*base, *e["loc"])
            errors.append((_line(lines, loc), f"{_where(loc)}: {_message(e)}"))
            fields.add(str(e["loc"][0]) if e["loc"] else "")
        return fields

    try:
        ScorecardsFile.model_validate(data)
    except ValidationError as error:
        top = [e for e in error.errors() if len(e["loc"]) <= 1]
        if top or not isinstance(data, dict) or not isinstance(data.get("scorecards"), list):
            refused(top)
            return errors
    names: set[str] = set()
    for i, card in enumerate(data["scorecards"]):
        base = ("scorecards", i)
        try:
            _CardHead.model_validate(card)
            bad: set[str] = set()
        except ValidationError as error:
            bad = refused(error.errors(), base)
        if not isinstance(card, dict):
            continue
        name = card.get("name") if "name" not in bad else None
        if name is not None and name in names:
            errors.append((_line(lines, (*base, "name")), f"{_where((*base, 'name'))}: {name!r} is repeated"))
        names.add(name)
        levels = card.get("levels") if "levels" not in bad else None
        checks = card.get("checks") or [] if "checks" not in bad else []
        _check_errors(checks, levels, name or f"scorecards[{i}]", base, lines, errors, refused)
    return errors


def _check_errors(
    checks: list[Any],
    levels: list[str] | None,
    card_name: str,
    base: tuple,
    lines: dict[tuple, int],
    errors: list[tuple[int, str]],
    refused: Callable[[list[Any], tuple], set[str]],
) -> None:
    """Add the errors of a scorecard's ``checks`` (raw mappings) to ``errors``; ``levels`` is None when
    the scorecard's own levels are invalid (then no check's level is compared with them)."""
    codes: set[str] = set()
    for j, raw in enumerate(checks):
        at = (*base, "checks", j)
        where = _where(at)
        try:
            CheckSpec.model_validate(raw)
            bad: set[str] = set()
        except ValidationError as error:
            bad = refused(error.errors(), at)
        if not isinstance(raw, dict):
            continue
        code, level, kind = (raw.get(key) if key not in bad else None for key in ("id", "level", "kind"))
        if code is not None:
            if code in codes:
                errors.append((_line(lines, (*at, "id")), f"{where}.id: {code!r} is repeated in {card_name}"))
            codes.add(code)
        if level is not None and levels is not None and level not in levels:
            errors.append((_line(lines, (*at, "level")), f"{where}.level: {level!r} is not one of {levels}"))
        if kind is None:
            continue
        if kind not in CHECK_KINDS:
            known = ", ".join(sorted(CHECK_KINDS))
            errors.append(
                (_line(lines, (*at, "kind")), f"{where}.kind: unknown kind {kind!r}; known: {known}")
            )
            continue
        params = {k: v for k, v in raw.items() if k not in CheckSpec.model_fields}
        for name, message in param_errors(kind, params):
            line = lines.get((*at, name.split(".")[0]), _line(lines, at))
            errors.append((line, f"{where}.{name or 'params'}: {message}"))


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
            before = _definition(card.name)
            scorecard, created = Scorecard.objects.update_or_create(
                name=card.name,
                defaults={
                    "title": card.title,
                    "description": card.description,
                    "levels": card.levels,
                    "file": filename,
                },
            )
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
            if created:
                result.created.append(card.name)
            else:
                changed = _definition(card.name) != before
                (result.updated if changed else result.unchanged).append(card.name)
    return result


def _definition(name: str) -> tuple | None:
    """What a file defines of scorecard ``name`` as stored (None when there is none): to tell a change."""
    stored = Scorecard.objects.filter(name=name).values("title", "description", "levels", "file").first()
    if stored is None:
        return None
    checks = ScorecardCheck.objects.filter(scorecard__name=name).order_by("code")
    fields = ("code", "title", "description", "level", "kind", "params", "position")
    return stored, list(checks.values_list(*fields))
