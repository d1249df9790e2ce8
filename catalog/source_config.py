"""A source's JSON config: the one validation every writer uses, and the redaction every reader shows.

``validate_source_config`` is what ``Source.clean`` runs, so the admin's Source form, ``manage.py
source_add`` and any other ``full_clean`` reject the same configs: the kind's connector checks the shape
(``parse_config``: unknown keys, wrong types, a literal secret where an environment variable's NAME
belongs) and ``catalog.source_urls`` the addresses it may read. Each error names the key at fault.

``redacted_config`` is what the API and the admin show: a value under a key that looks like a secret
(``token``, ``password``, ``secret``... but not ``token_env``, which names a variable) is replaced by
``REDACTED`` (so is a ``*_env`` value that is no variable name), and URL credentials are hidden, so a
row saved before this validation never echoes one.
"""

from __future__ import annotations

import os
import re
from typing import Any

from django.core.exceptions import ValidationError

from catalog.connectors import files, git, github, gitlab, mlflow
from catalog.env_names import env_name_problem
from catalog.source_urls import check_source_config

REDACTED = "***redacted***"
SECRET_KEY = re.compile(r"token|secret|passw|credential|private|api_?key|auth_?header|cookie|bearer", re.I)

_PARSERS = {
    "git": git.parse_config,
    "file": files.parse_config,
    "github": github.parse_config,
    "gitlab": gitlab.parse_config,
    "mlflow": mlflow.parse_config,
}


def env_keys(config: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Every ``(dotted key, value)`` of ``config`` whose key ends in ``_env``, nested dicts included
    (``auth.token_env``)."""
    found: list[tuple[str, Any]] = []
    if isinstance(config, dict):
        for key, value in config.items():
            dotted = f"{prefix}{key}"
            if str(key).endswith("_env"):
                found.append((dotted, value))
            elif isinstance(value, dict):
                found.extend(env_keys(value, dotted + "."))
    return found


def unset_variables(config: Any) -> list[tuple[str, str]]:
    """``(key, variable name)`` of every ``*_env`` key of ``config`` naming a valid variable that is
    unset in this process: the workers read them, so here they are worth a warning, not an error."""
    return [
        (key, value.strip())
        for key, value in env_keys(config)
        if value not in (None, "") and env_name_problem(value) is None and not os.environ.get(value.strip())
    ]


def validate_source_config(kind: str, config: Any) -> None:
    """Check ``config`` for a source of ``kind`` as its connector will read it, and against the address
    policy; raise ValidationError({"config": [messages]}) naming the key at fault. Every ``*_env`` key
    must hold an environment variable's NAME (``env_name_problem``; the message never repeats the value).
    A ``token_env`` whose variable is unset here passes (see ``unset_variables``). An unknown ``kind``
    is left to the field."""
    parse = _PARSERS.get(kind)
    if parse is None:
        return
    problems = [
        f"{kind} source config: {key!r} {problem}"
        for key, value in env_keys(config)
        if value not in (None, "") and (problem := env_name_problem(value))
    ]
    if problems:
        raise ValidationError({"config": problems}, code="invalid")
    check_source_config(kind, config)  # first: it lists every address at fault, with where it is
    checked = config
    if any(key == "token_env" for key, _ in unset_variables(config)):
        checked = {key: value for key, value in config.items() if key != "token_env"}
    try:
        parse(checked)
    except ValueError as exc:
        raise ValidationError({"config": [git.redact(str(exc))]}, code="invalid") from None


def redacted_config(value: Any, key: str = "") -> Any:
    """``value`` (a config or part of one, under ``key``) with secret-looking values and URL credentials
    replaced; names of environment variables (keys ending in ``_env``) are kept."""
    if isinstance(value, dict):
        return {k: redacted_config(v, str(k)) for k, v in value.items()}
    if key and SECRET_KEY.search(key) and not key.lower().endswith("_env") and value not in (None, ""):
        return REDACTED
    if key.lower().endswith("_env") and value not in (None, "") and env_name_problem(value):
        return REDACTED  # a row saved before validation may hold the token itself
    if isinstance(value, list):
        return [redacted_config(item) for item in value]
    if isinstance(value, str):
        return git.redact(value)
    return value
