"""Benchmark (a): import gen_catalog.py's 10,200 Backstage entities behind one Location.

Read through the same path as a repository's descriptors (the `file` source: load_tree, then the sync),
into SQLite. Prints entities per second for the first import and for a second, unchanged one.
Usage: python benchmarks/import_catalog.py
"""

import time

from _setup import django_with_fresh_database, generate_catalog


def main() -> None:
    data_dir = django_with_fresh_database()
    from catalog.models import Person, Project, Source, Team
    from catalog.sync import sync_source

    location = generate_catalog(data_dir / "catalog")
    source = Source.objects.create(name="bench", kind=Source.Kind.FILE, config={"paths": [str(location)]})
    for label in ("first import", "second import (nothing changed)"):
        start = time.perf_counter()
        run = sync_source(source)
        seconds = time.perf_counter() - start
        entities = run.created + run.updated + run.unchanged
        print(
            f"{label}: {entities} entities in {seconds:.2f} s = {entities / seconds:,.0f} entities/s "
            f"(created {run.created}, updated {run.updated}, unchanged {run.unchanged}, failed {run.failed})"
        )
    print(
        f"catalog: {Project.objects.count()} projects, {Team.objects.count()} teams, "
        f"{Person.objects.count()} people"
    )
    print("goal: at least 1,000 entities/s; a real Backstage catalog backend: about 36 entities/s (276 s)")


if __name__ == "__main__":
    main()
