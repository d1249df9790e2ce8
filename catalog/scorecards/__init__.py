"""Scorecards: check kinds (checks.py), the YAML file format (spec.py) and the evaluator (evaluate.py)."""
