"""Shared set-up for the benchmarks: a fresh SQLite database in a temporary folder, migrated."""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GEN_CATALOG = ROOT.parent / "shared" / "bench" / "gen_catalog.py"


def django_with_fresh_database() -> Path:
    """Point the portal at a new data folder (SQLite, eager Celery), set Django up and migrate; return it."""
    data_dir = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    os.environ["PORTAL_DATA_DIR"] = str(data_dir)
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"  # Django's test client is "testserver"
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return data_dir


def generate_catalog(out: Path) -> Path:
    """Write ../shared/bench/gen_catalog.py's catalog (seed 42) into ``out``; return its all.yaml."""
    import subprocess

    if not GEN_CATALOG.exists():
        sys.exit(f"{GEN_CATALOG} is missing: the benchmarks need the shared folder beside the checkout")
    subprocess.run([sys.executable, str(GEN_CATALOG), str(out)], check=True, capture_output=True)
    return out / "all.yaml"


def load_catalog(data_dir: Path, *, unknown_owner_share: float = 0.0) -> None:
    """The file source's sync of gen_catalog.py's catalog (10,000 projects, 200 teams), a repository per
    project with a seeded last commit (0 to 400 days old, so `stale-code` has work to do), the owners of
    ``unknown_owner_share`` of the projects pointed at a team that does not exist, then the rules."""
    import random
    from datetime import UTC, datetime, timedelta

    from catalog.models import Project, Repository, Source
    from catalog.rules.evaluate import evaluate_rules
    from catalog.sync import sync_source

    location = generate_catalog(data_dir / "catalog")
    source = Source.objects.create(name="bench", kind=Source.Kind.FILE, config={"paths": [str(location)]})
    sync_source(source)
    rng = random.Random(42)
    now = datetime.now(UTC)
    projects = list(Project.objects.order_by("pk"))
    repositories = Repository.objects.bulk_create(
        [
            Repository(
                source=source,
                external_id=f"acme-ml/{p.name}",
                url=f"https://github.com/acme-ml/{p.name}",
                name=p.name,
                default_branch="main",
                last_commit_sha=f"{rng.getrandbits(160):040x}",
                last_commit_at=now - timedelta(days=rng.randint(0, 400)),
                last_commit_author_name="Ada",
                commits_in_window=rng.randint(0, 60),
            )
            for p in projects
        ],
        batch_size=500,
    )
    for project, repository in zip(projects, repositories, strict=True):
        project.repository = repository
    Project.objects.bulk_update(projects, ["repository"], batch_size=500)
    unknown = rng.sample(projects, int(len(projects) * unknown_owner_share))
    gone = {"owner_ref": "group:default/gone", "owner_team": None}
    Project.objects.filter(pk__in=[p.pk for p in unknown]).update(**gone)
    evaluate_rules()
