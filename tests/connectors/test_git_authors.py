"""The git connector's authorship window (``authors``, ``authors_days``) next to its activity window."""

from __future__ import annotations

from datetime import timedelta

import pytest

from catalog.connectors import git as git_connector
from catalog.connectors.git import parse_config
from catalog.connectors.records import Author
from tests.connectors.test_git import (  # noqa: F401 (history_repo is a fixture)
    NOW,
    commit,
    git,
    history_repo,
    init,
    log_count,
    read_one,
)


@pytest.mark.parametrize("walk_limit", [24, 3, 0], ids=["cat-file walk", "walk then git log", "git log"])
def test_authors_cover_180_days_by_default_and_the_window_stays_90(
    history_repo,  # noqa: F811
    tmp_path,
    monkeypatch,
    walk_limit,
):
    monkeypatch.setattr(git_connector, "WALK_LIMIT", walk_limit)
    repo, _ = history_repo

    record = read_one(repo, tmp_path)

    assert record.authors_days == 180
    # 11 commits in 180 days (the one 200 days old is out), as git log --since counts them.
    assert sum(a.commits for a in record.authors) == 11 == log_count(repo, NOW - timedelta(days=180))
    assert record.authors == (
        Author("Alice Smith", "alice@example.com", 4),  # 120, 80, 60 (ALICE@Example.com) and 10 days ago
        Author("Bob", "bob@example.com", 3),
        Author("Carol", "carol@example.com", 1),
        Author("Dave", "dave@example.com", 1),
        Author("Erin", "erin@example.com", 1),
        Author("Frank", "frank@example.com", 1),
    )
    assert record.commits_in_window == 10  # the 90-day window is unchanged
    assert [a.commits for a in record.top_authors] == [3, 3, 1, 1, 1]


@pytest.mark.parametrize("walk_limit", [24, 0], ids=["cat-file walk", "git log"])
def test_authors_window_shorter_than_the_activity_window(history_repo, tmp_path, monkeypatch, walk_limit):  # noqa: F811
    monkeypatch.setattr(git_connector, "WALK_LIMIT", walk_limit)
    repo, _ = history_repo

    record = read_one(repo, tmp_path, authors_days=25)

    assert record.authors_days == 25
    assert record.authors == (
        Author("Alice Smith", "alice@example.com", 1),
        Author("Bob", "bob@example.com", 1),
        Author("Erin", "erin@example.com", 1),
    )
    assert record.commits_in_window == 10


def test_authors_days_is_validated():
    assert parse_config({"authors_days": 365}).authors_days == 365
    with pytest.raises(ValueError, match="'authors_days' must be an integer >= 1, not 0"):
        parse_config({"authors_days": 0})


@pytest.mark.parametrize("walk_limit", [24, 0], ids=["cat-file walk", "git log"])
def test_both_windows_count_as_git_log_across_merges_and_skewed_clocks(tmp_path, monkeypatch, walk_limit):
    """A commit dated before a window's start hides its parents from that window only."""
    monkeypatch.setattr(git_connector, "WALK_LIMIT", walk_limit)
    repo = init(tmp_path / "merges")
    commit(repo, days_ago=200)
    commit(repo, days_ago=150)
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, {"f.txt": "1"}, days_ago=95, author=("Fay", "fay@example.com"))
    commit(repo, {"f.txt": "2"}, days_ago=120, author=("Skew", "skew@example.com"))  # a clock in the past
    commit(repo, {"f.txt": "3"}, days_ago=30, author=("Fay", "fay@example.com"))
    git(repo, "checkout", "-q", "main")
    commit(repo, days_ago=60)
    git(repo, "merge", "-q", "--no-ff", "-m", "merge", "feature", when=NOW - timedelta(days=20))

    record = read_one(repo, tmp_path)

    # 90 days: the merge, 60 and Fay's 30 (Skew's commit hides Fay's 95); 180 days: also Skew, Fay's 95, 150.
    assert record.commits_in_window == log_count(repo, NOW - timedelta(days=90)) == 3
    assert sum(a.commits for a in record.authors) == log_count(repo, NOW - timedelta(days=180)) == 6
    assert {a.email: a.commits for a in record.authors} == {
        "alice@example.com": 3,
        "fay@example.com": 2,
        "skew@example.com": 1,
    }
