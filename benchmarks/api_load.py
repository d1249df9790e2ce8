"""Benchmark (d): the REST API's project list under load, from a second process.

Loads gen_catalog.py's catalog (10,000 projects, 200 teams) into a fresh SQLite database through the file
source, gives each project a repository and evaluates the rules (so the list has nested data and findings),
makes a staff user and a service token, starts gunicorn with 2 workers on 127.0.0.1 and runs wrk
(10 connections, 20 s) against ``GET /api/v1/projects/?limit=50`` (with its total count) and the same
filtered by the manifest's median owner, sending the token. Prints requests per second, p99 latency and
errors for each.
Needs wrk (``apt-get install -y wrk``; installed here when missing and running as root).
Usage: python benchmarks/api_load.py [--duration SECONDS]
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from _setup import ROOT, django_with_fresh_database, load_catalog

CONNECTIONS = 10
WORKERS = 2
GOAL_RPS, GOAL_P99_MS = 300, 100


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk...")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"], env=env, capture_output=True
        ).returncode:
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, check=True)
            subprocess.run(
                ["apt-get", "install", "-y", "-qq", "wrk"], env=env, capture_output=True, check=True
            )
        return shutil.which("wrk") or sys.exit("wrk could not be installed")
    sys.exit("wrk is missing: apt-get install -y wrk")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, token: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def start_gunicorn(port: int) -> subprocess.Popen:
    """gunicorn as production runs it (``portal/gunicorn.py``), with 2 workers on 127.0.0.1:``port``."""
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(WORKERS),
        "CONN_MAX_AGE": "60",  # as .env.example sets it for production
        "LOG_LEVEL": "WARNING",
    }
    gunicorn = str(ROOT / ".venv" / "bin" / "gunicorn")
    return subprocess.Popen(
        [gunicorn, "--config", "python:portal.gunicorn", "portal.wsgi"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )


def wait_ready(url: str, token: str, server: subprocess.Popen) -> None:
    for _ in range(100):
        if server.poll() is not None:
            sys.exit(f"gunicorn exited with {server.returncode}")
        try:
            get(url, token)
            return
        except OSError:
            time.sleep(0.2)
    sys.exit("gunicorn did not answer within 20 s")


def run_wrk(wrk: str, url: str, token: str, duration: int) -> dict:
    """wrk's figures for ``url``: requests/s, p99 in ms, non-2xx answers and socket errors."""
    out = subprocess.run(
        [
            wrk,
            "-t2",
            f"-c{CONNECTIONS}",
            f"-d{duration}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    factor = {"us": 0.001, "ms": 1, "s": 1000}
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),
        "requests": int(re.search(r"(\d+) requests in", out)[1]),
        "p99_ms": float(p99[1]) * factor[p99[2]],
        "errors": (int(non_2xx[1]) if non_2xx else 0)
        + (sum(map(int, socket_errors.groups())) if socket_errors else 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds of load per URL (default 20)")
    args = parser.parse_args()
    wrk = ensure_wrk()
    data_dir = django_with_fresh_database()
    from django.contrib.auth import get_user_model

    from catalog.models import APIToken, Finding, Project

    load_catalog(data_dir)
    manifest = json.loads((data_dir / "catalog" / "manifest.json").read_text())
    owner = manifest["median_owner"]
    staff = get_user_model().objects.create_user("bench", is_staff=True)
    _, token = APIToken.objects.issue(staff, "benchmark", kind=APIToken.Kind.SERVICE)
    open_findings = Finding.objects.filter(resolved_at=None).count()
    print(
        f"catalog: {Project.objects.count()} projects, {open_findings} open findings; "
        f"median owner {owner['ref']} ({owner['count']} projects)"
    )

    port = free_port()
    base = f"http://127.0.0.1:{port}/api/v1/projects/?limit=50"
    urls = [
        ("projects, first page of 50", base),
        ("projects of the median owner", f"{base}&owner={owner['ref']}"),
    ]
    print(f"gunicorn {WORKERS} workers, wrk {CONNECTIONS} connections, {args.duration} s per URL")
    header = f"{'count':>6} {'req/s':>8} {'p99 ms':>8} {'errors':>7} {'requests':>9}"
    print(f"{'GET /api/v1/projects/?limit=50':34} {header}")
    for label, url in urls:
        # A fresh server per URL: portal/gunicorn.py replaces a worker after about 5,000 requests, and that
        # restart (a second or so) would land in whichever run crossed it.
        server = start_gunicorn(port)
        try:
            wait_ready(base, token, server)
            page = get(url, token)
            expected = owner["count"] if "owner=" in url else manifest["components"]
            assert page["count"] == expected, f"{url}: {page['count']} projects, expected {expected}"
            assert len(page["results"]) == min(50, expected), url
            for _ in range(10 * WORKERS):  # every worker loads its code and opens its connection
                get(url, token)
            figures = run_wrk(wrk, url, token, args.duration)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        print(
            f"{label:34} {page['count']:6d} {figures['rps']:8.0f} {figures['p99_ms']:8.1f} "
            f"{figures['errors']:7d} {figures['requests']:9d}"
        )
    print(f"goal: at least {GOAL_RPS} requests/s, p99 under {GOAL_P99_MS} ms, no errors")
    print("a real Backstage catalog backend, same data and machine: 22-30 requests/s, p99 about 960 ms")
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
