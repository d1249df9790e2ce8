"""Run the rules and keep the findings table in step with what they say."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, transaction

from catalog.bulk import bulk_update
from catalog.models import Finding, RuleConfig
from catalog.notifications.outbox import announce
from catalog.rules.registry import RULES, Rule, RuleContext

logger = logging.getLogger(__name__)

CONCURRENT_RETRIES = 2  # times a rule is evaluated again after a concurrent evaluation wrote first


@dataclass
class EvaluationResult:
    """Per rule code, how many findings opened, were seen again, and resolved."""

    opened: Counter = field(default_factory=Counter)
    seen: Counter = field(default_factory=Counter)
    resolved: Counter = field(default_factory=Counter)


def rule_params(rule: Rule, config: RuleConfig | None) -> dict:
    """A rule's parameters: its defaults, then ``settings.PORTAL["RULE_DEFAULTS"]``, then the admin's."""
    params = dict(rule.defaults)
    params.update(settings.PORTAL["RULE_DEFAULTS"].get(rule.code, {}))
    if config is not None:
        params.update({k: v for k, v in config.params.items() if k in rule.defaults})
    return params


def evaluate_rules(*, now: datetime | None = None, codes: list[str] | None = None) -> EvaluationResult:
    """Evaluate the enabled rules (or only ``codes``) at ``now`` (aware UTC, default: now).

    A verdict that holds opens a finding or refreshes the open one (``last_seen_at``, message, evidence,
    severity); an open finding whose verdict no longer holds, or whose rule is disabled, gets
    ``resolved_at``. Each rule is written in its own transaction; when another evaluation running at the
    same time opened the same finding first (the open-finding unique constraint refuses ours), the rule is
    evaluated again on what that one wrote. Raises KeyError for an unknown code.
    """
    now = now or datetime.now(UTC)
    configs = {c.code: c for c in RuleConfig.objects.all()}
    result = EvaluationResult()
    for code in codes or list(RULES):
        rule = RULES[code]
        config = configs.get(code)
        for attempt in range(CONCURRENT_RETRIES + 1):
            try:
                with transaction.atomic():
                    if config is not None and not config.enabled:
                        verdicts = []
                    else:
                        context = RuleContext(now=now, params=rule_params(rule, config))
                        verdicts = list(rule.check(context))
                    severity = config.severity if config and config.severity else rule.severity
                    _write_findings(rule.code, verdicts, severity, now, result)
                break
            except IntegrityError:
                if attempt == CONCURRENT_RETRIES:
                    raise
                logger.info("rule %s: a concurrent evaluation wrote first; evaluating it again", code)
    return result


def _write_findings(
    code: str, verdicts: list, severity: int, now: datetime, result: EvaluationResult
) -> None:
    open_findings = {_subject(f): f for f in Finding.objects.filter(rule=code, resolved_at__isnull=True)}
    to_create, to_update, escalated = [], [], []
    for verdict in verdicts:
        finding = open_findings.pop(verdict.subject, None)
        values = {
            "message": verdict.message,
            "evidence": verdict.evidence,
            "severity": verdict.severity or severity,
            "last_seen_at": now,
        }
        if finding is None:
            to_create.append(
                Finding(
                    rule=code,
                    project_id=verdict.project_id,
                    team_id=verdict.team_id,
                    registered_model_id=verdict.model_id,
                    first_seen_at=now,
                    **values,
                )
            )
        else:
            if values["severity"] > finding.severity:
                escalated.append(finding)
            for name, value in values.items():
                setattr(finding, name, value)
            to_update.append(finding)
    Finding.objects.bulk_create(to_create, batch_size=500)
    bulk_update(Finding, to_update, ["message", "evidence", "severity", "last_seen_at"])
    resolved = [f.pk for f in open_findings.values()]
    for start in range(0, len(resolved), 500):
        Finding.objects.filter(pk__in=resolved[start : start + 500]).update(resolved_at=now)
    announce(to_create + escalated, now=now)  # the outbox, in this transaction
    result.opened[code] += len(to_create)
    result.seen[code] += len(to_update)
    result.resolved[code] += len(resolved)


def _subject(finding: Finding) -> tuple[str, int]:
    """The key ``Verdict.subject`` gives the same subject."""
    if finding.project_id:
        return ("project", finding.project_id)
    return ("team", finding.team_id) if finding.team_id else ("model", finding.registered_model_id)
