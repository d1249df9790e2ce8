"""The rule registry: what a rule is, what it returns, and how it is declared."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from catalog.models import Severity


@dataclass(frozen=True)
class Verdict:
    """A rule's finding about one subject: exactly one of ``project_id``, ``team_id`` and ``model_id`` (a
    registered model) is set.

    ``message`` is one sentence saying why; ``evidence`` the facts behind it (JSON-serialisable: dates as
    ISO 8601 strings). ``severity`` overrides the rule's when set.
    """

    message: str
    project_id: int | None = None
    team_id: int | None = None
    model_id: int | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    severity: int | None = None

    @property
    def subject(self) -> tuple[str, int]:
        if self.project_id is not None:
            return ("project", self.project_id)
        return ("team", self.team_id) if self.team_id is not None else ("model", self.model_id)


@dataclass(frozen=True)
class RuleContext:
    """What a rule sees: the evaluation time (aware UTC) and its parameters (defaults + admin's)."""

    now: datetime
    params: dict[str, Any]


@dataclass(frozen=True)
class Rule:
    """A registered rule: ``check(context)`` yields the verdicts that hold now."""

    code: str
    title: str
    severity: Severity
    description: str
    check: Callable[[RuleContext], Iterable[Verdict]]
    defaults: dict[str, Any]

    def check_params(self, params: Any) -> None:
        """Raise ValueError naming the parameter at fault unless ``params`` fit this rule's defaults.

        Keys must be among the defaults'; values of the same type (an int where the default is an int;
        a number where it is a float); numbers must not be negative.
        """
        if not isinstance(params, dict):
            raise ValueError('must be a JSON object, such as {"days": 90}')
        known = ", ".join(sorted(self.defaults)) or "none"
        for key, value in params.items():
            if key not in self.defaults:
                raise ValueError(f"{self.code} has no parameter {key!r} (its parameters: {known})")
            default = self.defaults[key]
            if isinstance(default, bool) or not isinstance(default, int | float):
                if not isinstance(value, type(default)):
                    raise ValueError(f"{key} must be a {type(default).__name__}, like {json.dumps(default)}")
                continue
            wanted = (int,) if isinstance(default, int) else (int, float)
            if isinstance(value, bool) or not isinstance(value, wanted):
                kind = "a whole number" if wanted == (int,) else "a number"
                raise ValueError(f"{key} must be {kind}, like {json.dumps(default)}")
            if value < 0:
                raise ValueError(f"{key} must not be negative")


RULES: dict[str, Rule] = {}


def rule(code: str, *, title: str, severity: Severity, **defaults: Any):
    """Register the decorated ``check(context) -> Iterable[Verdict]`` as rule ``code``.

    ``defaults`` are the rule's parameters (e.g. ``days=90``); ``settings.PORTAL["RULE_DEFAULTS"]`` and
    then the admin's RuleConfig override them. The docstring's first line is the rule's description.
    """

    def register(check: Callable[[RuleContext], Iterable[Verdict]]):
        if code in RULES:
            raise ValueError(f"rule {code!r} is registered twice")
        description = (check.__doc__ or "").strip().splitlines()[0] if check.__doc__ else ""
        RULES[code] = Rule(code, title, severity, description, check, dict(defaults))
        return check

    return register
