"""``hosted.window_authors``: every author of a GitHub or GitLab source's window, for the bus-factor rule."""

from datetime import UTC, datetime, timedelta

from catalog.connectors.hosted import window_authors
from catalog.connectors.records import Author, Commit

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def commit(days: float, name: str, email: str) -> Commit:
    return Commit(
        sha=f"{days}{email}", committed_at=NOW - timedelta(days=days), author_name=name, author_email=email
    )


def test_every_author_of_the_window_by_address_with_their_newest_name():
    commits = [  # newest first, as the APIs answer
        commit(1, "Ada Lovelace", "Ada@Example.com"),
        commit(2, "Bob", "bob@example.com"),
        commit(3, "ada", "ada@example.com"),
        commit(4, "Carol", "carol@example.com"),
        commit(5, "Bob", "bob@example.com"),
        commit(6, "Ada", "12345+ada@users.noreply.github.com"),
        commit(95, "Old", "old@example.com"),  # before the window
    ]
    assert window_authors(commits, NOW - timedelta(days=90)) == (
        Author("Ada Lovelace", "ada@example.com", 2),
        Author("Bob", "bob@example.com", 2),
        Author("Ada", "12345+ada@users.noreply.github.com", 1),
        Author("Carol", "carol@example.com", 1),
    )
