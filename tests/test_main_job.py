"""The main job end to end on real git repositories: source_add, sync, evaluate, then the pages."""

import io
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.models import Finding, Project, Repository, Source, SyncRun
from tests.gitrepos import git, make_repo

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "backstage"
COMPONENT = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: {name}
spec:
  type: pipeline
  lifecycle: {lifecycle}
  owner: group:team-a
"""


@pytest.fixture
def repos(tmp_path):
    """Real repositories: active, stale, deprecated, bare, empty, broken descriptor, no descriptor."""
    root = tmp_path / "repos"
    make_repo(
        root / "fraud",
        days_ago=[30, 2],
        descriptor=COMPONENT.format(name="fraud-model", lifecycle="production"),
    )
    make_repo(
        root / "churn",
        days_ago=[300, 120],
        descriptor=COMPONENT.format(name="churn-model", lifecycle="production"),
    )
    make_repo(
        root / "legacy",
        days_ago=[500],
        descriptor=COMPONENT.format(name="legacy-model", lifecycle="deprecated"),
    )
    org = make_repo(
        root / "org",
        days_ago=[10],
        descriptor=(
            CORPUS / "backstage__backstage__packages__catalog-model__examples__acme__team-a-group.yaml"
        ).read_text(),
    )
    broken = make_repo(tmp_path / "broken-src", days_ago=[5])
    shutil.copy(
        CORPUS
        / "backstage__backstage__packages__catalog-model__examples__components__invalid-component.yaml",
        broken / "catalog-info.yaml",
    )
    git(broken, "add", "-A")
    git(broken, "commit", "-q", "-m", "add an invalid descriptor")
    git(root, "clone", "-q", "--bare", str(broken), "broken.git")
    (root / "empty").mkdir()
    git(root / "empty", "init", "-q")
    make_repo(root / "notebooks", days_ago=[1])
    (root / "not-a-repo").mkdir()
    assert org.exists()
    return root


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def open_rules(name):
    return set(Finding.objects.filter(project__name=name, resolved_at=None).values_list("rule", flat=True))


def test_sync_and_evaluate_real_repositories(repos):
    run("source_add", "local", str(repos))
    output = run("sync", "local")
    assert output.startswith("local: partial in ")  # the invalid descriptor is a failed item
    run("evaluate")

    repositories = {r.name: r for r in Repository.objects.all()}
    assert set(repositories) == {"fraud", "churn", "legacy", "org", "broken", "empty", "notebooks"}
    fraud = repositories["fraud"]
    log = git(repos / "fraud", "log", "-1", "--format=%H %cI")
    sha, when = log.split()
    assert fraud.last_commit_sha == sha
    assert fraud.last_commit_at == datetime.fromisoformat(when).astimezone(UTC)
    assert fraud.commits_in_window == 2 and fraud.default_branch == "main"
    assert repositories["empty"].last_commit_at is None and repositories["empty"].last_error == ""

    assert set(Project.objects.values_list("name", flat=True)) == {
        "fraud-model",
        "churn-model",
        "legacy-model",
        "broken",
        "empty",
        "notebooks",
    }
    assert open_rules("fraud-model") == set()  # team-a is declared in the org repository
    assert open_rules("churn-model") == {"stale-code"}
    assert open_rules("legacy-model") == set()  # deprecated: old code is expected
    assert open_rules("broken") == {"invalid-descriptor", "no-owner"}
    assert open_rules("notebooks") == {"no-owner", "no-descriptor"}
    message = Finding.objects.get(project__name="broken", rule="invalid-descriptor").message
    assert message.startswith("Invalid descriptor: catalog-info.yaml, document 1, field metadata.name:")

    run_ = SyncRun.objects.get()
    assert any("metadata.name" in e["message"] for e in run_.errors)

    # nothing changed: nothing created or updated
    output = run("sync", "local")
    run_ = SyncRun.objects.first()
    assert (run_.created, run_.updated, run_.orphaned) == (0, 0, 0), output


def test_a_repository_gone_from_the_folder_is_orphaned_not_deleted(repos):
    run("source_add", "local", str(repos))
    run("sync", "local")
    shutil.rmtree(repos / "churn")
    run("sync", "local")
    run("evaluate")
    churn = Project.objects.get(name="churn-model")
    assert churn.orphaned_at is not None
    assert open_rules("churn-model") == {"orphaned"}  # stale-code no longer applies to an orphan
    assert Repository.objects.get(name="churn").gone_at is not None


def test_sync_command_errors():
    with pytest.raises(CommandError, match="no source named nope"):
        run("sync", "nope")
    with pytest.raises(CommandError, match="pass --all"):
        run("sync")


def test_a_missing_folder_fails_the_run_but_keeps_the_catalog(repos, tmp_path):
    run("source_add", "local", str(repos))
    run("sync", "local")
    before = Project.objects.count()
    source = Source.objects.get(name="local")
    source.config = {"paths": [str(tmp_path / "moved-away")]}
    source.save()
    with pytest.raises(CommandError, match="some sources could not be synced"):
        run("sync", "local")
    assert Project.objects.count() == before
    assert Project.objects.filter(orphaned_at__isnull=False).count() == 0
    last = SyncRun.objects.first()
    assert last.status == SyncRun.Status.FAILED and "moved-away" in last.errors[0]["message"]


def test_stale_threshold_is_a_setting(repos, settings):
    settings.PORTAL = {**settings.PORTAL, "RULE_DEFAULTS": {"stale-code": {"days": 20}}}
    run("source_add", "local", str(repos))
    run("sync", "local")
    run("evaluate", "stale-code")
    stale = set(
        Finding.objects.filter(rule="stale-code", resolved_at=None).values_list("project__name", flat=True)
    )
    assert stale == {"churn-model"} | ({"broken"} if _days_since(repos, "broken.git") > 20 else set())


def _days_since(repos, name):
    when = git(repos / name, "log", "-1", "--format=%cI")
    return (datetime.now(UTC) - datetime.fromisoformat(when)) // timedelta(days=1)


def test_running_it_again_with_other_targets_changes_what_local_catalogs(repos):
    """As scripts/run.sh does: ``source_add local TARGETS`` again replaces the targets, keeps the rest."""
    run("source_add", "local", str(repos / "fraud"), "--scorecards-repository", "fraud")
    Source.objects.filter(name="local").update(sync_interval_minutes=5)
    run("sync", "local")
    assert set(Repository.objects.filter(gone_at=None).values_list("name", flat=True)) == {"fraud"}
    output = run("source_add", "local", str(repos / "churn"))
    assert output.startswith("updated source local: paths;")
    run("sync", "local")
    assert set(Repository.objects.filter(gone_at=None).values_list("name", flat=True)) == {"churn"}
    source = Source.objects.get(name="local")
    assert source.config["scorecards_repository"] == "fraud" and source.sync_interval_minutes == 5
