"""Benchmark (c): sync 200 generated local git repositories, next to plain `git log` over the same ones.

Each repository gets 40 commits over the last 300 days by a few authors (written with `git fast-import`),
and every other one a catalog-info.yaml. Prints the sync's wall time (connector + database writes) and
the time of running plain `git log` once in each repository, one after the other, in the same run.
Usage: python benchmarks/git_sync.py [--repos 200] [--commits 40]
"""

import argparse
import statistics
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _setup import django_with_fresh_database

AUTHORS = [("Ada", "ada@example.com"), ("Grace", "grace@example.com"), ("Linus", "linus@example.com")]
DESCRIPTOR = """apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: model-{n:03d}
spec:
  type: ml-model
  lifecycle: production
  owner: team-{team}
"""


def make_repository(path: Path, n: int, commits: int, now: datetime) -> None:
    """A working tree with ``commits`` commits on main, written in one `git fast-import` run."""
    subprocess.run(["git", "-c", "init.defaultBranch=main", "init", "-q", str(path)], check=True)
    stream = []
    for c in range(commits):
        name, email = AUTHORS[(n + c) % len(AUTHORS)]
        when = int((now - timedelta(days=300 * (commits - c) / commits)).timestamp())
        files = {"README.md": f"repository {n}, change {c}\n"}
        if c == 0 and n % 2 == 0:
            files["catalog-info.yaml"] = DESCRIPTOR.format(n=n, team=n % 7)
        message = f"change {c}"
        stream.append("commit refs/heads/main")
        stream.append(f"committer {name} <{email}> {when} +0000")
        stream.append(f"data {len(message)}\n{message}")
        for file, content in files.items():
            data = content.encode()
            stream.append(f"M 100644 inline {file}\ndata {len(data)}\n{content}")
    subprocess.run(
        ["git", "fast-import", "--quiet"], cwd=path, input="\n".join(stream) + "\n", text=True, check=True
    )
    subprocess.run(["git", "checkout", "-q", "main"], cwd=path, check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--commits", type=int, default=40)
    args = parser.parse_args()

    data_dir = django_with_fresh_database()
    from catalog.models import Project, Repository, Source
    from catalog.sync import sync_source

    root = data_dir / "repos"
    now = datetime.now(UTC)
    for n in range(args.repos):
        make_repository(root / f"repo-{n:03d}", n, args.commits, now)
    repos = sorted(root.iterdir())

    def plain_git_log() -> float:
        start = time.perf_counter()
        for repo in repos:
            subprocess.run(["git", "log"], cwd=repo, stdout=subprocess.DEVNULL, check=True)
        return time.perf_counter() - start

    source = Source.objects.create(name="bench", kind=Source.Kind.GIT, config={"paths": [str(root)]})
    git_log = [plain_git_log()]
    syncs = []
    for _ in range(3):
        start = time.perf_counter()
        run = sync_source(source)
        syncs.append(time.perf_counter() - start)
        git_log.append(plain_git_log())
        assert run.failed == 0, run.errors
    print(
        f"{len(repos)} repositories, {args.commits} commits each; "
        f"{Repository.objects.count()} repositories and {Project.objects.count()} projects in the catalog"
    )
    print(f"plain `git log` over all of them, one by one: median {statistics.median(git_log):.2f} s")
    print(f"first sync (everything created): {syncs[0]:.2f} s")
    print(f"later syncs (nothing changed): {syncs[1]:.2f} s, {syncs[2]:.2f} s")
    ratio = syncs[0] / statistics.median(git_log)
    print(f"first sync / git log: {ratio:.2f}x (goal: under 2x)")


if __name__ == "__main__":
    main()
