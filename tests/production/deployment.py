"""docker-compose.yml, the Dockerfile and .env.example, read as data: the one place the process tests and
the deployment-file tests take the portal's commands from."""

from __future__ import annotations

import json
import re
import shlex
from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PORTAL_SERVICES = ("migrate", "web", "worker", "beat")


@cache
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def command(service: str) -> list[str]:
    """The argv of a service of docker-compose.yml (a string command split as compose splits it)."""
    value = compose()["services"][service]["command"]
    return shlex.split(value) if isinstance(value, str) else list(value)


def dockerfile_cmd() -> list[str]:
    [line] = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD ")]
    return json.loads(line.removeprefix("CMD "))


def env_example() -> dict[str, str]:
    """The assignments of .env.example (``NAME=value`` lines; comments and blank lines skipped)."""
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value
    return values


def env_names_read(path: Path) -> set[str]:
    """The environment variables a Python file reads through django-environ or os.environ."""
    text = path.read_text()
    found = set(re.findall(r"\benv\.\w+\(\s*\"([A-Z][A-Z0-9_]*)\"", text))
    found |= set(re.findall(r"os\.environ\.get\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", text))
    return found
