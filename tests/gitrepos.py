"""Real git repositories for tests, made with the git CLI in temporary folders."""

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path


def git(cwd: Path, *args: str, env: dict | None = None) -> str:
    return subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    ).stdout.strip()


def make_repo(
    path: Path,
    *,
    days_ago: list[int],
    descriptor: str | None = None,
    author: tuple[str, str] = ("Jane Doe", "jane@example.com"),
    now: datetime | None = None,
) -> Path:
    """A working tree at ``path`` with one commit per entry of ``days_ago`` (oldest first).

    ``descriptor``, when given, is committed as catalog-info.yaml in the first commit.
    """
    now = now or datetime.now(UTC)
    path.mkdir(parents=True)
    git(path, "init", "-q")
    if descriptor is not None:
        (path / "catalog-info.yaml").write_text(descriptor)
    for n, days in enumerate(days_ago):
        (path / "history.txt").write_text(f"change {n}\n")
        git(path, "add", "-A")
        when = (now - timedelta(days=days)).isoformat()
        git(
            path,
            "commit",
            "-q",
            "-m",
            f"change {n}",
            env={
                "GIT_AUTHOR_NAME": author[0],
                "GIT_AUTHOR_EMAIL": author[1],
                "GIT_AUTHOR_DATE": when,
                "GIT_COMMITTER_NAME": author[0],
                "GIT_COMMITTER_EMAIL": author[1],
                "GIT_COMMITTER_DATE": when,
            },
        )
    return path
