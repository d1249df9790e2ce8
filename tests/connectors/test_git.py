"""The git connector against real repositories made with the git CLI in tmp_path (no database)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from catalog.connectors import CONNECTORS, get_connector
from catalog.connectors import git as git_connector
from catalog.connectors.git import GitConnector, mirror_path, parse_config, redact
from catalog.connectors.records import Author, Commit, RepositoryRecord

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
ALICE = ("Alice", "alice@example.com")

_REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = next(
    (
        p
        for p in (_REPO_ROOT.parent / "shared/corpus/backstage", Path("/work/shared/corpus/backstage"))
        if p.is_dir()
    ),
    None,
)
EXAMPLES = "backstage__backstage__packages__catalog-model__examples__"


def corpus(name: str) -> str:
    if CORPUS is None:
        pytest.skip("the shared Backstage corpus is not here")
    return (CORPUS / (EXAMPLES + name)).read_text()


COMPONENT = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: {name}
spec:
  type: service
  lifecycle: production
  owner: team-a
"""


def component(name: str) -> str:
    return COMPONENT.format(name=name)


def location(*targets: str) -> str:
    lines = "".join(f'    - "{target}"\n' for target in targets)
    header = "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: loc\n"
    return f"{header}spec:\n  targets:\n{lines}"


# --- building repositories ----------------------------------------------------------------------------------


def git(cwd: Path, *args: str, when: datetime = NOW, author: tuple[str, str] = ALICE) -> str:
    """Run git in ``cwd`` with no user or system config, fixed identity and dates."""
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": author[0],
        "GIT_AUTHOR_EMAIL": author[1],
        "GIT_COMMITTER_NAME": author[0],
        "GIT_COMMITTER_EMAIL": author[1],
        "GIT_AUTHOR_DATE": when.isoformat(),
        "GIT_COMMITTER_DATE": when.isoformat(),
    }
    command = ["git", "-c", "init.defaultBranch=main", "-c", "protocol.file.allow=always", *args]
    return subprocess.run(
        command, cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def init(path: Path, *, bare: bool = False) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", *(["--bare"] if bare else []))
    return path


def commit(
    repo: Path,
    files: dict[str, str] | None = None,
    *,
    days_ago: float = 1,
    author: tuple[str, str] = ALICE,
    message: str = "change",
) -> str:
    """Write ``files`` (default: a counter file) and commit them ``days_ago`` days before NOW; the sha."""
    files = files if files is not None else {"history.txt": f"{message} {days_ago}\n"}
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    when = NOW - timedelta(days=days_ago)
    git(repo, "commit", "-q", "--allow-empty", "-m", message, when=when, author=author)
    return git(repo, "rev-parse", "HEAD")


def fetch(config: dict, tmp_path: Path, **kwargs):
    return GitConnector().fetch(config, workdir=tmp_path / "work", now=NOW, **kwargs)


def read_one(path: Path, tmp_path: Path, **config) -> RepositoryRecord:
    snapshot = fetch({"paths": [str(path)], **config}, tmp_path)
    assert snapshot.errors == () and snapshot.complete
    (record,) = snapshot.repositories
    return record


def log_count(repo: Path, since: datetime) -> int:
    out = git(repo, "log", f"--since={since.isoformat()}", "--format=%H")
    return len(out.split())


# --- one working tree, all its facts ------------------------------------------------------------------------

HISTORY = [  # (days ago, author); the window is the last 90 days before NOW
    (200, ("Old Timer", "old@example.com")),
    (120, ALICE),
    (90, ("Frank", "frank@example.com")),  # exactly at the window's start: inside, as for git log --since
    (80, ALICE),
    (70, ("Bob", "bob@example.com")),
    (60, ("Alice", "ALICE@Example.com")),  # the same author: e-mails group case-insensitively
    (50, ("Bob", "bob@example.com")),
    (40, ("Carol", "carol@example.com")),
    (30, ("Dave", "dave@example.com")),
    (20, ("Erin", "erin@example.com")),
    (10, ("Alice Smith", "alice@example.com")),  # her newest name wins
    (2.5, ("Bob", "bob@example.com")),
]


@pytest.fixture
def history_repo(tmp_path: Path) -> tuple[Path, dict[float, str]]:
    repo = init(tmp_path / "src" / "models-repo")
    shas = {}
    for n, (days, author) in enumerate(HISTORY):
        files = {"catalog-info.yaml": corpus("acme__team-a-group.yaml")} if n == 0 else None
        shas[days] = commit(repo, files, days_ago=days, author=author, message=f"change {n}")
    return repo, shas


@pytest.mark.parametrize("walk_limit", [24, 3, 0], ids=["cat-file walk", "walk then git log", "git log"])
def test_working_tree_last_commit_window_and_top_authors(history_repo, tmp_path, monkeypatch, walk_limit):
    monkeypatch.setattr(git_connector, "WALK_LIMIT", walk_limit)
    repo, shas = history_repo

    record = read_one(repo, tmp_path)

    assert record.error is None
    assert record.external_id == str(repo)
    assert record.url == str(repo)
    assert (record.name, record.host, record.default_branch) == ("models-repo", "", "main")
    assert record.last_commit == Commit(
        sha=shas[2.5],
        committed_at=datetime(2024, 5, 30, 0, 0, tzinfo=UTC),
        author_name="Bob",
        author_email="bob@example.com",
    )
    assert record.last_commit.committed_at.tzinfo is UTC
    assert record.window_days == 90
    assert record.commits_in_window == 10 == log_count(repo, NOW - timedelta(days=90))
    assert record.top_authors == (
        Author("Alice Smith", "alice@example.com", 3),
        Author("Bob", "bob@example.com", 3),
        Author("Carol", "carol@example.com", 1),
        Author("Dave", "dave@example.com", 1),
        Author("Erin", "erin@example.com", 1),
    )
    (descriptor,) = record.descriptors
    assert descriptor.path == "catalog-info.yaml" and descriptor.errors == ()
    assert [str(e.ref) for e in descriptor.entities][:2] == ["group:default/team-a", "user:default/person-1"]


def test_window_days_and_now_set_the_window(history_repo, tmp_path):
    repo, _ = history_repo
    record = read_one(repo, tmp_path, window_days=15)
    assert (record.commits_in_window, record.window_days) == (2, 15)
    assert [a.name for a in record.top_authors] == ["Alice Smith", "Bob"]

    later = GitConnector().fetch({"paths": [str(repo)]}, workdir=tmp_path, now=NOW + timedelta(days=365))
    (stale,) = later.repositories
    assert (stale.commits_in_window, stale.top_authors) == (0, ())
    assert stale.last_commit is not None and stale.last_commit.author_name == "Bob"


@pytest.mark.parametrize("walk_limit", [24, 0])
def test_window_count_matches_git_log_across_merges_and_skewed_clocks(tmp_path, monkeypatch, walk_limit):
    monkeypatch.setattr(git_connector, "WALK_LIMIT", walk_limit)
    repo = init(tmp_path / "merges")
    commit(repo, days_ago=150)
    commit(repo, days_ago=100)
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, {"f.txt": "1"}, days_ago=95, author=("Fay", "fay@example.com"))
    commit(repo, {"f.txt": "2"}, days_ago=40, author=("Fay", "fay@example.com"))
    commit(repo, {"f.txt": "3"}, days_ago=120, author=("Skew", "skew@example.com"))  # a clock in the past
    commit(repo, {"f.txt": "4"}, days_ago=30, author=("Fay", "fay@example.com"))
    git(repo, "checkout", "-q", "main")
    commit(repo, days_ago=60)
    git(repo, "merge", "-q", "--no-ff", "-m", "merge", "feature", when=NOW - timedelta(days=20))
    commit(repo, days_ago=5)

    record = read_one(repo, tmp_path)

    assert record.commits_in_window == log_count(repo, NOW - timedelta(days=90)) == 4
    assert {a.email: a.commits for a in record.top_authors} == {"alice@example.com": 3, "fay@example.com": 1}


# --- kinds of repositories ----------------------------------------------------------------------------------


def test_bare_repository_uses_the_branch_head_points_at(tmp_path):
    work = init(tmp_path / "work")
    commit(work, {"catalog-info.yaml": component("svc")}, days_ago=10)
    git(work, "checkout", "-q", "-b", "trunk")
    tip = commit(work, days_ago=3)
    bare = tmp_path / "served" / "svc.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    git(bare, "symbolic-ref", "HEAD", "refs/heads/trunk")

    record = read_one(bare, tmp_path)

    assert (record.name, record.url, record.default_branch) == ("svc", str(bare), "trunk")
    assert record.last_commit is not None and record.last_commit.sha == tip
    assert record.commits_in_window == 2
    assert [e.name for e in record.descriptors[0].entities] == ["svc"]


@pytest.mark.parametrize("bare", [False, True], ids=["working tree", "bare"])
def test_empty_repository_has_no_commits_and_no_error(tmp_path, bare):
    repo = init(tmp_path / "empty", bare=bare)

    record = read_one(repo, tmp_path)

    assert record == RepositoryRecord(
        external_id=str(repo),
        url=str(repo),
        name="empty",
        default_branch="main",
        window_days=90,
        authors_days=180,
    )


def test_checked_out_feature_branch_does_not_hide_the_default_branch(tmp_path):
    origin = init(tmp_path / "origin.git", bare=True)
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(origin), str(seed))
    commit(seed, {"catalog-info.yaml": component("on-main")}, days_ago=30)
    main_tip = commit(seed, days_ago=20)
    git(seed, "push", "-q", "origin", "main")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    git(clone, "checkout", "-q", "-b", "feature")
    commit(clone, {"catalog-info.yaml": component("on-feature")}, days_ago=1)
    commit(clone, days_ago=0.5, author=("Bob", "bob@example.com"))

    record = read_one(clone, tmp_path)

    assert record.default_branch == "main"
    assert record.last_commit is not None and record.last_commit.sha == main_tip
    assert record.commits_in_window == 2
    assert record.top_authors == (Author("Alice", "alice@example.com", 2),)
    assert [e.name for e in record.descriptors[0].entities] == ["on-main"]
    assert (record.url, record.host, record.external_id) == (str(origin), "", str(clone))


def test_origin_url_and_host_come_from_the_remote(tmp_path):
    repo = init(tmp_path / "checkout")
    commit(repo)
    git(repo, "remote", "add", "origin", "https://build:t0ken@git.example.com/ml/checkout.git")

    record = read_one(repo, tmp_path)

    assert record.url == "https://***@git.example.com/ml/checkout.git"
    assert (record.host, record.external_id, record.name) == ("git.example.com", str(repo), "checkout")


def test_detached_head_falls_back_to_main_then_to_the_detached_commit(tmp_path):
    repo = init(tmp_path / "detached")
    first = commit(repo, days_ago=3)
    tip = commit(repo, days_ago=1)
    git(repo, "checkout", "-q", "--detach", first)
    record = read_one(repo, tmp_path)
    assert (record.default_branch, record.last_commit.sha) == ("main", tip)

    git(repo, "branch", "-q", "-m", "main", "trunk")
    record = read_one(repo, tmp_path)
    assert (record.default_branch, record.last_commit.sha, record.commits_in_window) == ("", first, 1)


def test_linked_worktree_is_read_through_its_git_file(tmp_path):
    repo = init(tmp_path / "main-tree")
    commit(repo, {"catalog-info.yaml": component("shared")}, days_ago=2)
    git(repo, "branch", "-q", "side")
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", str(linked), "side")
    assert (linked / ".git").is_file()

    record = read_one(linked, tmp_path)

    assert record.error is None and record.default_branch == "side"
    assert [e.name for e in record.descriptors[0].entities] == ["shared"]


# --- descriptors --------------------------------------------------------------------------------------------


def test_broken_descriptor_is_an_error_on_the_file_not_the_repository(tmp_path):
    repo = init(tmp_path / "broken")
    commit(repo, {"catalog-info.yaml": "apiVersion: [unclosed\n"}, days_ago=2)
    commit(repo, {"catalog-info.yml": corpus("components__invalid-component.yaml")}, days_ago=1)

    record = read_one(repo, tmp_path)

    assert record.error is None
    assert record.commits_in_window == 2 and record.last_commit is not None
    bad_yaml, invalid = record.descriptors
    assert bad_yaml.path == "catalog-info.yaml" and not bad_yaml.complete
    assert "invalid YAML" in bad_yaml.errors[0].message
    assert invalid.path == "catalog-info.yml" and invalid.entities == ()
    assert {e.field for e in invalid.errors} == {"metadata.name", "metadata.tags.1"}


def test_location_targets_relative_paths_and_globs_from_the_commit(tmp_path):
    repo = init(tmp_path / "platform")
    commit(
        repo,
        {
            "catalog-info.yaml": location(
                "./catalog/teams.yaml", "./catalog/models/*.yaml", "../outside.yaml"
            ),
            "catalog/teams.yaml": corpus("acme__team-a-group.yaml"),
            "catalog/models/ranker.yaml": component("ranker"),
            "catalog/models/scorer.yaml": component("scorer"),
            "catalog/models/README.md": "not a descriptor",
            "catalog/models/deeper/other.yaml": component("not-matched-by-star"),
        },
    )
    (repo / "catalog/models/uncommitted.yaml").write_text(component("uncommitted"))

    record = read_one(repo, tmp_path)

    paths = [d.path for d in record.descriptors]
    assert paths == [
        "catalog-info.yaml",
        "catalog/teams.yaml",
        "catalog/models/ranker.yaml",
        "catalog/models/scorer.yaml",
    ]
    root = record.descriptors[0]
    assert [(e.field, "outside the root" in e.message) for e in root.errors] == [("spec.targets.2", True)]
    names = {e.name for d in record.descriptors for e in d.entities}
    assert {"ranker", "scorer", "team-a"} <= names and "uncommitted" not in names


def test_uncommitted_changes_are_not_read(tmp_path):
    repo = init(tmp_path / "dirty")
    commit(repo, {"catalog-info.yaml": component("committed")})
    (repo / "catalog-info.yaml").write_text(component("edited"))
    git(repo, "add", "catalog-info.yaml")  # staged, still not committed
    (repo / "catalog-info.yml").write_text(component("untracked"))

    record = read_one(repo, tmp_path)

    assert [(d.path, [e.name for e in d.entities]) for d in record.descriptors] == [
        ("catalog-info.yaml", ["committed"])
    ]


def test_descriptor_paths_are_configurable(tmp_path):
    repo = init(tmp_path / "custom")
    commit(repo, {"catalog-info.yaml": component("default"), ".backstage/entity.yaml": component("custom")})

    record = read_one(repo, tmp_path, descriptor_paths=[".backstage/entity.yaml"])

    assert [(d.path, d.entities[0].name) for d in record.descriptors] == [
        (".backstage/entity.yaml", "custom")
    ]


# --- finding repositories -----------------------------------------------------------------------------------


def test_directory_scan_finds_working_trees_and_bare_repositories(tmp_path):
    root = tmp_path / "repos"
    for path in ("alpha", "nested/deeper/beta", "team/gamma"):
        commit(init(root / path))
    source = init(tmp_path / "elsewhere")
    commit(source)
    git(tmp_path, "clone", "-q", "--bare", str(source), str(root / "delta.git"))
    commit(init(root / "alpha" / "vendored"))  # inside a found repository: not descended into
    commit(init(root / "too" / "deep" / "for" / "scan"))  # four levels down
    (root / "plain" / "sub").mkdir(parents=True)
    (root / "plain" / "notes.txt").write_text("not a repository")
    (root / "file.txt").write_text("a file")
    (root / "plain" / "loop").symlink_to(root)  # a symlink loop
    (root / "alias").symlink_to(root / "alpha")  # the same repository twice

    snapshot = fetch({"paths": [str(root)]}, tmp_path)

    assert snapshot.errors == () and snapshot.complete
    assert [r.external_id for r in snapshot.repositories] == [
        str(root / "alpha"),
        str(root / "delta.git"),
        str(root / "nested/deeper/beta"),
        str(root / "team/gamma"),
    ]
    assert [r.name for r in snapshot.repositories] == ["alpha", "delta", "beta", "gamma"]
    assert all(r.error is None and r.last_commit is not None for r in snapshot.repositories)

    shallow = fetch({"paths": [str(root)], "max_depth": 1}, tmp_path)
    assert [r.name for r in shallow.repositories] == ["alpha", "delta"]


def test_missing_path_is_a_source_error_and_the_listing_incomplete(tmp_path):
    good = init(tmp_path / "good")
    commit(good)
    missing = tmp_path / "nope"

    snapshot = fetch({"paths": [str(missing), str(good)]}, tmp_path)

    assert not snapshot.complete
    assert snapshot.errors == (f"{missing}: no such directory",)
    assert [r.external_id for r in snapshot.repositories] == [str(good)]


def test_corrupt_repository_gives_a_record_with_the_error(tmp_path):
    repo = init(tmp_path / "corrupt")
    tip = commit(repo)
    (repo / ".git" / "objects" / tip[:2] / tip[2:]).unlink()
    dangling = tmp_path / "dangling"
    dangling.mkdir()
    (dangling / ".git").write_text("gitdir: /nonexistent/place\n")

    snapshot = fetch({"paths": [str(repo), str(dangling)]}, tmp_path)

    corrupt, broken = sorted(snapshot.repositories, key=lambda r: r.name)
    assert corrupt.error is not None and corrupt.error.startswith(f"{repo}: ")
    assert "missing" in corrupt.error and corrupt.last_commit is None
    assert broken.error is not None and broken.error.startswith(f"{dangling}: ")


# --- remote repositories ------------------------------------------------------------------------------------


def test_file_url_is_mirrored_then_fetched_and_kept_when_the_origin_is_gone(tmp_path):
    origin = init(tmp_path / "remote" / "ranker.git", bare=True)
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(origin), str(seed))
    first = commit(seed, {"catalog-info.yaml": component("ranker")}, days_ago=3)
    git(seed, "push", "-q", "origin", "main")
    url = origin.as_uri()
    config = {"urls": [url]}

    (record,) = fetch(config, tmp_path).repositories
    mirror = mirror_path(tmp_path / "work", url)
    assert mirror.parent == tmp_path / "work" / "mirrors" and mirror.name.startswith("ranker-")
    assert (mirror / "HEAD").is_file()
    assert (record.external_id, record.url, record.name, record.host) == (url, url, "ranker", "")
    assert (record.error, record.default_branch, record.last_commit.sha) == (None, "main", first)
    assert [e.name for e in record.descriptors[0].entities] == ["ranker"]

    second = commit(seed, days_ago=1, author=("Bob", "bob@example.com"))
    git(seed, "push", "-q", "origin", "main")
    (record,) = fetch(config, tmp_path).repositories
    assert (record.last_commit.sha, record.commits_in_window) == (second, 2)

    shutil.rmtree(origin)
    (record,) = fetch(config, tmp_path).repositories
    assert record.error is not None and record.error.startswith(f"fetching {url} failed: ")
    assert "does not appear to be a git repository" in record.error
    assert record.last_commit is None
    assert (mirror / "HEAD").is_file()
    assert git(mirror, "rev-parse", "HEAD") == second


def test_mirror_follows_a_renamed_default_branch(tmp_path):
    origin = init(tmp_path / "origin.git", bare=True)
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(origin), str(seed))
    tip = commit(seed)
    git(seed, "push", "-q", "origin", "main")
    config = {"urls": [origin.as_uri()]}
    assert fetch(config, tmp_path).repositories[0].default_branch == "main"

    git(origin, "branch", "-m", "main", "trunk")

    (record,) = fetch(config, tmp_path).repositories
    assert (record.error, record.default_branch, record.last_commit.sha) == (None, "trunk", tip)


def test_failed_clone_redacts_credentials_and_leaves_no_mirror(tmp_path):
    url = "https://deploy:s3cret-token@127.0.0.1:9/ml/repo.git"  # nothing listens on port 9

    (record,) = fetch({"urls": [url]}, tmp_path).repositories

    assert record.external_id == record.url == "https://***@127.0.0.1:9/ml/repo.git"
    assert (record.name, record.host) == ("repo", "127.0.0.1")
    assert record.error is not None and "s3cret" not in record.error and "deploy" not in record.error
    assert record.error.startswith("fetching https://***@127.0.0.1:9/ml/repo.git failed: ")
    assert [p.name for p in (tmp_path / "work" / "mirrors").iterdir() if p.suffix == ".git"] == []


# --- config and registry ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"url": ["x"]}, "'url'"),
        ({"urls": "https://example.com/a.git"}, "'urls'"),
        ({"urls": ["ext::sh -c touch% /tmp/pwned"]}, "'urls'"),
        ({"urls": ["--upload-pack=touch /tmp/pwned"]}, "'urls'"),
        ({"urls": ["ftp://example.com/a.git"]}, "'urls'"),
        ({"paths": [""]}, "'paths'"),
        ({"window_days": 0}, "'window_days'"),
        ({"window_days": True}, "'window_days'"),
        ({"max_depth": -1}, "'max_depth'"),
        ({"descriptor_paths": ["../catalog-info.yaml"]}, "'descriptor_paths'"),
    ],
)
def test_bad_config_names_the_key(config, key):
    with pytest.raises(ValueError, match=key):
        parse_config(config)


def test_config_defaults_and_accepted_urls():
    config = parse_config(
        {
            "urls": [
                "https://github.com/org/a.git",
                "git@github.com:org/b.git",
                "ssh://git@host:2222/c",
                "file:///x",
            ]
        }
    )
    assert (config.window_days, config.max_depth, config.paths) == (90, 3, ())
    assert config.descriptor_paths == ("catalog-info.yaml", "catalog-info.yml")
    assert [git_connector.url_name(u) for u in config.urls] == ["a", "b", "c", "x"]
    assert [git_connector.url_host(u) for u in config.urls] == ["github.com", "github.com", "host", ""]


def test_redact_hides_credentials():
    assert redact("https://user:pw@h/r.git and http://tok@h/r") == "https://***@h/r.git and http://***@h/r"
    assert redact("ssh://git:pw@h/r") == "ssh://git:***@h/r"
    assert redact("ssh://git@h/r git@h:o/r.git") == "ssh://git@h/r git@h:o/r.git"


def test_registry_names_the_connectors():
    assert get_connector("git") is CONNECTORS["git"]
    assert {"git", "file"} <= set(CONNECTORS)
    with pytest.raises(ValueError, match=r"'svn'.*known: .*file.*git"):
        get_connector("svn")


def test_naive_now_is_refused(tmp_path):
    with pytest.raises(ValueError, match="aware"):
        GitConnector().fetch({}, workdir=tmp_path, now=datetime(2024, 1, 1))


# --- never hang, never prompt -------------------------------------------------------------------------------


def test_a_server_asking_for_credentials_fails_at_once(tmp_path, httpserver):
    httpserver.expect_request("/ml/private.git/info/refs").respond_with_data(
        "", status=401, headers={"WWW-Authenticate": 'Basic realm="git"'}
    )
    url = httpserver.url_for("/ml/private.git")

    (record,) = fetch({"urls": [url]}, tmp_path).repositories

    assert record.error is not None and "Authentication failed" in record.error


def test_a_silent_server_times_out(tmp_path, monkeypatch):
    monkeypatch.setattr(git_connector, "NETWORK_TIMEOUT", 1)
    with socket.socket() as server:  # accepts connections (the kernel does) and never answers
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        url = f"http://127.0.0.1:{server.getsockname()[1]}/ml/slow.git"

        (record,) = fetch({"urls": [url]}, tmp_path).repositories

    assert record.error == f"fetching {url} failed: git clone timed out after 1 s"


def test_a_slow_repository_read_times_out(tmp_path, monkeypatch):
    repo = init(tmp_path / "slow")
    commit(repo)
    monkeypatch.setattr(git_connector, "LOCAL_TIMEOUT", 0)

    (record,) = fetch({"paths": [str(repo)]}, tmp_path).repositories

    assert record.error == f"{repo}: git cat-file timed out after 0 s"
