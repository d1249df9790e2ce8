"""The check kinds a scorecard may use, each with its parameters (a pydantic model) and a bulk evaluator.

An evaluator takes the ``CheckContext`` (the projects being scored, the time) and the check's validated
parameters and returns ``{project pk: (passed, detail)}`` for every project, in a constant number of
queries whatever the number of projects. What several checks read (a rule's open findings, a fact's latest
values, the pipelines, the production models) is loaded once per evaluation, for every scorecard, through
``CheckContext.cached``. Kinds:

- ``rule`` ``{rule: CODE}``: no open finding of that rule on the project.
- ``has-owner``: the owner reference resolves to a known team or person.
- ``has-descriptor``: a descriptor file declares the project.
- ``lifecycle`` ``{in: [production, ...]}``: the project's lifecycle is one of these.
- ``ci-green`` ``{days: 7}``: the project's repository has live CI pipelines and the latest finished run of
  each on the default branch succeeded within the last ``days`` days.
- ``standard-template`` ``{templates: [...]}``: a live pipeline uses one of the standard templates
  (``project/file@ref``; default: the ``custom-pipeline`` rule's ``standard_templates``).
- ``production-model`` ``{days: 90}``: a registered model of the project has a production version
  registered (else trained) within the last ``days`` days.
- ``fact`` ``{name, min, max, max_age_days}``: the latest value of a custom fact is a number within
  ``[min, max]`` (either may be left out, not both), observed within ``max_age_days`` when given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from catalog.models import Finding, Pipeline, PortalStatus, ProjectFact, RegisteredModel, RuleConfig

Outcome = tuple[bool, str]


@dataclass
class CheckContext:
    """What a check sees: ``projects`` ({pk: row} with ``owner_team_id``, ``owner_person_id``, ``owner_ref``,
    ``descriptor_id``, ``lifecycle``, ``repository_id``), ``now`` (aware UTC), and a cache that checks of
    one evaluation share (``cached(key, load)``)."""

    projects: dict[int, dict]
    now: datetime
    cache: dict[str, Any] = field(default_factory=dict)

    def cached(self, key: str, load: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = load()
        return self.cache[key]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


@dataclass(frozen=True)
class CheckKind:
    name: str
    params: type[Params]
    evaluate: Callable[[CheckContext, Params], dict[int, Outcome]]
    describe: Callable[[Params], str]


CHECK_KINDS: dict[str, CheckKind] = {}


def check_kind(name: str, params: type[Params], describe: Callable[[Params], str]):
    """Register the decorated ``evaluate(context, params)`` as check kind ``name``."""

    def register(evaluate):
        CHECK_KINDS[name] = CheckKind(name, params, evaluate, describe)
        return evaluate

    return register


def parse_params(kind: str, params: Any) -> Params:
    """The validated parameters of a check of ``kind``; raises KeyError for an unknown kind and pydantic's
    ValidationError for bad parameters."""
    return CHECK_KINDS[kind].params.model_validate(params if params is not None else {})


def param_errors(kind: str, params: Any) -> list[tuple[str, str]]:
    """What is wrong with ``params`` for a check of the known ``kind``: ``(parameter, message)`` pairs
    (parameter '' for the whole), empty when they are valid."""
    try:
        parse_params(kind, params)
    except ValidationError as error:
        return [
            (".".join(map(str, e["loc"])), e["msg"].removeprefix("Value error, ")) for e in error.errors()
        ]
    return []


def check_params(kind: str, params: Any) -> dict:
    """``params`` validated for ``kind`` as stored (JSON); raises ValueError naming the parameter at fault."""
    if kind not in CHECK_KINDS:
        raise ValueError(f"unknown check kind {kind!r}; known: {', '.join(sorted(CHECK_KINDS))}")
    errors = param_errors(kind, params)
    if errors:
        raise ValueError("; ".join(f"{name or 'params'}: {message}" for name, message in errors))
    return parse_params(kind, params).model_dump(mode="json", by_alias=True, exclude_none=True)


def _verdicts(context: CheckContext, passing: Callable[[int, dict], Outcome]) -> dict[int, Outcome]:
    return {pk: passing(pk, row) for pk, row in context.projects.items()}


class NoParams(Params):
    pass


class RuleParams(Params):
    rule: str

    @field_validator("rule")
    @classmethod
    def known_rule(cls, code: str) -> str:
        from catalog.rules import RULES

        if code not in RULES:
            raise ValueError(f"unknown rule {code!r}; known: {', '.join(sorted(RULES))}")
        return code


@check_kind("rule", RuleParams, lambda p: f"No open {p.rule} finding.")
def rule_check(context: CheckContext, params: RuleParams) -> dict[int, Outcome]:
    failing = context.cached(
        f"open-findings:{params.rule}",
        lambda: set(
            Finding.objects.filter(
                rule=params.rule, resolved_at__isnull=True, project__isnull=False
            ).values_list("project_id", flat=True)
        ),
    )
    return _verdicts(
        context,
        lambda pk, row: (
            (False, f"Has an open {params.rule} finding.")
            if pk in failing
            else (True, f"No open {params.rule} finding.")
        ),
    )


@check_kind("has-owner", NoParams, lambda p: "Has an owner that is a known team or person.")
def has_owner(context: CheckContext, params: NoParams) -> dict[int, Outcome]:
    def passing(pk, row):
        if row["owner_team_id"] or row["owner_person_id"]:
            return True, "Has an owner."
        if row["owner_ref"]:
            return False, f"Its owner {row['owner_ref']} is not a known team or person."
        return False, "Has no owner."

    return _verdicts(context, passing)


@check_kind("has-descriptor", NoParams, lambda p: "Is declared by a catalog-info.yaml descriptor.")
def has_descriptor(context: CheckContext, params: NoParams) -> dict[int, Outcome]:
    return _verdicts(
        context,
        lambda pk, row: (
            (True, "Declared by a descriptor.")
            if row["descriptor_id"]
            else (False, "No descriptor declares it.")
        ),
    )


class LifecycleParams(Params):
    in_: list[str] = Field(alias="in", min_length=1)


@check_kind("lifecycle", LifecycleParams, lambda p: f"Lifecycle is {' or '.join(p.in_)}.")
def lifecycle(context: CheckContext, params: LifecycleParams) -> dict[int, Outcome]:
    wanted = {value.lower() for value in params.in_}
    return _verdicts(
        context,
        lambda pk, row: (
            row["lifecycle"].lower() in wanted,
            f"Lifecycle is {row['lifecycle'] or 'not set'}.",
        ),
    )


def _pipelines(context: CheckContext) -> dict[int, list[dict]]:
    """Live, active pipelines by repository pk (of the scored projects' repositories)."""

    def load():
        by_repository: dict[int, list[dict]] = {}
        rows = Pipeline.objects.filter(gone_at__isnull=True, state="active").values(
            "repository_id", "name", "latest_status", "latest_run_at", "templates"
        )
        for row in rows:
            by_repository.setdefault(row["repository_id"], []).append(row)
        return by_repository

    return context.cached("pipelines", load)


class DaysParams(Params):
    days: int = Field(gt=0)


@check_kind(
    "ci-green", DaysParams, lambda p: f"CI on the default branch green within the last {p.days} days."
)
def ci_green(context: CheckContext, params: DaysParams) -> dict[int, Outcome]:
    pipelines = _pipelines(context)
    since = context.now - timedelta(days=params.days)

    def passing(pk, row):
        mine = pipelines.get(row["repository_id"], [])
        if not mine:
            return False, "Has no CI pipeline."
        for pipeline in mine:
            if pipeline["latest_status"] != PortalStatus.SUCCESS:
                return False, f"{pipeline['name']}'s latest run is {pipeline['latest_status'] or 'unknown'}."
            if pipeline["latest_run_at"] is None or pipeline["latest_run_at"] < since:
                return False, f"{pipeline['name']} has not run in the last {params.days} days."
        return True, "Every pipeline's latest run succeeded."

    return _verdicts(context, passing)


class TemplateParams(Params):
    templates: list[str] | None = None

    @field_validator("templates")
    @classmethod
    def well_formed(cls, templates: list[str] | None) -> list[str] | None:
        from catalog.rules.ci import parse_standard_templates

        if templates is not None:
            parse_standard_templates(templates)
        return templates


def _configured_standard_templates() -> dict[str, str]:
    """The ``custom-pipeline`` rule's ``standard_templates`` (its setting, or the admin's override)."""
    from catalog.rules import RULES
    from catalog.rules.ci import parse_standard_templates
    from catalog.rules.evaluate import rule_params

    rule = RULES["custom-pipeline"]
    config = RuleConfig.objects.filter(code=rule.code).first()
    return parse_standard_templates(rule_params(rule, config)["standard_templates"])


@check_kind("standard-template", TemplateParams, lambda p: "A CI pipeline uses a standard template.")
def standard_template(context: CheckContext, params: TemplateParams) -> dict[int, Outcome]:
    from catalog.rules.ci import _identity as template_identity
    from catalog.rules.ci import parse_standard_templates

    standards = (
        parse_standard_templates(params.templates)
        if params.templates is not None
        else context.cached("standard-templates", _configured_standard_templates)
    )
    pipelines = _pipelines(context)

    def passing(pk, row):
        mine = pipelines.get(row["repository_id"], [])
        if not mine:
            return False, "Has no CI pipeline."
        if any(template_identity(t) in standards for p in mine for t in p["templates"]):
            return True, "Uses a standard CI template."
        return False, "No pipeline uses a standard CI template."

    return _verdicts(context, passing)


def _newest_production_versions() -> dict[int, datetime | None]:
    """The newest production version's registration (else training) time by project pk."""
    newest: dict[int, datetime | None] = {}
    rows = RegisteredModel.objects.filter(
        gone_at__isnull=True, project__isnull=False, production_version__isnull=False
    ).values_list("project_id", "production_version__registered_at", "production_version__trained_at")
    for project_id, registered_at, trained_at in rows:
        at = registered_at or trained_at
        current = newest.get(project_id)
        newest[project_id] = at if current is None or (at and at > current) else current
    return newest


@check_kind(
    "production-model", DaysParams, lambda p: f"A production model version younger than {p.days} days."
)
def production_model(context: CheckContext, params: DaysParams) -> dict[int, Outcome]:
    newest = context.cached("production-models", _newest_production_versions)
    since = context.now - timedelta(days=params.days)

    def passing(pk, row):
        if pk not in newest:
            return False, "Has no model in production."
        at = newest[pk]
        if at is None or at < since:
            age = f"{(context.now - at).days} days old" if at else "of unknown age"
            return False, f"Its newest production model version is {age}."
        return True, f"Its production model version is {(context.now - at).days} days old."

    return _verdicts(context, passing)


class FactParams(Params):
    name: str = Field(min_length=1)
    min: float | None = None
    max: float | None = None
    max_age_days: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def bounded(self) -> FactParams:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is above max")
        return self


def _describe_fact(p: FactParams) -> str:
    bounds = [
        f"at least {p.min:g}" if p.min is not None else "",
        f"at most {p.max:g}" if p.max is not None else "",
    ]
    return f"Custom fact {p.name} is {' and '.join(b for b in bounds if b)}."


def _latest_facts(name: str) -> dict[int, tuple[float | None, datetime]]:
    """The latest value of custom fact ``name`` by project pk: ``(number, observed_at)``."""
    latest: dict[int, tuple] = {}
    rows = (
        ProjectFact.objects.filter(name=name)
        .order_by("project_id", "-observed_at", "-pk")
        .values_list("project_id", "number", "observed_at")
    )
    for project_id, number, observed_at in rows:
        if project_id not in latest:
            latest[project_id] = (number, observed_at)
    return latest


@check_kind("fact", FactParams, _describe_fact)
def fact(context: CheckContext, params: FactParams) -> dict[int, Outcome]:
    latest = context.cached(f"facts:{params.name}", lambda: _latest_facts(params.name))
    since = context.now - timedelta(days=params.max_age_days) if params.max_age_days else None

    def passing(pk, row):
        if pk not in latest:
            return False, f"No {params.name} reported."
        number, observed_at = latest[pk]
        if number is None:
            return False, f"Its latest {params.name} is not a number."
        if since is not None and observed_at < since:
            return False, f"Its latest {params.name} is older than {params.max_age_days} days."
        if params.min is not None and number < params.min:
            return False, f"{params.name} is {number:g}, below {params.min:g}."
        if params.max is not None and number > params.max:
            return False, f"{params.name} is {number:g}, above {params.max:g}."
        return True, f"{params.name} is {number:g}."

    return _verdicts(context, passing)
