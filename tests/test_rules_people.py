"""The rules about people: owner-team-empty, owner-inactive and bus-factor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from catalog.models import Finding, RuleConfig
from catalog.rules.evaluate import evaluate_rules

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def findings(rule: str) -> dict[str, Finding]:
    return {
        f.project.name: f
        for f in Finding.objects.filter(rule=rule, resolved_at__isnull=True).select_related("project")
    }


def authors(*pairs: tuple[str, int]) -> list[dict]:
    return [{"name": email.split("@")[0].title(), "email": email, "commits": n} for email, n in pairs]


# --- owner-team-empty ---------------------------------------------------------------------------------------


def test_owner_team_empty(catalog, django_user_model):
    empty = catalog.team("empty-team", title="Empty")
    staffed = catalog.team("staffed")
    catalog.person("someone", teams=[staffed])
    left = catalog.team("left-team")
    gone = django_user_model.objects.create_user("gone", is_active=False)
    catalog.person("gone", user=gone, teams=[left])
    catalog.person("retired", deactivated_at=NOW - timedelta(days=3), teams=[left])
    catalog.project("nobody-home", owner=empty)
    catalog.project("fine", owner=staffed)
    catalog.project("all-left", owner=left)
    catalog.project("orphan", owner=empty, orphaned_at=NOW)

    evaluate_rules(now=NOW, codes=["owner-team-empty"])

    found = findings("owner-team-empty")
    assert sorted(found) == ["all-left", "nobody-home"]
    assert found["nobody-home"].message == (
        "Its owner team Empty (group:default/empty-team) has no members: add people to the team, "
        "or hand the project to another team."
    )
    assert found["nobody-home"].evidence == {
        "owner": "group:default/empty-team",
        "members": 0,
        "active_members": 0,
    }
    assert "has 2 members, all deactivated" in found["all-left"].message

    staffed.members.clear()
    catalog.person("newcomer", teams=[empty])
    evaluate_rules(now=NOW, codes=["owner-team-empty"])
    assert sorted(findings("owner-team-empty")) == ["all-left", "fine"]


# --- owner-inactive -----------------------------------------------------------------------------------------


def test_owner_inactive(catalog, django_user_model):
    retired = catalog.person("retired", title="Ret Ired", deactivated_at=datetime(2026, 10, 3, tzinfo=UTC))
    closed = catalog.person("closed", user=django_user_model.objects.create_user("closed", is_active=False))
    active = catalog.person("active", user=django_user_model.objects.create_user("active"))
    no_account = catalog.person("no-account")
    for person in (retired, closed, active, no_account):
        catalog.project(f"{person.name}-project", owner=person)

    evaluate_rules(now=NOW, codes=["owner-inactive"])

    found = findings("owner-inactive")
    assert sorted(found) == ["closed-project", "retired-project"]
    assert found["retired-project"].message == (
        "Its owner Ret Ired (user:default/retired) was deactivated on 2026-10-03: hand the project to a team."
    )
    assert found["retired-project"].evidence["deactivated_at"] == "2026-10-03T00:00:00+00:00"
    assert found["closed-project"].message.startswith(
        "Its owner closed (user:default/closed) has a deactivated"
    )
    assert found["closed-project"].evidence["account_active"] is False

    retired.deactivated_at = None
    retired.save()
    evaluate_rules(now=NOW, codes=["owner-inactive"])
    assert sorted(findings("owner-inactive")) == ["closed-project"]


# --- bus-factor ---------------------------------------------------------------------------------------------


@pytest.fixture
def repos(catalog):
    def make(name: str, pairs, *, lifecycle: str = "production", days: int = 180):
        repository = catalog.repository(name, authors=authors(*pairs), authors_days=days)
        return catalog.project(name, lifecycle=lifecycle, repository=repository)

    return make


def test_bus_factor_share(catalog, repos):
    ada = catalog.person("ada", title="Ada Lovelace", git_emails=["12345+ada@users.noreply.github.com"])
    repos("one-author", [("12345+ada@users.noreply.github.com", 9), ("bob@example.com", 1)])  # 90 %
    repos("exactly-80", [("ada@x.org", 8), ("bob@example.com", 2)])  # not more than 80 %
    repos("shared", [("ada@x.org", 5), ("bob@example.com", 5)])
    repos("experiment", [("ada@x.org", 10)], lifecycle="experimental")
    repos("too-few", [("ada@x.org", 4)])  # fewer than min_commits (5)
    repos("solo", [("stranger@else.org", 6)])

    evaluate_rules(now=NOW, codes=["bus-factor"])

    found = findings("bus-factor")
    assert sorted(found) == ["one-author", "solo"]
    assert found["one-author"].message == (
        "Ada Lovelace made 9 of the 10 commits on the default branch in the last 180 days "
        "(90%; the limit is 80%)."
    )
    assert found["one-author"].evidence == {
        "repository": "one-author",
        "window_days": 180,
        "commits": 10,
        "authors": 2,
        "top_author": {"name": "12345+Ada", "email": "12345+ada@users.noreply.github.com", "commits": 9},
        "top_author_person": ada.ref,
        "share": 0.9,
        "threshold_share": 0.8,
    }
    assert found["solo"].message.startswith("Stranger made 6 of the 6 commits")

    RuleConfig.objects.create(code="bus-factor", params={"share": 0.95, "min_commits": 1})
    evaluate_rules(now=NOW, codes=["bus-factor"])
    assert sorted(findings("bus-factor")) == ["solo", "too-few"]


def test_bus_factor_when_every_recent_author_has_left(catalog, repos, django_user_model):
    catalog.person("ada", title="Ada", email="ada@x.org", deactivated_at=NOW - timedelta(days=10))
    closed = django_user_model.objects.create_user("bob", is_active=False)
    catalog.person("bob", title="Bob", user=closed, git_emails=["bob@example.com"])
    catalog.person("carol", email="carol@example.com")
    repos("all-left", [("ada@x.org", 3), ("bob@example.com", 3)])
    repos("one-stays", [("ada@x.org", 3), ("carol@example.com", 3)])
    repos("unknown-stays", [("ada@x.org", 3), ("who@else.org", 3)])

    evaluate_rules(now=NOW, codes=["bus-factor"])

    found = findings("bus-factor")
    assert sorted(found) == ["all-left"]
    assert found["all-left"].message == (
        "Everyone who committed in the last 180 days has left (Ada, Bob): nobody active knows this code."
    )
    assert found["all-left"].evidence["inactive_authors"] == ["user:default/ada", "user:default/bob"]


def test_bus_factor_queries_do_not_grow_with_projects(catalog, repos, django_assert_max_num_queries):
    for n in range(20):
        repos(f"p{n}", [(f"dev{n}@example.com", 10)])
        catalog.person(f"dev-{n}", git_emails=[f"dev{n}@example.com"])
    with django_assert_max_num_queries(12):
        evaluate_rules(now=NOW, codes=["bus-factor"])
    assert len(findings("bus-factor")) == 20


def test_a_git_sync_counts_authors_over_the_rules_days(tmp_path, catalog):
    from catalog.models import Repository, Source
    from catalog.sync import sync_source
    from tests.gitrepos import make_repo

    make_repo(tmp_path / "repos" / "solo", days_ago=[300, 100, 50, 20, 10], author=("Ada", "ada@x.org"))
    source = Source.objects.create(
        name="local", kind=Source.Kind.GIT, config={"paths": [str(tmp_path / "repos")]}
    )

    sync_source(source)
    repository = Repository.objects.get(name="solo")
    assert (repository.authors_days, repository.authors) == (
        180,
        [{"name": "Ada", "email": "ada@x.org", "commits": 4}],
    )

    RuleConfig.objects.create(code="bus-factor", params={"days": 60})
    sync_source(source)
    repository.refresh_from_db()
    assert (repository.authors_days, repository.authors[0]["commits"]) == (60, 3)

    source.config = {**source.config, "authors_days": 365}  # the source's own window wins
    source.save()
    sync_source(source)
    repository.refresh_from_db()
    assert (repository.authors_days, repository.authors[0]["commits"]) == (365, 5)
