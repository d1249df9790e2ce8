"""What runs after each evaluation of the rules: the maintenance burden, then the scorecards."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from catalog.burden import update_burden
from catalog.scorecards.evaluate import ScorecardOutcome, evaluate_scorecards
from catalog.scorecards.spec import ScorecardFileError, decode_scorecards, load_scorecards

logger = logging.getLogger(__name__)


def read_scorecards_file(path: str | Path) -> str:
    """The text of the scorecards file at ``path``; raises OSError when it cannot be read and
    ScorecardFileError naming the file and line when it is not UTF-8 text."""
    return decode_scorecards(Path(path).read_bytes(), str(path))


def load_scorecards_file(path: str | Path) -> None:
    """Load the scorecards file at ``path``; raises ScorecardFileError (nothing written) or OSError."""
    load_scorecards(read_scorecards_file(path), str(path))


def after_rules(
    *, now: datetime | None = None, report: Callable[[str], object] | None = None
) -> dict[str, ScorecardOutcome]:
    """Reload ``PORTAL["SCORECARDS_FILE"]`` when set (a bad file is logged, passed to ``report`` when
    given, and the stored scorecards kept), update every project's burden, then evaluate the scorecards;
    returns their outcomes."""
    now = now or datetime.now(UTC)
    path = settings.PORTAL.get("SCORECARDS_FILE")
    if path:
        try:
            load_scorecards_file(path)
        except (ScorecardFileError, OSError) as error:
            logger.error("scorecards file %s not loaded, the stored scorecards are kept: %s", path, error)
            if report is not None:
                report(f"scorecards file {path} not loaded, the stored scorecards are kept:\n{error}")
    update_burden(now=now)
    return evaluate_scorecards(now=now)
