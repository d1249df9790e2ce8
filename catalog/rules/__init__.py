"""Maintenance rules: plain functions over the catalog that yield findings.

Each family of rules has a module (``code``, ``ci``, ``models``, ``ownership``, ``descriptors``); each
rule registers itself with ``@rule``. ``catalog.rules.evaluate.evaluate_rules`` runs them and keeps the
findings table in step.
"""

from catalog.rules import ci, code, descriptors, models, ownership  # noqa: F401  (registers the rules)
from catalog.rules.registry import RULES, Rule, RuleContext, Verdict, rule

__all__ = ["RULES", "Rule", "RuleContext", "Verdict", "rule"]
