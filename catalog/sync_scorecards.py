"""Scorecards file records -> scorecards: the scorecards step of the sync.

A source names the repository that holds the organisation's scorecards (``scorecards_repository``, and
``scorecards_path``, default ``.portal/scorecards.yaml``); its connector reads that file from the default
branch into ``RepositoryRecord.scorecards``. This step loads it as ``manage.py scorecards --file`` does
(``catalog.scorecards.spec.load_scorecards``): a valid file creates and updates its scorecards, which are
then read-only in the admin; a file that is missing, unreadable or invalid changes nothing, and each of
its errors (``location:line: where: what``) is one error of the sync run. A repository that failed to
read keeps its scorecards too.
"""

from __future__ import annotations

from catalog.connectors.records import SourceSnapshot
from catalog.scorecards.spec import ScorecardFileError, load_scorecards


def write_scorecards(tally, snapshot: SourceSnapshot) -> None:
    """Load the scorecards files of ``snapshot``'s repositories; count scorecards on ``tally`` (a
    ``catalog.sync.Tally``) as created, updated or unchanged, and each error of a file as a failure."""
    for record in snapshot.repositories:
        found = record.scorecards
        if record.error or found is None:
            continue
        if found.error:
            tally.fail(
                found.location, f"scorecards file not loaded, the stored scorecards are kept: {found.error}"
            )
            continue
        try:
            result = load_scorecards(found.text, found.location)
        except ScorecardFileError as error:
            for line in error.errors:
                tally.fail(found.location, f"{line} (the stored scorecards are kept)")
            continue
        for name in result.created:
            tally.note("created", "scorecard", name)
        for name in result.updated:
            tally.note("updated", "scorecard", name)
        tally.unchanged += len(result.unchanged)
