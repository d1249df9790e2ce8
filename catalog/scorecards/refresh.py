"""What runs after each evaluation of the rules: the maintenance burden, then the scorecards."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from catalog.burden import update_burden
from catalog.scorecards.evaluate import ScorecardOutcome, evaluate_scorecards
from catalog.scorecards.spec import ScorecardFileError, load_scorecards

logger = logging.getLogger(__name__)


def load_scorecards_file(path: str | Path) -> None:
    """Load the scorecards file at ``path``; raises ScorecardFileError (nothing written) or OSError."""
    path = Path(path)
    load_scorecards(path.read_text(encoding="utf-8"), str(path))


def after_rules(*, now: datetime | None = None) -> dict[str, ScorecardOutcome]:
    """Reload ``PORTAL["SCORECARDS_FILE"]`` when set (a bad file is logged and the stored scorecards kept),
    update every project's burden, then evaluate the scorecards; returns their outcomes."""
    now = now or datetime.now(UTC)
    path = settings.PORTAL.get("SCORECARDS_FILE")
    if path:
        try:
            load_scorecards_file(path)
        except (ScorecardFileError, OSError) as error:
            logger.error("scorecards file %s not loaded, the stored scorecards are kept: %s", path, error)
    update_burden(now=now)
    return evaluate_scorecards(now=now)
