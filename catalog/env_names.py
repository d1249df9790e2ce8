"""Names of environment variables, where a source or channel config names the variable holding a secret.

``env_name_problem`` is the one check: the admin, ``source_add``, ``Source.clean``, the Slack channels and
the connectors (for rows saved before it) all use it. It imports nothing of the portal, so connectors may.
"""

from __future__ import annotations

import re
from typing import Any

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ENV_NAME_MAX = 128
# Prefixes of tokens GitHub, GitLab and Slack issue: such a value is the secret itself, not a variable's name.
TOKEN_PREFIXES = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xoxb-", "xoxp-")


def env_name_problem(value: Any) -> str | None:
    """Why ``value`` is not an environment variable's NAME (``^[A-Za-z_][A-Za-z0-9_]*$``, at most
    ``ENV_NAME_MAX`` characters, not a token of a known format), or None when it is one. The message
    never repeats ``value``: a mistaken value is often the secret itself."""
    if not isinstance(value, str):
        return "must be a string: the NAME of an environment variable"
    name = value.strip()
    if name.startswith(TOKEN_PREFIXES):  # case matters: GHS_TOKEN is a fine name, ghs_... a token
        return "looks like a token, not the NAME of the environment variable holding it; revoke that token"
    if len(name) > ENV_NAME_MAX:
        return f"is longer than {ENV_NAME_MAX} characters: give the NAME of an environment variable"
    if not ENV_NAME.match(name):
        return "is not an environment variable NAME (a letter or _, then letters, digits or _)"
    return None
