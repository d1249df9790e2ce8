"""Benchmark: sync a GitHub organization of 1,000 repositories with 30 workflow runs each, from a local
stand-in of GitHub's REST API that adds 20 ms to every answer.

The stand-in (a ThreadingHTTPServer in its own process, HTTP/1.1 keep-alive) serves each repository's
commits, root listing, catalog-info.yaml, one workflow and its file, and 30 runs in the shape GitHub
documents (its OpenAPI example of a workflow run), each answer with an ETag, and 304 to a matching
If-None-Match. Prints the full sync's wall time (connector and database writes) and request count next to
the floor (requests x 20 ms / concurrency), then a second sync with nothing changed and its share of 304s.
Goals: the full sync within 2x of the floor; at least 95% of the second sync's requests answered 304.
Usage: python benchmarks/ci_sync.py [--repos 1000] [--runs 30] [--delay-ms 20] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import multiprocessing
import os
import re
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
RUN_EXAMPLE = (
    ROOT.parent
    / "shared/corpus/ci"
    / "github__rest-api-description__descriptions__api.github.com__api.github.com.json__components__"
    "examples__workflow-run-paginated.json"
)
ORG = "bench"
DESCRIPTOR = """apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: model-{n:04d}
spec:
  type: ml-model
  lifecycle: production
  owner: team-{team}
"""
RUN_FIELDS = (
    "id",
    "workflow_id",
    "run_number",
    "status",
    "conclusion",
    "head_branch",
    "created_at",
    "run_started_at",
    "updated_at",
)
WORKFLOW = """name: CI
on: [push]
jobs:
  train:
    uses: ml-platform/ci-templates/.github/workflows/train.yml@v{major}.0.0
"""


# The stand-in API (runs in its own process)


class StandIn:
    """The stand-in GitHub's answers: ``answer(path, query)`` gives (body, ETag, headers) or None.

    Run pages are made from the example run serialised once, with each run's own values put in as text:
    30 runs of GitHub's documented shape weigh about 400 KB, too much to keep 1,000 of them in memory.
    """

    def __init__(self, repos: int, runs: int, base_url: str) -> None:
        self.repos, self.runs, self.base_url = repos, runs, base_url
        self.now = datetime.now(UTC).replace(microsecond=0)
        template = json.loads(RUN_EXAMPLE.read_text())["value"]["workflow_runs"][0]
        template.update({field: f"@{field}@" for field in RUN_FIELDS})
        # A run on the repository's own branch names the repository as its head repository too.
        self.repository = template["repository"]
        template["repository"] = template["head_repository"] = "@repository@"
        # Literal text and field names, alternating: a run is their join with its values.
        self.run_parts = re.split(r'"@(\w+)@"', json.dumps(template))
        self.etags: dict[str, tuple[str, dict]] = {}  # the stand-in's answers never change

    def etag(self, path: str, query: dict[str, str]) -> tuple[str, dict] | None:
        """The ETag and headers of an answer given before (so a 304 costs no building), or None."""
        return self.etags.get(f"{path}?{query.get('page', '1')}")

    def answer(self, path: str, query: dict[str, str]) -> tuple[bytes, str, dict] | None:
        built = self.build(path, query)
        if built is None:
            return None
        body, headers = built
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        etag = f'"{hashlib.sha1(data).hexdigest()}"'
        self.etags[f"{path}?{query.get('page', '1')}"] = (etag, headers)
        return data, etag, headers

    def build(self, path: str, query: dict[str, str]):
        if path == f"/orgs/{ORG}/repos":
            page, per_page = int(query.get("page", 1)), 100
            rows = [self.repo(n) for n in range((page - 1) * per_page, min(page * per_page, self.repos))]
            headers = {}
            if page * per_page < self.repos:
                headers["Link"] = f'<{self.base_url}{path}?per_page=100&page={page + 1}>; rel="next"'
            return rows, headers
        match = re.fullmatch(rf"/repos/{ORG}/repo-(\d+)/(.+)", path)
        if not match:
            return None
        n, rest = int(match[1]), match[2]
        if rest == "commits":
            when = (self.now - timedelta(days=1 + n % 30)).strftime("%Y-%m-%dT%H:%M:%SZ")
            person = {"name": f"Dev {n % 7}", "email": f"dev{n % 7}@example.com", "date": when}
            sha = hashlib.sha1(str(n).encode()).hexdigest()
            return [{"sha": sha, "commit": {"author": person, "committer": person}}], {}
        if rest == "contents/":
            return [{"type": "file", "name": "catalog-info.yaml", "path": "catalog-info.yaml"}], {}
        if rest == "contents/catalog-info.yaml":
            return self.file("catalog-info.yaml", DESCRIPTOR.format(n=n, team=n % 10)), {}
        if rest == "contents/.github/workflows/ci.yml":
            return self.file(".github/workflows/ci.yml", WORKFLOW.format(major=1 + n % 2)), {}
        if rest == "actions/workflows":
            workflow = {"id": 10_000 + n, "name": "CI", "path": ".github/workflows/ci.yml", "state": "active"}
            return {"total_count": 1, "workflows": [workflow]}, {}
        if rest == "actions/runs":
            own = {**self.repository, "id": 1_000_000 + n, "name": f"repo-{n:04d}"}
            own["full_name"] = f"{ORG}/repo-{n:04d}"
            own["html_url"] = f"https://github.com/{own['full_name']}"
            repository = json.dumps(own)
            runs = ",".join(self.run(n, i, repository) for i in range(self.runs))
            return f'{{"total_count": {self.runs}, "workflow_runs": [{runs}]}}'.encode(), {}
        return None

    def repo(self, n: int) -> dict:
        full = f"{ORG}/repo-{n:04d}"
        return {
            "id": 1_000_000 + n,
            "name": f"repo-{n:04d}",
            "full_name": full,
            "html_url": f"https://github.com/{full}",
            "default_branch": "main",
            "archived": False,
            "fork": False,
            "topics": ["ml"],
        }

    def file(self, path: str, text: str) -> dict:
        content = base64.b64encode(text.encode()).decode()
        return {"type": "file", "encoding": "base64", "path": path, "content": content}

    def run(self, n: int, i: int, repository: str) -> str:
        created = self.now - timedelta(hours=6 * i + n % 5)
        values = {
            "id": n * 1000 + i,
            "workflow_id": 10_000 + n,
            "run_number": self.runs - i,
            "status": "completed",
            "conclusion": "failure" if (n % 4 == 0 and i < 2) else "success",
            "head_branch": "main",
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "run_started_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "updated_at": (created + timedelta(minutes=8)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        values = {name: json.dumps(value) for name, value in values.items()}
        values["repository"] = repository
        return "".join(part if k % 2 == 0 else values[part] for k, part in enumerate(self.run_parts))


def serve(port_out, counts, repos: int, runs: int, delay: float) -> None:
    """Run the stand-in until killed; ``counts`` is [requests, 304s]; the port goes to ``port_out``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

        def do_GET(self):
            time.sleep(delay)
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            with counts.get_lock():
                counts[0] += 1
            known = stand_in.etag(parts.path, query)
            if known and self.headers.get("If-None-Match") == known[0]:
                with counts.get_lock():
                    counts[1] += 1
                self.reply(304, b"", {"ETag": known[0], **known[1]})
                return
            answer = stand_in.answer(parts.path, query)
            if answer is None:
                self.reply(404, b'{"message": "Not Found"}', {})
                return
            data, etag, headers = answer
            self.reply(200, data, {"ETag": etag, "Content-Type": "application/json", **headers})

        def reply(self, status: int, data: bytes, headers: dict) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stand_in = StandIn(repos, runs, f"http://127.0.0.1:{server.server_address[1]}")
    port_out.value = server.server_address[1]
    server.serve_forever()


# The portal's side


def django_with_fresh_database() -> None:
    """A new SQLite database in a temporary folder, its tables made from the current models."""
    os.environ["PORTAL_DATA_DIR"] = tempfile.mkdtemp(prefix="portal-bench-")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    settings.MIGRATION_MODULES = {"catalog": None}  # tables from the models, whatever migrations exist
    call_command("migrate", run_syncdb=True, verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repos", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--delay-ms", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    if not RUN_EXAMPLE.exists():
        sys.exit(f"{RUN_EXAMPLE} is missing: the benchmark needs the shared folder beside the checkout")

    port, counts = multiprocessing.Value("i", 0), multiprocessing.Array("l", 2)
    server = multiprocessing.Process(
        target=serve, args=(port, counts, args.repos, args.runs, args.delay_ms / 1000), daemon=True
    )
    server.start()
    while not port.value:
        time.sleep(0.01)

    django_with_fresh_database()
    from catalog.models import Pipeline, PipelineRun, Project, Repository, Source
    from catalog.sync import sync_source

    source = Source.objects.create(
        name="bench-github",
        kind="github",
        config={
            "org": ORG,
            "api_url": f"http://127.0.0.1:{port.value}",
            "runs": args.runs,
            "concurrency": args.concurrency,
        },
    )

    def sync() -> tuple[float, float, int, int]:
        """Wall and CPU seconds (this process: connector and database writes), requests and 304s."""
        before = list(counts)
        started, cpu = time.perf_counter(), time.process_time()
        run = sync_source(source)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        if run.status != "success":
            sys.exit(f"sync ended {run.status}: {run.errors[:3]}")
        return elapsed, cpu, counts[0] - before[0], counts[1] - before[1]

    full, cpu, requests, _ = sync()
    floor = requests * args.delay_ms / 1000 / args.concurrency
    if PipelineRun.objects.count() != args.repos * args.runs:  # a sync that kept less is not measured
        sys.exit(f"the sync kept {PipelineRun.objects.count()} runs, not {args.repos * args.runs}")
    print(
        f"catalog: {Repository.objects.count()} repositories, {Project.objects.count()} projects, "
        f"{Pipeline.objects.count()} pipelines, {PipelineRun.objects.count()} runs"
    )
    print(
        f"full sync: {full:.2f} s for {requests} requests; floor {floor:.2f} s "
        f"({requests} x {args.delay_ms:g} ms / {args.concurrency}); {full / floor:.2f}x the floor "
        f"(goal <= 2x: {'met' if full <= 2 * floor else 'NOT met'})"
    )
    # On a shared machine the wall time follows the load; the CPU time says what the sync itself costs.
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"  portal process CPU {cpu:.2f} s ({cpu / requests * 1000:.2f} ms a request); load average {load}")
    again, cpu2, requests2, not_modified = sync()
    share = not_modified / requests2 if requests2 else 0.0
    print(
        f"second sync, nothing changed: {again:.2f} s for {requests2} requests, {not_modified} answered 304 "
        f"({share:.1%}; goal >= 95%: {'met' if share >= 0.95 else 'NOT met'}); CPU {cpu2:.2f} s"
    )
    server.terminate()


if __name__ == "__main__":
    main()
