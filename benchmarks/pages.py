"""Benchmark (b): server time and query count of the maintenance view and the project list.

Loads gen_catalog.py's catalog (10,000 projects, 200 teams) through the file source, gives each project a
repository with a seeded last-commit date (so `stale-code` has work to do) and points 3% of the owners at
unknown teams, evaluates the rules, then requests each page 30 times through Django's test client as a
signed-in user. Prints the median and p95 in milliseconds and the number of SQL queries per request.
Usage: python benchmarks/pages.py
"""

import statistics
import time

from _setup import django_with_fresh_database, load_catalog

UNKNOWN_OWNER_SHARE = 0.03  # of the projects, owned by a team that does not exist
REQUESTS = 30


def measure(client, url: str) -> tuple[float, float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm up
    times = []
    for _ in range(REQUESTS):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], len(queries), len(response.content)


def main() -> None:
    data_dir = django_with_fresh_database()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from catalog.models import Finding, Project

    load_catalog(data_dir, unknown_owner_share=UNKNOWN_OWNER_SHARE)
    print(
        f"catalog: {Project.objects.count()} projects, "
        f"{Finding.objects.filter(resolved_at=None).count()} open findings"
    )
    client = Client()
    client.force_login(get_user_model().objects.create_user("bench"))
    team = Project.objects.exclude(owner_team=None).values_list("owner_team__name", flat=True).first()
    pages = [
        ("maintenance view", "/"),
        ("maintenance view, page 10", "/?page=10"),
        ("maintenance view, team filter", f"/?team={team}"),
        ("maintenance view, rule + severity", "/?rule=stale-code&severity=20"),
        ("maintenance view, htmx partial", "/?lifecycle=production"),
        ("project list", "/projects/"),
        ("project list, search", "/projects/?q=fraud"),
        ("project list, sorted by last commit", "/projects/?sort=-last_commit"),
    ]
    print(f"{'page':40} {'median ms':>10} {'p95 ms':>8} {'queries':>8} {'KiB':>6}")
    for label, url in pages:
        if "htmx" in label:
            client.defaults["HTTP_HX_REQUEST"] = "true"
        median, p95, queries, size = measure(client, url)
        client.defaults.pop("HTTP_HX_REQUEST", None)
        print(f"{label:40} {median:10.1f} {p95:8.1f} {queries:8d} {size / 1024:6.0f}")
    print("goal: under 150 ms median for the maintenance view and the project list on SQLite")


if __name__ == "__main__":
    main()
