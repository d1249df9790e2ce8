"""Scorecards kept in sync from the platform team's repository: read by the git connector from the default
branch, applied by the sync, the last good definitions kept when the file turns bad, read-only in the admin.
"""

import pytest
from django.urls import reverse

from catalog.connectors.git import GitConnector
from catalog.models import Scorecard, Source, SyncRun
from catalog.sync import sync_source
from tests.gitrepos import git, make_repo
from tests.scorecards.test_scorecards import READINESS

pytestmark = pytest.mark.django_db


def commit(repo, files: dict[str, str | None], message: str = "scorecards") -> None:
    """Write (or, for None, delete) ``files`` in the working tree of ``repo`` and commit them."""
    for name, text in files.items():
        path = repo / name
        if text is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    git(repo, "add", "-A")
    git(
        repo,
        "-c",
        "user.name=Platform",
        "-c",
        "user.email=platform@example.com",
        "commit",
        "-q",
        "-m",
        message,
    )


@pytest.fixture
def repos(tmp_path):
    """Two repositories under one folder: ``platform`` holds the scorecards, ``fraud`` a stray copy."""
    platform = make_repo(tmp_path / "repos" / "platform", days_ago=[3])
    commit(platform, {".portal/scorecards.yaml": READINESS})
    fraud = make_repo(tmp_path / "repos" / "fraud", days_ago=[2])
    commit(fraud, {".portal/scorecards.yaml": READINESS.replace("ml-readiness", "rogue")})
    return {"platform": platform, "fraud": fraud}


@pytest.fixture
def source(repos):
    return Source.objects.create(
        name="repos",
        kind=Source.Kind.GIT,
        config={"paths": [str(repos["platform"].parent)], "scorecards_repository": "platform"},
    )


def test_the_git_connector_reads_the_named_repository_s_file_from_the_default_branch(repos, tmp_path):
    (repos["platform"] / ".portal" / "scorecards.yaml").write_text("not: committed\n")  # working tree only
    config = {"paths": [str(repos["platform"].parent)], "scorecards_repository": "platform"}
    snapshot = GitConnector().fetch(config, workdir=tmp_path / "work")
    by_name = {r.name: r for r in snapshot.repositories}
    assert by_name["fraud"].scorecards is None  # only the named repository is trusted
    found = by_name["platform"].scorecards
    assert (found.path, found.text, found.error) == (".portal/scorecards.yaml", READINESS, None)
    assert found.location == f"{repos['platform']}@main:.portal/scorecards.yaml"

    config["scorecards_path"] = "standards/cards.yaml"  # a path the branch does not have
    found = {r.name: r for r in GitConnector().fetch(config, workdir=tmp_path / "work").repositories}
    assert found["platform"].scorecards.error == "no such file on the default branch"
    for bad, message in [
        ({"scorecards_path": "../up.yaml"}, "'scorecards_path' is not a relative path"),
        ({"scorecards_repository": ""}, "'scorecards_repository' must be a non-empty string"),
    ]:
        with pytest.raises(ValueError, match=message):
            GitConnector().fetch({**config, **bad}, workdir=tmp_path / "work")


def test_the_sync_applies_the_file_and_keeps_the_last_good_one(source, repos):
    location = f"{repos['platform']}@main:.portal/scorecards.yaml"
    run = sync_source(source)
    assert run.status == SyncRun.Status.SUCCESS, run.errors
    assert run.changes["created"]["scorecard"] == ["ml-readiness"]
    scorecard = Scorecard.objects.get(name="ml-readiness")
    assert scorecard.file == location
    assert list(scorecard.checks.values_list("code", flat=True)) == [
        "owned",
        "declared",
        "fresh-code",
        "coverage",
    ]
    assert not Scorecard.objects.filter(name="rogue").exists()

    run = sync_source(source)  # nothing changed
    assert run.status == SyncRun.Status.SUCCESS and "scorecard" not in run.changes.get("updated", {})

    # The file turns invalid on two lines: nothing changes, and each line is an error of the run.
    bad = READINESS.replace("kind: has-descriptor", "kind: has-descriptr").replace("min: 0.8", "min: high")
    commit(repos["platform"], {".portal/scorecards.yaml": bad})
    run = sync_source(source)
    assert run.status == SyncRun.Status.PARTIAL
    assert [e for e in run.errors if e["item"] == location] == [
        {
            "item": location,
            "message": f"{location}:11: scorecards[0].checks[1].kind: unknown kind 'has-descriptr'; known: "
            "ci-green, fact, has-descriptor, has-owner, lifecycle, production-model, rule, standard-template "
            "(the stored scorecards are kept)",
        },
        {
            "item": location,
            "message": f"{location}:21: scorecards[0].checks[3].min: Input should be a valid number, "
            "unable to parse string as a number (the stored scorecards are kept)",
        },
    ]
    assert scorecard.checks.count() == 4

    # A good version that drops a check updates the scorecard; then the file goes away: kept, with an error.
    commit(repos["platform"], {".portal/scorecards.yaml": READINESS.split("      - id: coverage")[0]})
    run = sync_source(source)
    assert run.status == SyncRun.Status.SUCCESS, run.errors
    assert run.changes["updated"]["scorecard"] == ["ml-readiness"]
    assert list(scorecard.checks.values_list("code", flat=True)) == ["owned", "declared", "fresh-code"]
    commit(repos["platform"], {".portal/scorecards.yaml": None})
    run = sync_source(source)
    assert run.errors == [
        {
            "item": location,
            "message": "scorecards file not loaded, the stored scorecards are kept: "
            "no such file on the default branch",
        }
    ]
    assert scorecard.checks.count() == 3


def test_a_scorecard_from_a_file_is_read_only_in_the_admin(admin_client, source, repos):
    sync_source(source)
    scorecard = Scorecard.objects.get(name="ml-readiness")
    url = reverse("admin:catalog_scorecard_change", args=[scorecard.pk])
    page = admin_client.get(url).content.decode()
    assert f"{repos['platform']}@main:.portal/scorecards.yaml" in page
    assert "Edit that file" in page
    assert 'name="title"' not in page and 'name="checks-0-code"' not in page
    assert 'name="enabled"' in page  # turning it off stays possible
    response = admin_client.post(
        url,
        {
            "title": "Changed here",
            "enabled": "",
            "checks-TOTAL_FORMS": "0",
            "checks-INITIAL_FORMS": "0",
            "checks-MIN_NUM_FORMS": "0",
            "checks-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    scorecard.refresh_from_db()
    assert (scorecard.title, scorecard.enabled, scorecard.checks.count()) == ("ML readiness", False, 4)
    # one made in the admin stays editable
    made = Scorecard.objects.create(name="basics", levels=["ok"])
    page = admin_client.get(reverse("admin:catalog_scorecard_change", args=[made.pk])).content.decode()
    assert 'name="title"' in page and "checks-TOTAL_FORMS" in page


def test_a_committed_file_that_is_not_utf8_keeps_the_last_good_scorecards(repos, source):
    assert sync_source(source).status == SyncRun.Status.SUCCESS
    (repos["platform"] / ".portal" / "scorecards.yaml").write_bytes(b"\xff\xfes\x00c\x00")
    git(repos["platform"], "add", "-A")
    git(
        repos["platform"],
        "-c",
        "user.name=P",
        "-c",
        "user.email=p@example.com",
        "commit",
        "-q",
        "-m",
        "utf16",
    )
    run = sync_source(source)
    assert run.status == SyncRun.Status.PARTIAL
    [error] = run.errors
    assert "scorecards.yaml" in error["item"] and "is not UTF-8 text" in error["message"]
    assert Scorecard.objects.get(name="ml-readiness").checks.count() == 4
