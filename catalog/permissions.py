"""Who may read and who may change what: one place for the pages, the API and Slack actions.

Rules: signed-in users read everything (anyone does when ``PORTAL["ANONYMOUS_READ"]`` is on); staff change
everything; a project's owners change it: the members of its owning team, or the person who owns it.
Sources and sync runs are for staff only. What a descriptor or a source's sync sets on a project is
changed there, never in the portal (``managed_fields``).
"""

from __future__ import annotations

from django.conf import settings

from catalog.models import Finding, Person, Project, Team

# Fields of a project written by the sync for a project found in a repository (no descriptor).
FOUND_PROJECT_FIELDS = ("namespace", "name", "title", "repository")
# Fields of a project written from its descriptor (sync._entity_values for kind Component).
DECLARED_PROJECT_FIELDS = (
    "namespace",
    "name",
    "title",
    "description",
    "labels",
    "annotations",
    "tags",
    "links",
    "type",
    "lifecycle",
    "owner",
    "system",
    "repository",
)


def can_read(user) -> bool:
    """Whether ``user`` (maybe anonymous) may read the catalog."""
    return bool(user.is_authenticated or settings.PORTAL.get("ANONYMOUS_READ", False))


def is_staff(user) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def person_of(user) -> Person | None:
    """The Person linked to ``user``, or None (anonymous users and accounts with no profile)."""
    if not user.is_authenticated:
        return None
    try:
        return user.person
    except Person.DoesNotExist:
        return None


def teams_of(user) -> list[Team]:
    """The teams whose members include ``user``'s person, by name."""
    person = person_of(user)
    return list(person.teams.order_by("name")) if person else []


def is_member(user, team_id: int | None) -> bool:
    """Whether ``user``'s person is a member of the team ``team_id``."""
    person = person_of(user)
    if person is None or team_id is None:
        return False
    return Team.members.through.objects.filter(team_id=team_id, person_id=person.pk).exists()


def can_edit_project(user, project: Project) -> bool:
    """Whether ``user`` may change ``project`` (its fields, facts, findings' triage, ownership).

    True for active staff, for the person who owns it and for the members of the team that owns it.
    """
    if is_staff(user):
        return True
    if not (user.is_authenticated and user.is_active):
        return False
    person = person_of(user)
    if person is None:
        return False
    if project.owner_person_id is not None:
        return project.owner_person_id == person.pk
    return is_member(user, project.owner_team_id)


def can_edit_person(user, person: Person) -> bool:
    """Whether ``user`` may edit ``person``'s profile (git e-mails, Slack member id): active staff, and the
    person themself (the Django user linked to them)."""
    if is_staff(user):
        return True
    return bool(user.is_authenticated and user.is_active and person.user_id == user.pk)


def can_triage_finding(user, finding: Finding) -> bool:
    """Whether ``user`` may acknowledge or snooze ``finding``: those who may change its subject.

    A team's finding belongs to the team's members; a registered model's to its project's owners (staff
    only while it is linked to no project).
    """
    if is_staff(user):
        return True
    if finding.project_id is not None:
        return can_edit_project(user, finding.project)
    if finding.team_id is not None:
        return user.is_active and is_member(user, finding.team_id)
    model = getattr(finding, "registered_model", None)
    if model is not None and model.project_id is not None:
        return can_edit_project(user, model.project)
    return False


def can_own(user, owner: Team | Person) -> bool:
    """Whether ``user`` may make ``owner`` a project's owner: staff any; others one of their teams or
    themselves."""
    if is_staff(user):
        return True
    if isinstance(owner, Person):
        person = person_of(user)
        return person is not None and person.pk == owner.pk
    return is_member(user, owner.pk)


def managed_fields(project: Project) -> dict[str, str]:
    """The fields of ``project`` that the portal must not change, each with who sets them.

    A project declared by a descriptor: every field the descriptor declares, set by that file (named with
    its repository). A project found in a repository with no descriptor: its name and title, set by the
    sync of its source. A project made in the portal: none.
    """
    if project.descriptor_id is not None:
        owner = f"the descriptor {describe_descriptor(project)}"
        return {field: owner for field in DECLARED_PROJECT_FIELDS}
    if project.source_id is not None:
        owner = f"the sync of source {project.source.name!r}, which found it in its repository"
        return {field: owner for field in FOUND_PROJECT_FIELDS}
    return {}


def describe_descriptor(entity: Project | Person | Team) -> str:
    """Where a declared entity's descriptor lives: ``catalog-info.yaml in repository fraud-model``."""
    descriptor = entity.descriptor
    if descriptor is None:
        return ""
    where = f"in repository {descriptor.repository.name}" if descriptor.repository_id else "on disk"
    return f"{descriptor.path} {where} (source {descriptor.source.name!r})"


def team_managed_by(team: Team) -> str:
    """Who sets ``team``: '' for a team made in the portal, else its descriptor file (or source) to edit."""
    if team.descriptor_id is not None:
        descriptor = team.descriptor
        where = f"in repository {descriptor.repository.name}" if descriptor.repository_id else "on disk"
        return f"the descriptor {descriptor.path} {where} (source {descriptor.source.name!r})"
    if team.source_id is not None:
        return f"the source {team.source.name!r}"
    return ""


def can_edit_team(user, team: Team) -> bool:
    """Whether ``user`` may change ``team`` in the portal (its fields and members).

    Never for a team a descriptor or source manages (``team_managed_by``); else active staff and the
    team's members.
    """
    if team_managed_by(team):
        return False
    if is_staff(user):
        return True
    return bool(user.is_authenticated and user.is_active and is_member(user, team.pk))


def can_create_team(user) -> bool:
    """Whether ``user`` may make a team in the portal: active staff, and signed-in people with a Person."""
    if is_staff(user):
        return True
    return bool(user.is_authenticated and user.is_active and person_of(user) is not None)
