"""Maintenance rules: plain functions over the catalog that yield findings.

Each family of rules has a module (``code``, ``ci``, ``models``, ``ownership``, ``authorship``,
``descriptors``); each rule registers itself with ``@rule``. ``catalog.rules.evaluate.evaluate_rules``
runs them and keeps the findings table in step.
"""

from catalog.rules import (  # noqa: F401  (registers the rules)
    authorship,
    ci,
    code,
    descriptors,
    models,
    ownership,
)
from catalog.rules.registry import RULES, Rule, RuleContext, Verdict, rule

__all__ = ["RULES", "Rule", "RuleContext", "Verdict", "rule"]
