"""The scorecards file of the platform team's repository, read through GitHub's contents API and GitLab's
repository files API from the default branch, and applied by the sync (the last good definitions kept)."""

from __future__ import annotations

import pytest

from catalog.connectors import gitlab
from catalog.models import Scorecard, Source, SyncRun
from catalog.sync import sync_source
from tests.hosted import payloads as p
from tests.hosted.fakeapi import json_response
from tests.hosted.test_gitlab import gitlab_api, gitlab_config  # noqa: F401 (fixtures)
from tests.scorecards.test_scorecards import READINESS

CONTENTS = "/repos/ml-org/fraud-model/contents/.portal/scorecards.yaml"
LOCATION = "https://github.com/ml-org/fraud-model/blob/main/.portal/scorecards.yaml"


@pytest.mark.django_db
def test_github_sync_reads_the_named_repository_s_file(github, github_config):
    github.routes[CONTENTS] = p.gh_file(".portal/scorecards.yaml", READINESS)
    source = Source.objects.create(
        name="gh",
        kind=Source.Kind.GITHUB,
        config={**github_config, "scorecards_repository": "ML-org/fraud-model"},  # GitHub ignores case
    )
    run = sync_source(source)
    assert run.status == SyncRun.Status.SUCCESS, run.errors
    assert run.changes["created"]["scorecard"] == ["ml-readiness"]
    scorecard = Scorecard.objects.get(name="ml-readiness")
    assert (scorecard.file, scorecard.levels) == (LOCATION, ["bronze", "silver", "gold"])
    assert scorecard.checks.count() == 4
    # Only the named repository's file is asked for, at the default branch.
    assert [(path, query) for path, query, _ in github.requests("scorecards")] == [
        (CONTENTS, {"ref": "main"})
    ]

    github.routes[CONTENTS] = p.gh_file(
        ".portal/scorecards.yaml", READINESS.replace("level: gold", "level: platinum")
    )
    run = sync_source(source)
    assert run.status == SyncRun.Status.PARTIAL
    assert run.errors == [
        {
            "item": LOCATION,
            "message": f"{LOCATION}:18: scorecards[0].checks[3].level: 'platinum' is not one of "
            "['bronze', 'silver', 'gold'] (the stored scorecards are kept)",
        }
    ]
    assert Scorecard.objects.get(name="ml-readiness").checks.get(code="coverage").level == "gold"

    github.routes[CONTENTS] = lambda request: json_response({"message": "Not Found"}, status=404)
    run = sync_source(source)
    assert run.errors == [
        {
            "item": LOCATION,
            "message": "scorecards file not loaded, the stored scorecards are kept: "
            "no such file on the default branch",
        }
    ]
    assert Scorecard.objects.get(name="ml-readiness").checks.count() == 4


def test_github_file_that_is_not_text_is_an_error_of_the_file(github, github_config):
    github.routes[CONTENTS] = p.gh_dir("a.yaml")  # a directory where the file should be
    snapshot = fetch_github(github_config)
    found = {r.name: r for r in snapshot.repositories}
    assert found["fraud-model"].error is None
    assert found["fraud-model"].scorecards.error == "is a directory"
    assert found["churn"].scorecards is None


def fetch_github(config):
    from catalog.connectors import github

    return github.connector.fetch({**config, "scorecards_repository": "ml-org/fraud-model"}, now=p.NOW)


def test_gitlab_reads_the_file_of_the_named_project(gitlab_api, gitlab_config):  # noqa: F811
    gitlab_api.routes["/projects/201/repository/files/standards%2Fscorecards.yaml"] = p.gl_file(
        "standards/scorecards.yaml", READINESS
    )
    config = {
        **gitlab_config,
        "scorecards_repository": "ml/platform/forecast",
        "scorecards_path": "standards/scorecards.yaml",
    }
    found = {r.name: r for r in gitlab.connector.fetch(config, now=p.NOW).repositories}
    record = found["forecast"].scorecards
    assert (record.text, record.error) == (READINESS, None)
    assert (
        record.location
        == "https://gitlab.example.com/ml/platform/forecast/-/blob/main/standards/scorecards.yaml"
    )
    assert all(r.scorecards is None for name, r in found.items() if name != "forecast")


NOT_UTF8 = b"\xff\xfes\x00c\x00"


@pytest.mark.django_db
def test_a_file_that_is_not_utf8_keeps_the_stored_scorecards(github, github_config):
    import base64

    github.routes[CONTENTS] = p.gh_file(".portal/scorecards.yaml", READINESS)
    source = Source.objects.create(
        name="gh",
        kind=Source.Kind.GITHUB,
        config={**github_config, "scorecards_repository": "ml-org/fraud-model"},
    )
    assert sync_source(source).status == SyncRun.Status.SUCCESS
    github.routes[CONTENTS] = {
        **p.gh_file(".portal/scorecards.yaml", ""),
        "content": base64.b64encode(NOT_UTF8).decode(),
    }
    run = sync_source(source)
    assert run.status == SyncRun.Status.PARTIAL
    [error] = run.errors
    assert error["item"] == LOCATION
    assert error["message"].startswith(
        "scorecards file not loaded, the stored scorecards are kept: is not UTF-8"
    )
    assert Scorecard.objects.get(name="ml-readiness").checks.count() == 4


def test_gitlab_file_that_is_not_utf8_is_an_error_of_the_file(gitlab_api, gitlab_config):  # noqa: F811
    import base64

    gitlab_api.routes["/projects/201/repository/files/.portal%2Fscorecards.yaml"] = {
        **p.gl_file(".portal/scorecards.yaml", ""),
        "content": base64.b64encode(NOT_UTF8).decode(),
    }
    config = {**gitlab_config, "scorecards_repository": "ml/platform/forecast"}
    found = {r.name: r for r in gitlab.connector.fetch(config, now=p.NOW).repositories}
    assert found["forecast"].error is None
    assert not found["forecast"].scorecards.text
    assert found["forecast"].scorecards.error.startswith("is not UTF-8 text")
