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
