"""Shared fixtures: the three users every permission test uses, a staff user, and a small catalog factory.

The users (STYLE.md): ``owner`` owns a project directly and is a member of ``team``; ``member`` is only a
member of ``team``, which owns a project; ``outsider`` has an account and nothing else; ``staff`` may use
the admin. All share ``PASSWORD``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from catalog.models import (
    DescriptorFile,
    Finding,
    Person,
    Project,
    RegisteredModel,
    Repository,
    Severity,
    Source,
    SyncRun,
    Team,
)

PASSWORD = "a-long-test-password-1"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


class CatalogFactory:
    """Makes catalog rows with sensible defaults; every keyword overrides a model field.

    Dates are fixed around ``NOW`` (2025-06-01 12:00 UTC) so pages and rankings are deterministic.
    """

    def __init__(self):
        self.now = NOW
        self._source = None

    @property
    def default_source(self) -> Source:
        if self._source is None:
            self._source = self.source("git-main")
        return self._source

    def source(self, name: str, **fields) -> Source:
        fields.setdefault("kind", Source.Kind.GIT)
        return Source.objects.create(name=name, **fields)

    def team(self, name: str, **fields) -> Team:
        fields.setdefault("title", name.replace("-", " ").title())
        return Team.objects.create(name=name, **fields)

    def person(self, name: str, *, teams=(), **fields) -> Person:
        person = Person.objects.create(name=name, **fields)
        for team in teams:
            team.members.add(person)
        return person

    def repository(self, name: str, **fields) -> Repository:
        fields.setdefault("source", self.default_source)
        fields.setdefault("external_id", f"https://git.example.com/ml/{name}.git")
        fields.setdefault("url", f"https://git.example.com/ml/{name}")
        fields.setdefault("host", "git.example.com")
        fields.setdefault("default_branch", "main")
        fields.setdefault("last_commit_sha", "0123456789abcdef0123456789abcdef01234567")
        fields.setdefault("last_commit_at", self.now - timedelta(days=10))
        fields.setdefault("last_commit_author_name", "Ada Lovelace")
        fields.setdefault("last_commit_author_email", "ada@example.com")
        fields.setdefault("commits_in_window", 12)
        fields.setdefault(
            "top_authors", [{"name": "Ada Lovelace", "email": "ada@example.com", "commits": 12}]
        )
        fields.setdefault("last_read_at", self.now - timedelta(hours=1))
        return Repository.objects.create(name=name, **fields)

    def project(self, name: str, *, owner: Team | Person | None = None, repository=True, **fields) -> Project:
        """A project; ``owner`` sets owner_ref and the matching foreign key; ``repository=True`` makes one."""
        if repository is True:
            repository = self.repository(name)
        if isinstance(owner, Team):
            fields.update(owner_team=owner, owner_ref=f"group:{owner.namespace}/{owner.name}")
        elif isinstance(owner, Person):
            fields.update(owner_person=owner, owner_ref=f"user:{owner.namespace}/{owner.name}")
        fields.setdefault("lifecycle", "production")
        fields.setdefault("type", "ml-model")
        fields.setdefault("source", self.default_source)
        return Project.objects.create(name=name, repository=repository or None, **fields)

    def finding(
        self, subject, rule: str, *, severity: int = Severity.WARNING, message: str = "", **fields
    ) -> Finding:
        """A finding on a project or a team, first seen ``age_days`` days ago (default 30)."""
        age_days = fields.pop("age_days", 30)
        fields.setdefault("first_seen_at", self.now - timedelta(days=age_days))
        fields.setdefault("last_seen_at", self.now)
        fields.setdefault("evidence", {})
        subject_field = {Team: "team", RegisteredModel: "registered_model"}.get(type(subject), "project")
        return Finding.objects.create(
            rule=rule,
            severity=severity,
            message=message or f"{rule} holds for {subject.name}.",
            **{subject_field: subject},
            **fields,
        )

    def registered_model(self, name: str, *, project: Project | None = None, **fields) -> RegisteredModel:
        """A registered model (an orphan unless ``project`` is given)."""
        fields.setdefault("source", self.default_source)
        fields.setdefault("url", f"https://mlflow.example.com/#/models/{name}")
        return RegisteredModel.objects.create(name=name, project=project, **fields)

    def descriptor_file(self, path: str = "catalog-info.yaml", **fields) -> DescriptorFile:
        fields.setdefault("source", self.default_source)
        fields.setdefault("read_at", self.now)
        return DescriptorFile.objects.create(path=path, **fields)

    def sync_run(self, source: Source | None = None, **fields) -> SyncRun:
        fields.setdefault("status", SyncRun.Status.SUCCESS)
        fields.setdefault("started_at", self.now - timedelta(minutes=5))
        if fields["status"] != SyncRun.Status.RUNNING:
            fields.setdefault("finished_at", fields["started_at"] + timedelta(seconds=42))
        return SyncRun.objects.create(source=source or self.default_source, **fields)

    def populate(self, projects: int, *, start: int = 0) -> list[Project]:
        """``projects`` more projects over two teams, each with a repository, a descriptor and findings.

        Names are ``project-000``, ``project-001``, ... from ``start``; calling again with ``start`` past the
        last one grows the same catalog (same teams and person). Every fifth project is owned by a person,
        every third has descriptor errors, every second an open error finding; each has an open warning
        and a resolved finding. Also adds a team finding (once), and per call a sync run and two registered
        models with a finding each (one an orphan, one linked to the first new project).
        """
        teams = [
            Team.objects.get_or_create(name=f"team-{i}", defaults={"title": f"Team {i}"})[0] for i in (0, 1)
        ]
        person = Person.objects.filter(name="maintainer").first() or self.person("maintainer", teams=teams)
        made = []
        for i in range(start, start + projects):
            owner = person if i % 5 == 4 else teams[i % 2]
            project = self.project(f"project-{i:03d}", owner=owner, tags=["ml", f"t{i}"])
            errors = (
                []
                if i % 3
                else [
                    {
                        "path": "catalog-info.yaml",
                        "document": 1,
                        "field": "spec.owner",
                        "message": "is required",
                    }
                ]
            )
            project.descriptor = self.descriptor_file(repository=project.repository, errors=errors)
            project.save(update_fields=["descriptor"])
            self.finding(
                project,
                "stale-code",
                age_days=100 + i,
                evidence={"last_commit_at": "2025-01-01T00:00:00+00:00", "url": project.repository.url},
            )
            if i % 2:
                self.finding(project, "no-owner", severity=Severity.ERROR)
            self.finding(project, "owner-unknown", resolved_at=self.now - timedelta(days=1))
            made.append(project)
        if not teams[0].findings.exists():
            self.finding(teams[0], "invalid-descriptor", severity=Severity.ERROR)
        for model in (
            self.registered_model(f"model-{start}"),
            self.registered_model(f"model-{start}-linked", project=made[0]),
        ):
            self.finding(
                model, "orphan-model" if model.project is None else "stale-model", severity=Severity.WARNING
            )
        self.sync_run(
            errors=[{"item": f"repo-{start}", "message": "clone failed"}], status="partial", failed=1
        )
        return made


@pytest.fixture
def catalog(db) -> CatalogFactory:
    return CatalogFactory()


@pytest.fixture
def team(catalog) -> Team:
    return catalog.team("ml-platform", title="ML Platform")


@pytest.fixture
def owner(catalog, team, django_user_model):
    user = django_user_model.objects.create_user("owner", email="owner@example.com", password=PASSWORD)
    person = catalog.person("owner", user=user, email=user.email, teams=[team])
    catalog.project("owner-notebook", owner=person, type="notebook", lifecycle="experimental")
    return user


@pytest.fixture
def member(catalog, team, django_user_model):
    user = django_user_model.objects.create_user("member", email="member@example.com", password=PASSWORD)
    catalog.person("member", user=user, email=user.email, teams=[team])
    if not Project.objects.filter(name="team-model").exists():
        catalog.project("team-model", owner=team)
    return user


@pytest.fixture
def outsider(db, django_user_model):
    return django_user_model.objects.create_user("outsider", email="outsider@example.com", password=PASSWORD)


@pytest.fixture
def staff(db, django_user_model):
    return django_user_model.objects.create_user(
        "staff", email="staff@example.com", password=PASSWORD, is_staff=True
    )
