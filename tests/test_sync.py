"""The single write path: idempotent upserts, last good data kept, orphans, renames, references."""

from datetime import UTC, datetime, timedelta

import pytest

from catalog.connectors.records import (
    Author,
    Commit,
    DescriptorError,
    RepositoryRecord,
    SourceSnapshot,
)
from catalog.connectors.records import DescriptorFile as DescriptorRecord
from catalog.descriptors.backstage import parse_file
from catalog.models import DescriptorFile, Person, Project, Repository, Source, SyncRun, System, Team
from catalog.sync import SyncAlreadyRunning, apply_snapshot, start_run

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

COMPONENT = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: {name}
  description: Fraud model
  tags: [fraud, python]
spec:
  type: ml-model
  lifecycle: production
  owner: {owner}
  system: risk
"""
GROUP = """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
  members: [jdoe]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: jdoe
spec:
  profile: {displayName: Jane Doe, email: jdoe@example.com}
  memberOf: []
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: rroe
spec:
  memberOf: [group:default/team-a]
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: risk
spec:
  owner: team-a
"""


def repo(
    name: str,
    *descriptors: DescriptorRecord,
    error: str | None = None,
    days_ago: int = 3,
    sha: str = "a" * 40,
):
    commit = Commit(
        sha=sha, committed_at=NOW - timedelta(days=days_ago), author_name="Jane", author_email="j@x.io"
    )
    return RepositoryRecord(
        external_id=f"/repos/{name}",
        url=f"/repos/{name}",
        name=name,
        default_branch="main",
        last_commit=None if error else commit,
        commits_in_window=0 if error else 12,
        top_authors=() if error else (Author("Jane", "j@x.io", 12),),
        descriptors=descriptors,
        error=error,
    )


def descriptor(text: str, path: str = "catalog-info.yaml") -> DescriptorRecord:
    return parse_file(text, path)


@pytest.fixture
def source():
    return Source.objects.create(name="repos", kind=Source.Kind.GIT)


def sync(source, *repos, complete=True):
    return apply_snapshot(source, SourceSnapshot(repositories=repos, complete=complete), now=NOW)


def test_first_sync_creates_entities_and_resolves_references(source):
    tally = sync(
        source,
        repo("fraud", descriptor(COMPONENT.format(name="fraud-model", owner="team-a"))),
        repo("org", descriptor(GROUP, "org.yaml")),
    )
    assert tally.failed == 0, tally.errors
    # 2 repositories, 1 project, 1 team, 2 people, 1 system
    assert (tally.created, tally.updated, tally.unchanged) == (7, 0, 0)
    project = Project.objects.get(name="fraud-model")
    team = Team.objects.get(name="team-a")
    assert project.owner_team == team and project.owner_ref == "group:default/team-a"
    assert project.system == System.objects.get(name="risk")
    assert project.repository.name == "fraud"
    assert project.descriptor.path == "catalog-info.yaml" and project.descriptor_document == 1
    assert project.tags == ["fraud", "python"]
    assert sorted(team.members.values_list("name", flat=True)) == ["jdoe", "rroe"]
    assert Person.objects.get(name="jdoe").title == "Jane Doe"
    repository = Repository.objects.get(name="fraud")
    assert repository.last_commit_at == NOW - timedelta(days=3)
    assert repository.top_authors == [{"name": "Jane", "email": "j@x.io", "commits": 12}]


def test_second_sync_with_nothing_changed_changes_nothing(source):
    records = (
        repo("fraud", descriptor(COMPONENT.format(name="fraud-model", owner="team-a"))),
        repo("org", descriptor(GROUP, "org.yaml")),
        repo("plain"),
    )
    sync(source, *records)
    tally = sync(source, *records)
    assert (tally.created, tally.updated, tally.failed, tally.orphaned) == (0, 0, 0, 0)
    assert (
        tally.unchanged == 9
    )  # 3 repositories, 1 declared project, 1 found project, 1 team, 2 people, 1 system


def test_a_changed_fact_counts_as_one_update(source):
    sync(source, repo("fraud", descriptor(COMPONENT.format(name="fraud-model", owner="team-a"))))
    tally = sync(source, repo("fraud", descriptor(COMPONENT.format(name="fraud-model", owner="team-b"))))
    assert (tally.created, tally.updated) == (0, 1)
    assert Project.objects.get(name="fraud-model").owner_ref == "group:default/team-b"


def test_repository_without_descriptor_becomes_a_project_named_after_it(source):
    sync(source, repo("My Repo.git-tools"))
    project = Project.objects.get()
    assert project.name == "My-Repo.git-tools"
    assert project.descriptor is None and project.repository.name == "My Repo.git-tools"


def test_found_project_name_clash_gets_a_suffix(source):
    other = Source.objects.create(name="other", kind=Source.Kind.GIT)
    sync(other, repo("tools"))
    sync(source, repo("tools"))
    names = sorted(Project.objects.values_list("name", flat=True))
    assert names[0] == "tools" and names[1].startswith("tools-") and len(names[1]) == len("tools-") + 6


def test_failed_repository_keeps_its_last_good_data(source):
    sync(source, repo("fraud", descriptor(COMPONENT.format(name="fraud-model", owner="team-a"))))
    tally = sync(source, repo("fraud", error="git fetch failed: connection refused"))
    assert tally.failed == 1 and tally.errors[0]["item"] == "/repos/fraud"
    repository = Repository.objects.get()
    assert repository.last_commit_sha == "a" * 40 and repository.commits_in_window == 12
    assert repository.last_error == "git fetch failed: connection refused"
    project = Project.objects.get()
    assert project.orphaned_at is None and project.lifecycle == "production"
    # a later good read clears the error
    sync(source, repo("fraud", descriptor(COMPONENT.format(name="fraud-model", owner="team-a"))))
    assert Repository.objects.get().last_error == ""


def test_a_repository_that_never_read_is_kept_visible_with_its_error(source):
    tally = sync(source, repo("broken", error="not a git repository"))
    assert tally.failed == 1
    assert Repository.objects.get().last_error == "not a git repository"
    # a project stands for it, so that the repository-error finding shows on the maintenance view
    assert Project.objects.get().repository.name == "broken"
    again = sync(source, repo("broken", error="not a git repository"))
    assert (again.created, again.updated, again.failed) == (0, 0, 1)


def test_invalid_document_keeps_the_entity_it_replaced(source):
    sync(source, repo("fraud", descriptor(COMPONENT.format(name="fraud-model", owner="team-a"))))
    broken = descriptor(
        COMPONENT.format(name="fraud-model", owner="team-a").replace("  lifecycle: production\n", "")
    )
    assert broken.failed_documents == (1,)
    tally = sync(source, repo("fraud", broken))
    assert tally.failed == 1 and "spec.lifecycle" in tally.errors[0]["message"]
    project = Project.objects.get(name="fraud-model")
    assert project.orphaned_at is None and project.lifecycle == "production"
    assert DescriptorFile.objects.get().errors[0]["field"] == "spec.lifecycle"


def test_bad_yaml_keeps_every_entity_of_the_file(source):
    sync(source, repo("org", descriptor(GROUP, "org.yaml")))
    tally = sync(source, repo("org", descriptor(GROUP.replace("type: team", "type: [team"), "org.yaml")))
    assert tally.failed >= 1
    assert Team.objects.filter(orphaned_at__isnull=True).count() == 1
    assert Person.objects.filter(orphaned_at__isnull=True).count() == 2


def test_entity_removed_from_its_descriptor_becomes_an_orphan(source):
    sync(source, repo("org", descriptor(GROUP, "org.yaml")))
    without_rroe = GROUP.replace(
        "---\napiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: rroe\nspec:\n"
        "  memberOf: [group:default/team-a]\n",
        "",
    )
    tally = sync(source, repo("org", descriptor(without_rroe, "org.yaml")))
    assert tally.orphaned == 1
    rroe = Person.objects.get(name="rroe")
    assert rroe.orphaned_at == NOW
    # declared again: alive again
    sync(source, repo("org", descriptor(GROUP, "org.yaml")))
    assert Person.objects.get(name="rroe").orphaned_at is None


def test_repository_gone_from_its_source_orphans_its_projects(source):
    sync(
        source, repo("fraud", descriptor(COMPONENT.format(name="fraud-model", owner="team-a"))), repo("plain")
    )
    tally = sync(source, repo("other"))
    assert tally.orphaned == 2
    assert set(Project.objects.filter(orphaned_at=NOW).values_list("name", flat=True)) == {
        "fraud-model",
        "plain",
    }
    assert Repository.objects.get(name="fraud").gone_at == NOW


def test_incomplete_listing_orphans_nothing(source):
    sync(source, repo("fraud", descriptor(COMPONENT.format(name="fraud-model", owner="team-a"))))
    tally = sync(source, complete=False)
    assert tally.orphaned == 0
    assert Repository.objects.get().gone_at is None


def test_renamed_entity_carries_its_history_over(source):
    sync(source, repo("fraud", descriptor(COMPONENT.format(name="fraud-model", owner="team-a"))))
    old = Project.objects.get()
    tally = sync(source, repo("fraud", descriptor(COMPONENT.format(name="fraud-detector", owner="team-a"))))
    assert (tally.created, tally.updated, tally.orphaned) == (0, 1, 0)
    renamed = Project.objects.get()
    assert renamed.pk == old.pk and renamed.name == "fraud-detector" and renamed.created_at == old.created_at


def test_found_project_becomes_the_declared_one_when_a_descriptor_appears(source):
    sync(source, repo("fraud"))
    found = Project.objects.get()
    sync(source, repo("fraud", descriptor(COMPONENT.format(name="fraud-model", owner="team-a"))))
    declared = Project.objects.get()
    assert declared.pk == found.pk and declared.name == "fraud-model" and declared.descriptor is not None


def test_entity_declared_twice_is_an_error_and_the_first_wins(source):
    tally = sync(
        source,
        repo("a", descriptor(COMPONENT.format(name="fraud-model", owner="team-a"))),
        repo("b", descriptor(COMPONENT.format(name="Fraud-Model", owner="team-b"))),
    )
    assert tally.failed == 1 and "already declared in a/catalog-info.yaml" in tally.errors[0]["message"]
    assert Project.objects.get(name__iexact="fraud-model").owner_ref == "group:default/team-a"
    # the loser's file carries the error, so invalid-descriptor shows it on the loser's (found) project
    loser = DescriptorFile.objects.get(repository__name="b")
    assert loser.errors == [
        {
            "path": "catalog-info.yaml",
            "document": 1,
            "field": None,
            "message": "component:default/Fraud-Model is already declared in a/catalog-info.yaml",
        }
    ]
    assert Project.objects.get(repository__name="b", descriptor=None).name == "b"


def test_a_newcomer_declaring_an_existing_entity_does_not_take_it_over(source):
    sync(source, repo("z-real", descriptor(COMPONENT.format(name="fresh-model", owner="team-a"))))
    tally = sync(
        source,
        repo("a-copy", descriptor(COMPONENT.format(name="fresh-model", owner="team-b"))),
        repo("z-real", descriptor(COMPONENT.format(name="fresh-model", owner="team-a"))),
    )
    assert tally.failed == 1 and "already declared in z-real/catalog-info.yaml" in tally.errors[0]["message"]
    project = Project.objects.get(name="fresh-model")
    assert project.repository.name == "z-real" and project.owner_ref == "group:default/team-a"


def test_entity_of_another_source_is_not_taken_over(source):
    other = Source.objects.create(name="other", kind=Source.Kind.GIT)
    sync(other, repo("a", descriptor(COMPONENT.format(name="fraud-model", owner="team-a"))))
    tally = sync(source, repo("b", descriptor(COMPONENT.format(name="fraud-model", owner="team-b"))))
    assert tally.failed == 1 and "already declared by source" in tally.errors[0]["message"]
    assert Project.objects.get(name="fraud-model").source == other


def test_descriptor_errors_are_stored_per_file(source):
    record = DescriptorRecord(
        path="catalog-info.yaml",
        errors=(
            DescriptorError(
                path="catalog-info.yaml", message="must be a string", document=2, field="spec.owner"
            ),
        ),
        failed_documents=(2,),
    )
    tally = sync(source, repo("fraud", record))
    assert tally.errors == [
        {
            "item": "fraud/catalog-info.yaml",
            "message": "catalog-info.yaml, document 2, field spec.owner: must be a string",
        }
    ]
    assert DescriptorFile.objects.get().errors == [
        {"path": "catalog-info.yaml", "document": 2, "field": "spec.owner", "message": "must be a string"}
    ]


def test_too_long_value_fails_alone(source):
    long_type = "x" * 300
    tally = sync(
        source,
        repo(
            "a", descriptor(COMPONENT.format(name="a-model", owner="team-a").replace("ml-model", long_type))
        ),
        repo("b", descriptor(COMPONENT.format(name="b-model", owner="team-a"))),
    )
    assert tally.failed == 1 and "type: longer than 255 characters" in tally.errors[0]["message"]
    assert list(Project.objects.values_list("name", flat=True)) == ["b-model"]


def test_one_running_sync_per_source(source):
    start_run(source)
    with pytest.raises(SyncAlreadyRunning):
        start_run(source)


def test_abandoned_run_does_not_lock_the_source_forever(source, settings):
    settings.PORTAL = {**settings.PORTAL, "SYNC_LOCK_TIMEOUT": 60}
    run = start_run(source)
    SyncRun.objects.filter(pk=run.pk).update(started_at=run.started_at - timedelta(minutes=5))
    second = start_run(source)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED and "abandoned" in run.errors[0]["message"]
    assert second.status == SyncRun.Status.RUNNING


def test_a_file_cut_short_leaves_the_other_files_of_its_repository_alone(source):
    location = (
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: all}\n"
        "spec:\n  targets: [./org.yaml]\n"
    )
    sync(source, repo("org", descriptor(location), descriptor(GROUP, "org.yaml")))
    cut = DescriptorRecord(
        path="catalog-info.yaml", errors=(DescriptorError("catalog-info.yaml", "file limit"),), complete=False
    )
    tally = sync(source, repo("org", cut))
    assert tally.orphaned == 0
    assert DescriptorFile.objects.get(path="org.yaml").gone_at is None
    assert Team.objects.get(name="team-a").orphaned_at is None


def test_found_project_names_from_unusual_repository_names(source):
    sync(source, repo("modèle de fraude"), repo("模型"), repo("repo with spaces"), repo("repo-with-spaces"))
    names = {p.repository.name: p.name for p in Project.objects.select_related("repository")}
    assert names["modèle de fraude"] == "modele-de-fraude"
    assert names["模型"] == "repository"
    assert names["repo-with-spaces"] == "repo-with-spaces"  # the exact name wins over a made-up one
    assert names["repo with spaces"].startswith("repo-with-spaces-")


def test_sync_run_lists_what_changed(source):
    sync(source, repo("fraud", descriptor(COMPONENT.format(name="fraud-model", owner="team-a"))))
    tally = sync(source, repo("fraud", descriptor(COMPONENT.format(name="fraud-model", owner="team-b"))))
    assert tally.changes == {"updated": {"project": ["default/fraud-model"]}}
    tally = sync(source)
    assert tally.changes["orphaned"] == {"project": ["default/fraud-model"]}


def test_a_sync_raises_the_gc_threshold_and_the_last_one_out_restores_it():
    import gc

    from catalog.sync import GC_THRESHOLD, fewer_collections

    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] == max(GC_THRESHOLD, before[0])
        with fewer_collections():  # a second sync at the same time, in another thread
            pass
        assert gc.get_threshold()[0] == max(GC_THRESHOLD, before[0])
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("a failed sync restores it too")
    assert gc.get_threshold() == before
