"""Benchmark: 5 scorecards x 10 checks over gen_catalog.py's 10,000 projects.

Loads the catalog as benchmarks/pages.py does (file source, repositories with seeded commit dates, rules
evaluated), reports a seeded ``coverage`` fact for 80% of the projects, loads 5 scorecards of 10 checks
(every check kind) from one YAML file, then evaluates them three times: the first run creates every
result, the second finds nothing changed, the third follows a change of 10% of the facts. Prints, per run
and scorecard, the seconds (wall, and this process's CPU: other processes on a shared machine only add
to the wall time) and the SQL queries. Goal: under 10 s for a run, a constant number of queries
per scorecard. Usage: python benchmarks/scorecards.py
"""

import random
import time
from datetime import UTC, datetime, timedelta

from _setup import django_with_fresh_database
from pages import UNKNOWN_OWNER_SHARE, load_catalog

CHECKS = [
    "{{id: owned, level: bronze, kind: has-owner}}",
    "{{id: declared, level: bronze, kind: has-descriptor}}",
    "{{id: known-owner, level: bronze, kind: rule, rule: owner-unknown}}",
    "{{id: lifecycle, level: silver, kind: lifecycle, in: [production, experimental]}}",
    "{{id: fresh, level: silver, kind: rule, rule: stale-code}}",
    "{{id: valid, level: silver, kind: rule, rule: invalid-descriptor}}",
    "{{id: coverage, level: gold, kind: fact, name: coverage, min: {coverage}}}",
    "{{id: green, level: gold, kind: ci-green, days: 7}}",
    "{{id: template, level: gold, kind: standard-template, templates: [ml/ci/.github/workflows/t.yml@v3]}}",
    "{{id: model, level: gold, kind: production-model, days: 90}}",
]


def scorecards_yaml(count: int) -> str:
    lines = ["scorecards:"]
    for i in range(count):
        lines += [f"  - name: card-{i}", "    levels: [bronze, silver, gold]", "    checks:"]
        lines += [f"      - {check.format(coverage=0.5 + i / 10)}" for check in CHECKS]
    return "\n".join(lines) + "\n"


def report_facts(share: float, seed: int) -> None:
    from catalog.models import Project, ProjectFact

    rng = random.Random(seed)
    now = datetime.now(UTC)
    pks = list(Project.objects.values_list("pk", flat=True))
    ProjectFact.objects.bulk_create(
        [
            ProjectFact(
                project_id=pk, name="coverage", number=rng.random(), observed_at=now - timedelta(hours=seed)
            )
            for pk in rng.sample(pks, int(len(pks) * share))
        ],
        batch_size=1000,
    )


def run(label: str) -> None:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from catalog.models import Scorecard
    from catalog.scorecards.checks import CheckContext
    from catalog.scorecards.evaluate import evaluate_scorecard, scored_projects

    total, total_cpu = time.perf_counter(), time.process_time()
    with CaptureQueriesContext(connection) as queries:
        context = CheckContext(projects=scored_projects(), now=datetime.now(UTC))
    loaded = time.perf_counter() - total
    print(f"{label}: {len(context.projects)} projects loaded in {loaded:.2f} s, {len(queries)} queries")
    for scorecard in Scorecard.objects.order_by("name"):
        start, cpu = time.perf_counter(), time.process_time()
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            outcome = evaluate_scorecard(scorecard, context)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(
            f"  {scorecard.name}: {wall:6.2f} s (CPU {cpu:5.2f} s) {len(queries):3d} queries  "
            f"created {outcome.created:6d} changed {outcome.changed:5d}  "
            f"levels {dict(sorted(outcome.levels.items()))}"
        )
    # CPU seconds of this process: what other processes on a shared machine add to the wall time is not in it
    print(f"  total {time.perf_counter() - total:.2f} s (CPU {time.process_time() - total_cpu:.2f} s)")


def main() -> None:
    data_dir = django_with_fresh_database()
    from django.db import connection

    from catalog.scorecards.spec import load_scorecards

    load_catalog(data_dir, unknown_owner_share=UNKNOWN_OWNER_SHARE)
    report_facts(0.8, seed=1)
    load_scorecards(scorecards_yaml(5), "bench-scorecards.yaml")
    print(f"database: {connection.vendor}; 5 scorecards x {len(CHECKS)} checks")
    run("first run (creates every result)")
    run("second run (nothing changed)")
    report_facts(0.1, seed=0)  # newer facts for 10% of the projects
    run("third run (10% of the facts changed)")
    print("goal: under 10 s per run, a constant number of queries per scorecard")


if __name__ == "__main__":
    main()
