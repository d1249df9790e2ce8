"""Plain records that connectors return and the sync writes to the catalog.

Records are frozen dataclasses in the portal's vocabulary (Backstage's and Git's terms). They never
reference the ORM: a connector can be tested with nothing but a git repository or a local HTTP server.
All timestamps are aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class DescriptorError:
    """One problem in a descriptor file.

    ``path`` is the file (relative to its repository or source root), ``document`` the 1-based index of
    the YAML document in a multi-document file (``None`` when the whole file is at fault, e.g. bad YAML),
    ``field`` a dotted path such as ``metadata.name`` or ``spec.owner`` (``None`` when no single field is).
    """

    path: str
    message: str
    document: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.path
        if self.document is not None:
            where += f", document {self.document}"
        if self.field:
            where += f", field {self.field}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class EntityRef:
    """A Backstage entity reference ``[kind:][namespace/]name``, with kind lowercased.

    Spec: https://backstage.io/docs/features/software-catalog/references
    """

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Entity:
    """One valid Backstage entity read from a descriptor document.

    ``kind`` keeps Backstage's spelling (``Component``, ``Group``, ...); ``namespace`` defaults to
    ``default``; ``spec`` is the document's spec mapping as parsed (validated for the kinds the portal
    imports); ``path`` and ``document`` say where it was declared (``document`` is 1-based).
    """

    api_version: str
    kind: str
    namespace: str
    name: str
    path: str
    document: int
    title: str = ""
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    links: tuple[dict[str, str], ...] = ()
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> EntityRef:
        return EntityRef(self.kind.lower(), self.namespace, self.name)


@dataclass(frozen=True)
class DescriptorFile:
    """A descriptor file that was read: its valid entities and its errors.

    ``path`` is relative to the repository or source root; ``errors`` holds every problem found, and the
    valid documents of the same file are still in ``entities``. ``failed_documents`` lists the 1-based
    indexes of documents that could not be read (their previous catalog data must be kept), and
    ``complete`` is False when the file could not be read to its end (bad YAML, unreadable file), so the
    entities it declared before are not to be taken as gone.
    """

    path: str
    entities: tuple[Entity, ...] = ()
    errors: tuple[DescriptorError, ...] = ()
    failed_documents: tuple[int, ...] = ()
    complete: bool = True


@dataclass(frozen=True)
class Commit:
    """A git commit: full sha, committer time (aware UTC), author name and e-mail."""

    sha: str
    committed_at: datetime
    author_name: str
    author_email: str


@dataclass(frozen=True)
class Author:
    """A commit author in a time window, with their number of commits."""

    name: str
    email: str
    commits: int


@dataclass(frozen=True)
class TemplateRef:
    """A shared CI template a pipeline uses, as declared in its file.

    ``kind`` is one of ``TEMPLATE_KINDS``: a GitHub reusable workflow (``jobs.<id>.uses:
    org/repo/.github/workflows/x.yml@ref``), a GitLab ``include:`` of another project's file, a CI/CD
    component, a GitLab-provided template, a remote URL, or a CI configuration kept in another project
    (``ci_config_path`` ``file@group/project:ref``). ``project`` is ``owner/repo`` or the GitLab project path
    (empty for GitLab's own templates and remote URLs), ``file`` the path in it without a leading slash (the
    component name for a component, the URL for a remote include), ``ref`` the branch, tag or sha ('' when
    none is named: the project's default branch).
    """

    kind: str
    project: str
    file: str
    ref: str = ""

    @property
    def identity(self) -> str:
        """``project/file`` (or ``file`` alone), lowercased: what a standard template setting names."""
        return (f"{self.project}/{self.file}" if self.project else self.file).lower()


TEMPLATE_KINDS = (
    "github-reusable-workflow",
    "gitlab-include-project",
    "gitlab-component",
    "gitlab-template",
    "gitlab-include-remote",
    "gitlab-external-config",
)


@dataclass(frozen=True)
class PipelineRunRecord:
    """One run of a pipeline: a GitHub Actions workflow run or a GitLab pipeline.

    ``status`` and ``conclusion`` are the provider's own values, as it sent them (GitHub: status
    ``queued``/``in_progress``/``completed``/..., conclusion ``success``/``failure``/... or '' while
    running; GitLab: status ``running``/``success``/``failed``/..., no conclusion). ``portal_status`` is the
    mapped value, one of ``catalog.connectors.ci.PORTAL_STATUSES``. ``created_at`` orders runs;
    ``started_at`` / ``finished_at`` are None when unknown. All times aware UTC. ``attempts_counted``:
    ``run_attempt`` is the provider's count of re-runs (GitHub's), so a finished attempt never runs again;
    False where a retry reuses the run as it is (GitLab's pipelines, GitHub Enterprise before
    ``run_attempt``).
    """

    external_id: str
    status: str
    conclusion: str
    portal_status: str
    branch: str
    commit_sha: str
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    url: str = ""
    run_number: int | None = None
    run_attempt: int = 1
    event: str = ""
    attempts_counted: bool = False


@dataclass(frozen=True)
class PipelineRecord:
    """A CI pipeline of a repository and its recent runs on the default branch, newest first.

    ``provider`` is ``github-actions`` or ``gitlab-ci``; ``external_id`` is stable per repository (the
    workflow id; the CI configuration path for GitLab); ``state`` the provider's (``active``,
    ``disabled_manually``, ...). ``templates`` are the shared templates its file uses, in the order
    declared; ``config_error`` says why the file could not be read for them ('' when it could).
    """

    provider: str
    external_id: str
    name: str
    file_path: str = ""
    state: str = "active"
    url: str = ""
    templates: tuple[TemplateRef, ...] = ()
    config_error: str = ""
    runs: tuple[PipelineRunRecord, ...] = ()


@dataclass(frozen=True)
class ScorecardsFileRecord:
    """The scorecards YAML file of the repository a source names for it, read from the default branch.

    ``path`` is relative to the repository root; ``location`` names the file for people and in errors
    (its web URL, or ``<repository>@<branch>:<path>`` for plain git); ``text`` is its content; ``error``
    says why it could not be read (missing, not UTF-8, too large), and the sync then keeps the stored
    scorecards. The sync parses and validates the text (``catalog.scorecards.spec``).
    """

    path: str
    location: str
    text: str = ""
    error: str | None = None


@dataclass(frozen=True)
class RepositoryRecord:
    """What a connector read of one repository.

    ``external_id`` is stable per source (the clone URL, or the absolute path of a local repository).
    When ``error`` is set, the repository could not be read and every other fact is unknown: the sync keeps
    the last good data. ``last_commit`` is ``None`` for an empty repository. ``commits_in_window`` counts
    commits on the default branch in the last ``window_days`` days; ``top_authors`` are that window's most
    frequent authors, most commits first; ``authors`` every author of the last ``authors_days`` days, most
    commits first (connectors that read one window only give it for both). ``topics`` are the hosting
    service's topics (GitHub) or topics (GitLab); ``pipelines`` the CI pipelines read with it (none for
    sources that do not read CI); ``scorecards`` the scorecards file, for the repository that the source's
    ``scorecards_repository`` names (None for every other).
    """

    external_id: str
    url: str
    name: str
    host: str = ""
    default_branch: str = ""
    archived: bool = False
    last_commit: Commit | None = None
    commits_in_window: int = 0
    window_days: int = 90
    top_authors: tuple[Author, ...] = ()
    authors: tuple[Author, ...] = ()
    authors_days: int = 90
    descriptors: tuple[DescriptorFile, ...] = ()
    error: str | None = None
    topics: tuple[str, ...] = ()
    pipelines: tuple[PipelineRecord, ...] = ()
    scorecards: ScorecardsFileRecord | None = None


@dataclass(frozen=True)
class RunRecord:
    """The training run of a model version (MLflow's run), as far as the portal needs it.

    ``git_repo_url`` and ``git_commit`` come from the run's tags ``mlflow.source.git.repoURL`` and
    ``mlflow.source.git.commit`` ('' when absent); ``metrics`` maps metric keys to their latest value
    (None for NaN or infinity); ``started_at`` / ``ended_at`` are aware UTC (None when unknown).
    """

    run_id: str
    status: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None
    git_repo_url: str = ""
    git_commit: str = ""
    metrics: dict[str, float | None] = field(default_factory=dict)
    url: str = ""


@dataclass(frozen=True)
class ModelVersionRecord:
    """One version of a registered model, in the model registry's terms (MLflow's, for now).

    ``version`` is the registry's version string (MLflow: "1", "2", ...); ``aliases`` the aliases that
    point at it (taken from the registered model's alias map); ``stage`` the legacy stage ('' for none,
    else e.g. ``Staging``, ``Production``, ``Archived``); ``status`` the registry's own value (MLflow:
    ``READY``, ``PENDING_REGISTRATION``, ``FAILED_REGISTRATION``). ``run`` is the training run when it
    was read; when the version names a run that could not be read, ``run`` is None and ``run_error`` says
    why (the sync then keeps the run facts stored before). Times are aware UTC.
    """

    version: str
    registered_at: datetime | None = None
    last_updated_at: datetime | None = None
    aliases: tuple[str, ...] = ()
    stage: str = ""
    status: str = ""
    status_message: str = ""
    description: str = ""
    source: str = ""
    run_id: str = ""
    user_id: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    url: str = ""
    run: RunRecord | None = None
    run_error: str | None = None


@dataclass(frozen=True)
class RegisteredModelRecord:
    """A registered model (MLflow's term) and all its versions, from any model registry.

    ``name`` is unique per source; ``aliases`` maps each alias to the version it points at; ``versions``
    lists every version the registry holds (a version missing here was deleted there). When ``error`` is
    set the versions could not be read: the sync keeps the model's last good data. Times are aware UTC.
    """

    name: str
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    registered_at: datetime | None = None
    last_updated_at: datetime | None = None
    url: str = ""
    versions: tuple[ModelVersionRecord, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class SourceSnapshot:
    """Everything one connector run read from a source.

    ``repositories`` are the repositories found (a repository missing here is gone from the source);
    ``descriptors`` are descriptor files read outside any repository (the ``file`` source kind);
    ``registered_models`` are the registered models of a model registry (a model missing here is gone);
    ``errors`` are source-level problems (e.g. a directory that does not exist): when ``complete`` is
    False the listing itself failed, or only some repositories were read (a targeted read), and nothing
    may be taken as gone but the ``excluded`` ones. A targeted read names in ``skipped`` the repositories
    asked for that lie outside the source (another organization, user or group: left as they are), and in
    ``excluded`` the external ids of those the source's filters leave out (archived, a fork, no wanted
    topic or name: gone, as from a full listing).
    """

    repositories: tuple[RepositoryRecord, ...] = ()
    descriptors: tuple[DescriptorFile, ...] = ()
    errors: tuple[str, ...] = ()
    complete: bool = True
    registered_models: tuple[RegisteredModelRecord, ...] = ()
    skipped: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
