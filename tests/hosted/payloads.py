"""Payloads in the shapes GitHub's and GitLab's REST APIs document, built from the real examples in
``shared/corpus/ci`` (the OpenAPI example is unwrapped from its ``{"value": ...}``) and changed per test.
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "ci"  # shared/ lies beside the repo

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@cache
def corpus_json(name: str):
    data = json.loads((CORPUS / name).read_text())
    return data["value"] if isinstance(data, dict) and set(data) == {"value"} else data


def corpus_text(name: str) -> str:
    return (CORPUS / name).read_text()


GITHUB_WEBHOOK = (
    "octokit__webhooks__payload-examples__api.github.com__workflow_run__"
    "requested.with-conclusion.payload.json"
)
GITHUB_RUNS = (
    "github__rest-api-description__descriptions__api.github.com__api.github.com.json__components__examples__"
    "workflow-run-paginated.json"
)
GITLAB_PIPELINES = "gitlabhq__gitlabhq__doc__api__pipelines.md__list-project-pipelines.example-response.json"
GITLAB_HOOK = "xanzy__go-gitlab__testdata__webhooks__pipeline.json"
SB3_WORKFLOW = "DLR-RM__stable-baselines3__.github__workflows__ci.yml"
DEPLOY_WORKFLOW = "iterative__example-get-started-experiments__.github__workflows__deploy-model.yml"
MEGATRON_CI = "NVIDIA__Megatron-LM__.gitlab-ci.yml"


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# GitHub


def gh_repo(repo_id: int, name: str, *, org: str = "ml-org", branch: str = "main", **fields) -> dict:
    """A repository as ``GET /orgs/{org}/repos`` lists it (the webhook's ``repository`` plus topics)."""
    repo = copy.deepcopy(corpus_json(GITHUB_WEBHOOK)["repository"])
    full = f"{org}/{name}"
    repo.update(
        id=repo_id,
        name=name,
        full_name=full,
        html_url=f"https://github.com/{full}",
        clone_url=f"https://github.com/{full}.git",
        url=f"https://api.github.com/repos/{full}",
        default_branch=branch,
        topics=fields.pop("topics", ["ml"]),
    )
    repo.update(fields)
    return repo


def gh_commit(
    sha: str, when: datetime, *, name: str = "Ada Lovelace", email: str = "ada@example.com"
) -> dict:
    """A commit as ``GET /repos/{o}/{r}/commits`` lists it."""
    person = {"name": name, "email": email, "date": iso(when)}
    return {
        "sha": sha,
        "node_id": "C_" + sha[:8],
        "commit": {
            "author": dict(person),
            "committer": dict(person),
            "message": "Train a better model",
            "tree": {"sha": "f" * 40, "url": "https://api.github.com/repos/o/r/git/trees/" + "f" * 40},
            "url": f"https://api.github.com/repos/o/r/git/commits/{sha}",
            "comment_count": 0,
            "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None},
        },
        "url": f"https://api.github.com/repos/o/r/commits/{sha}",
        "html_url": f"https://github.com/o/r/commit/{sha}",
        "author": {"login": "ada", "id": 1, "type": "User"},
        "committer": {"login": "ada", "id": 1, "type": "User"},
        "parents": [],
    }


def gh_file(path: str, text: str) -> dict:
    """A file as the contents API returns it: base64 wrapped at 60 characters, as GitHub does."""
    encoded = base64.b64encode(text.encode()).decode()
    wrapped = "\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60)) + "\n"
    return {
        "type": "file",
        "encoding": "base64",
        "size": len(text.encode()),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "content": wrapped,
        "sha": "3d21ec53a331a6f037a91c368710b99387d012c1",
        "url": f"https://api.github.com/repos/o/r/contents/{path}",
        "git_url": "https://api.github.com/repos/o/r/git/blobs/3d21ec53a331a6f037a91c368710b99387d012c1",
        "html_url": f"https://github.com/o/r/blob/main/{path}",
        "download_url": f"https://raw.githubusercontent.com/o/r/main/{path}",
        "_links": {},
    }


def gh_dir(*names: str, dirs: tuple[str, ...] = ()) -> list[dict]:
    """A directory listing as the contents API returns it."""
    return [{"type": "file", "name": n, "path": n, "sha": "a" * 40, "size": 10} for n in names] + [
        {"type": "dir", "name": d, "path": d, "sha": "b" * 40, "size": 0} for d in dirs
    ]


def gh_workflow(workflow_id: int, name: str, path: str, *, state: str = "active") -> dict:
    """A workflow as ``GET .../actions/workflows`` lists it (the webhook's ``workflow`` shape)."""
    workflow = copy.deepcopy(corpus_json(GITHUB_WEBHOOK)["workflow"])
    workflow.update(id=workflow_id, name=name, path=path, state=state)
    return workflow


def gh_run(
    run_id: int,
    workflow_id: int,
    *,
    status: str = "completed",
    conclusion: str | None = "success",
    created: datetime = NOW,
    branch: str = "main",
    number: int = 1,
    repo: tuple[int, str] = (101, "ml-org/fraud-model"),
    head: tuple[int, str] | None = None,
) -> dict:
    """A workflow run as ``GET .../actions/runs`` lists it (GitHub's OpenAPI example, changed), of the
    repository ``repo`` (id, full name) on a branch of ``head`` (a fork's; the repository's by default)."""
    run = copy.deepcopy(corpus_json(GITHUB_RUNS)["workflow_runs"][0])
    run["repository"].update(id=repo[0], full_name=repo[1])
    run["head_repository"].update(id=(head or repo)[0], full_name=(head or repo)[1])
    run.update(
        id=run_id,
        workflow_id=workflow_id,
        status=status,
        conclusion=conclusion,
        head_branch=branch,
        run_number=number,
        created_at=iso(created),
        run_started_at=iso(created + timedelta(seconds=5)),
        updated_at=iso(created + timedelta(minutes=7)),
        html_url=f"https://github.com/ml-org/repo/actions/runs/{run_id}",
    )
    return run


# GitLab


def gl_project(project_id: int, path: str, *, branch: str = "main", **fields) -> dict:
    """A project as ``GET /groups/:id/projects`` lists it."""
    namespace, _, name = path.rpartition("/")
    project = {
        "id": project_id,
        "description": None,
        "name": name,
        "name_with_namespace": path.replace("/", " / "),
        "path": name,
        "path_with_namespace": path,
        "created_at": "2024-01-10T10:00:00.000Z",
        "default_branch": branch,
        "tag_list": [],
        "topics": ["ml"],
        "ssh_url_to_repo": f"git@gitlab.example.com:{path}.git",
        "http_url_to_repo": f"https://gitlab.example.com/{path}.git",
        "web_url": f"https://gitlab.example.com/{path}",
        "readme_url": None,
        "forks_count": 0,
        "avatar_url": None,
        "star_count": 0,
        "last_activity_at": "2026-01-01T00:00:00.000Z",
        "namespace": {"id": 7, "name": namespace, "path": namespace, "kind": "group", "full_path": namespace},
        "archived": False,
        "empty_repo": False,
        "visibility": "private",
        "ci_config_path": "",
        "builds_access_level": "enabled",
    }
    project.update(fields)
    return project


def gl_commit(
    sha: str, when: datetime, *, name: str = "Grace Hopper", email: str = "grace@example.com"
) -> dict:
    """A commit as ``GET /projects/:id/repository/commits`` lists it."""
    stamp = when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "id": sha,
        "short_id": sha[:8],
        "title": "Tune the learning rate",
        "author_name": name,
        "author_email": email,
        "authored_date": stamp,
        "committer_name": name,
        "committer_email": email,
        "committed_date": stamp,
        "created_at": stamp,
        "message": "Tune the learning rate",
        "parent_ids": [],
        "web_url": f"https://gitlab.example.com/-/commit/{sha}",
    }


def gl_file(path: str, text: str) -> dict:
    """A file as ``GET /projects/:id/repository/files/:path`` returns it."""
    return {
        "file_name": path.rsplit("/", 1)[-1],
        "file_path": path,
        "size": len(text.encode()),
        "encoding": "base64",
        "content": base64.b64encode(text.encode()).decode(),
        "content_sha256": "4c294617b60715c1d218e61164a3abd4808a4284cbc30e6728a01ad9aada4481",
        "ref": "main",
        "blob_id": "79f7bbd25901e8334750839545a9bd021f0e4c83",
        "commit_id": "d5a3ff139356ce33e37e73add446f16869741b50",
        "last_commit_id": "570e7b2abdd848b95f2f578043fc23bd6f6fd24d",
    }


def gl_tree(*names: str) -> list[dict]:
    return [{"id": "a" * 40, "name": n, "type": "blob", "path": n, "mode": "100644"} for n in names]


def gl_pipeline(
    pipeline_id: int, *, status: str = "success", created: datetime = NOW, ref: str = "main", iid: int = 1
) -> dict:
    """A pipeline as ``GET /projects/:id/pipelines`` lists it (GitLab's documented example, changed)."""
    pipeline = copy.deepcopy(corpus_json(GITLAB_PIPELINES)[0])
    stamp = created.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    pipeline.update(
        id=pipeline_id,
        iid=iid,
        status=status,
        ref=ref,
        created_at=stamp,
        updated_at=(created + timedelta(minutes=9)).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        web_url=f"https://gitlab.example.com/ml/pipelines/{pipeline_id}",
    )
    return pipeline
