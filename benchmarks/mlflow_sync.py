"""Benchmark (d): sync a real MLflow server's registry, next to the bare REST calls that sync makes.

Seeds ``--models`` registered models with ``--versions`` versions each through the REST API of a real
MLflow server (each version from a finished run with git tags and two metrics; aliases ``champion`` and
``challenger`` on each model). Seeding takes minutes at full size, so the seeded SQLite file is kept in
``--cache`` (default: a folder in the system's temp dir), keyed by the sizes, and reused next time.

Then, against a server started on a copy of it, prints for each round the time of the bare REST calls a
sync makes (the same GETs, as many at once, plain httpx: no parsing, no database) and the time of
``sync_source`` (connector and database writes): the first sync creates every row, the next ones find
them unchanged. The goal: a sync under 1.5x its bare calls. Each round also prints the CPU time this
process spent (parsing and database writes show there, apart from the server's own time).

Needs the ``mlflow`` executable of a full install (``MLFLOW_SERVER_BIN``, default ``.venv-mlflow/bin/mlflow``;
``PORTAL_TEST_MLFLOW=1 scripts/test.sh`` installs it). Usage:
    python benchmarks/mlflow_sync.py [--models 2000] [--versions 10] [--rounds 2] [--seed-workers 8]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from _setup import ROOT, django_with_fresh_database

SEED_FORMAT = 1  # bump when the seeded data changes, so old cached files are not reused
STARTUP_TIMEOUT = 120
API = "/api/2.0/mlflow/"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``mlflow server`` on ``database`` (SQLite), stopped with its whole process group."""

    def __init__(self, binary: str, database: Path, workdir: Path, workers: int = 1) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        self.log = workdir / "mlflow-server.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [
                    binary,
                    "server",
                    "--backend-store-uri",
                    f"sqlite:///{database}",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    port,
                    "--workers",
                    str(workers),
                ],
                cwd=workdir,
                env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"mlflow server did not start:\n{self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.25)

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)


def seed(url: str, models: int, versions: int, workers: int) -> None:
    """Register the models, runs and versions through the REST API, ``workers`` models at a time."""
    client = httpx.Client(base_url=url + API, timeout=120, limits=httpx.Limits(max_connections=workers))
    millis = int(time.time() * 1000)

    def post(path: str, body: dict) -> dict:
        for attempt in range(5):
            response = client.post(path, json=body)
            if response.status_code < 500:
                break
            time.sleep(0.2 * 2**attempt)  # SQLite busy under concurrent writes: try again
        response.raise_for_status()
        return response.json()

    def one_model(m: int) -> None:
        name = f"model-{m:05d}"
        tags = [{"key": "team", "value": f"team-{m % 20}"}]
        if m % 3 == 1:
            tags.append({"key": "portal.project", "value": f"project-{m:05d}"})
        post("registered-models/create", {"name": name, "description": f"Model {m}", "tags": tags})
        repo = f"git@github.com:acme/project-{m:05d}.git"
        for v in range(versions):
            started = millis - (versions - v) * 86_400_000
            run_tags = [
                {"key": "mlflow.source.git.repoURL", "value": repo},
                {"key": "mlflow.source.git.commit", "value": f"{m:08x}{v:032x}"},
            ]
            body = {"experiment_id": "0", "start_time": started, "tags": run_tags}
            run_id = post("runs/create", body)["run"]["info"]["run_id"]
            metrics = [
                {"key": "auc", "value": 0.8 + v / 100, "timestamp": started, "step": 0},
                {"key": "loss", "value": 0.5 - v / 100, "timestamp": started, "step": 0},
            ]
            post("runs/log-batch", {"run_id": run_id, "metrics": metrics})
            post("runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": started + 60_000})
            post("model-versions/create", {"name": name, "source": f"runs:/{run_id}/model", "run_id": run_id})
        post(
            "registered-models/alias",
            {"name": name, "alias": "champion", "version": str(max(1, versions - 1))},
        )
        post("registered-models/alias", {"name": name, "alias": "challenger", "version": str(versions)})

    started = time.perf_counter()
    done = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(one_model, range(models)):
            done += 1
            if done % max(1, models // 20) == 0:
                print(f"  seeded {done}/{models} models ({time.perf_counter() - started:.0f} s)", flush=True)
    client.close()


def seeded_database(binary: str, args, workdir: Path) -> Path:
    """The cached seeded SQLite file for these sizes, made first if it is not there."""
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    cached = cache / f"mlflow-m{args.models}-v{args.versions}-f{SEED_FORMAT}.db"
    if cached.exists():
        print(f"Seeded registry: {cached} (cached)")
        return cached
    print(f"Seeding {args.models} models x {args.versions} versions through the REST API (once; cached)...")
    scratch = workdir / "seeding.db"
    server = Server(binary, scratch, workdir, workers=args.seed_server_workers)
    started = time.perf_counter()
    try:
        seed(server.url, args.models, args.versions, args.seed_workers)
    finally:
        server.stop()
    print(f"Seeded in {time.perf_counter() - started:.0f} s")
    shutil.copyfile(scratch, cached.with_suffix(".tmp"))
    os.replace(cached.with_suffix(".tmp"), cached)
    return cached


def bare_calls(url: str, workers: int) -> tuple[float, int]:
    """The GETs a sync makes, with plain httpx and as many at once as the connector: (seconds, requests)."""
    from catalog.connectors.mlflow import MODELS_PAGE_SIZE, VERSIONS_PAGE_SIZE, _name_filter

    client = httpx.Client(base_url=url + API, timeout=60, limits=httpx.Limits(max_connections=64))
    count = 0
    started = time.perf_counter()
    names, token = [], ""
    while True:
        params = {"max_results": MODELS_PAGE_SIZE, **({"page_token": token} if token else {})}
        body = client.get("registered-models/search", params=params).json()
        count += 1
        names += [m["name"] for m in body.get("registered_models", [])]
        token = body.get("next_page_token")
        if not token:
            break

    def versions(name: str) -> list[str]:
        params = {"filter": _name_filter(name), "max_results": VERSIONS_PAGE_SIZE}
        return [
            v["run_id"] for v in client.get("model-versions/search", params=params).json()["model_versions"]
        ]

    def run(run_id: str) -> None:
        client.get("runs/get", params={"run_id": run_id}).raise_for_status()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        run_ids = sorted({r for found in pool.map(versions, names) for r in found if r})
        list(pool.map(run, run_ids))
    elapsed = time.perf_counter() - started
    client.close()
    return elapsed, count + len(names) + len(run_ids)


def make_projects(models: int) -> None:
    """A project per model (every third named in an annotation, every third by the model's tag, the rest
    through their repository), so that linking has its full work to do."""
    from catalog.models import Project, Repository, Source

    git = Source.objects.create(name="repos", kind=Source.Kind.GIT)
    repositories = Repository.objects.bulk_create(
        Repository(
            source=git,
            external_id=f"https://github.com/acme/project-{m:05d}",
            url=f"https://github.com/acme/project-{m:05d}",
            name=f"project-{m:05d}",
            default_branch="main",
        )
        for m in range(models)
    )
    Project.objects.bulk_create(
        Project(
            name=f"project-{m:05d}",
            source=git,
            repository=repositories[m],
            type="ml-model",
            lifecycle="production",
            annotations={"mlflow.org/registered-models": f"model-{m:05d}"} if m % 3 == 0 else {},
        )
        for m in range(models)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=2000)
    parser.add_argument("--versions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2, help="bare calls + sync, this many times")
    parser.add_argument("--seed-workers", type=int, default=8, help="models registered at once")
    parser.add_argument("--seed-server-workers", type=int, default=1, help="server processes while seeding")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "portal-mlflow-bench"))
    args = parser.parse_args()
    binary = os.environ.get("MLFLOW_SERVER_BIN") or str(ROOT / ".venv-mlflow" / "bin" / "mlflow")
    if not Path(binary).exists():
        raise SystemExit(
            f"no mlflow at {binary}: set MLFLOW_SERVER_BIN (PORTAL_TEST_MLFLOW=1 scripts/test.sh)"
        )

    data_dir = django_with_fresh_database()
    from catalog.connectors.mlflow import MLflowConfig
    from catalog.models import ModelVersion, RegisteredModel, Source, SyncRun
    from catalog.sync import sync_source

    database = seeded_database(binary, args, data_dir)
    copy = data_dir / "mlflow.db"
    shutil.copyfile(database, copy)
    make_projects(args.models)
    server = Server(binary, copy, data_dir)
    workers = MLflowConfig.model_fields["workers"].default
    source = Source.objects.create(
        name="mlflow", kind=Source.Kind.MLFLOW, config={"tracking_uri": server.url}
    )
    bare, syncs, cpu = [], [], []
    try:
        bare_calls(server.url, workers)  # warm the server (its imports, SQLite's page cache) once
        for round_ in range(args.rounds):
            cpu_started = time.process_time()
            seconds, requests = bare_calls(server.url, workers)
            bare.append(seconds)
            cpu_bare = time.process_time() - cpu_started
            started, cpu_started = time.perf_counter(), time.process_time()
            run = sync_source(source)
            syncs.append(time.perf_counter() - started)
            cpu.append((cpu_bare, time.process_time() - cpu_started))
            if run.status != SyncRun.Status.SUCCESS:
                raise SystemExit(f"sync {run.status}: {run.errors[:3]}")
            print(
                f"round {round_ + 1}: bare REST calls {seconds:.1f} s ({requests} requests), "
                f"sync {syncs[-1]:.1f} s (created {run.created}, updated {run.updated}, "
                f"unchanged {run.unchanged}) -> {syncs[-1] / seconds:.2f}x; "
                f"CPU of this process: bare {cpu[-1][0]:.1f} s, sync {cpu[-1][1]:.1f} s"
            )
    finally:
        server.stop()
    linked = RegisteredModel.objects.filter(project__isnull=False).count()
    print(
        f"\n{RegisteredModel.objects.count()} registered models ({linked} linked to a project), "
        f"{ModelVersion.objects.count()} versions, {workers} requests in flight"
    )
    print(f"bare REST calls: median {statistics.median(bare):.1f} s")
    print(f"first sync (creates every row): {syncs[0]:.1f} s -> {syncs[0] / bare[0]:.2f}x its bare calls")
    if len(syncs) > 1:
        again = statistics.median(syncs[1:])
        print(f"later syncs (unchanged): median {again:.1f} s -> {again / statistics.median(bare[1:]):.2f}x")


if __name__ == "__main__":
    main()
