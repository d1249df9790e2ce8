"""Benchmark: the maintenance view under load, as deployed: PostgreSQL, gunicorn with 2 workers, wrk.

Loads gen_catalog.py's catalog (10,000 projects, 200 teams) with findings into a fresh PostgreSQL database
(as benchmarks/pages.py does: the file source, a repository per project with a seeded last commit, 3% of
the owners unknown, then the rules), signs a user in, starts gunicorn with docker-compose.yml's command
(``WEB_CONCURRENCY=2``, JSON request logs to a file) and runs wrk with 50 connections for 60 s on the
maintenance view with the session cookie. Prints requests per second, the latency percentiles, and the
errors (socket errors, non-2xx answers). Goal: no error.

Usage: python benchmarks/load_maintenance.py [--duration 60] [--connections 50] [--url /]
Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/portal_load, dropped and made
again), WRK (default wrk: ``apt-get install -y wrk``).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_load"


def recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(database_url: str, data_dir: Path) -> None:
    os.environ.update(
        DATABASE_URL=database_url,
        PORTAL_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="portal.settings",
        LOG_LEVEL="WARNING",
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
    )
    os.environ.pop("CELERY_BROKER_URL", None)
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import django
    from django.apps import apps
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    # The tables the models declare, as the test suite makes them (pytest --no-migrations).
    settings.MIGRATION_MODULES = {config.label: None for config in apps.get_app_configs()}
    call_command("migrate", run_syncdb=True, verbosity=0)


def session_cookie() -> str:
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.create_user("load"))
    return client.cookies["sessionid"].value


def web_command() -> list[str]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    argv = shlex.split(compose["services"]["web"]["command"])
    return [str(Path(sys.executable).parent / argv[0]), *argv[1:]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, cookie: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            request = urllib.request.Request(url, headers={"Cookie": f"sessionid={cookie}"})
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def parse_wrk(output: str) -> dict[str, str]:
    found = {"requests_per_second": re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)}
    for percent in ("50", "75", "90", "99"):
        match = re.search(rf"^\s+{percent}%\s+(\S+)", output, re.MULTILINE)
        found[f"p{percent}"] = match.group(1) if match else "?"
    total = re.search(r"(\d+) requests in ([\d.]+\w+)", output)
    found["requests"], found["elapsed"] = total.group(1), total.group(2)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    found["socket_errors"] = socket_errors.group(1) if socket_errors else "none"
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    found["non_2xx"] = non_2xx.group(1) if non_2xx else "0"
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=60, help="seconds of load")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--url", default="/", help="the page under load (default: the maintenance view)")
    args = parser.parse_args()
    wrk = shutil.which(os.environ.get("WRK", "wrk"))
    if wrk is None:
        sys.exit("wrk is missing: apt-get install -y wrk")

    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    data_dir = Path(tempfile.mkdtemp(prefix="portal-load-"))
    recreate_database(database_url)
    setup_django(database_url, data_dir)
    from pages import UNKNOWN_OWNER_SHARE, load_catalog

    from catalog.models import Finding, Project

    started = time.perf_counter()
    load_catalog(data_dir, unknown_owner_share=UNKNOWN_OWNER_SHARE)
    print(
        f"catalog: {Project.objects.count()} projects, {Finding.objects.filter(resolved_at=None).count()} "
        f"open findings (loaded in {time.perf_counter() - started:.0f} s)"
    )
    cookie = session_cookie()
    from django.db import connection, connections

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # the planner's statistics, as autovacuum keeps them in production
    connections.close_all()

    port = free_port()
    env = {
        **os.environ,
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CONN_MAX_AGE": "60",
    }
    log = data_dir / "gunicorn.log"
    with log.open("w") as out:
        web = subprocess.Popen(
            [*web_command(), f"--bind=127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}{args.url}"
    try:
        page = wait_for(url, cookie)
        if "maintenance-list" not in page:
            sys.exit(f"{url} did not answer the maintenance view (signed in?); see {log}")
        for _ in range(5):
            wait_for(url, cookie)  # warm both workers' connections and caches
        command = [
            wrk,
            "--threads=2",
            f"--connections={args.connections}",
            f"--duration={args.duration}s",
            "--timeout=30s",
            "--latency",
            f"--header=Cookie: sessionid={cookie}",
            url,
        ]
        print(f"load: {' '.join(command[:5])} (gunicorn, 2 workers, PostgreSQL) on {args.url}")
        result = subprocess.run(command, capture_output=True, text=True, check=True)
    finally:
        web.terminate()
        web.wait(timeout=30)
    figures = parse_wrk(result.stdout)
    served = sum(1 for line in log.read_text().splitlines() if '"logger": "portal.request"' in line)
    errors = sum(1 for line in log.read_text().splitlines() if '"level": "ERROR"' in line)
    print(result.stdout.rstrip())
    print(
        f"requests/s {figures['requests_per_second']}  p50 {figures['p50']}  p90 {figures['p90']}  "
        f"p99 {figures['p99']}  requests {figures['requests']} in {figures['elapsed']}"
    )
    print(
        f"errors: socket {figures['socket_errors']}, non-2xx/3xx {figures['non_2xx']}, "
        f"server errors logged {errors} ({served} requests logged)"
    )
    print("goal: no error")


if __name__ == "__main__":
    main()
