"""Claiming and transferring a project's ownership: one function for the API, the pages and Slack."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from catalog.audit import acting
from catalog.models import Person, Project, Team
from catalog.permissions import can_edit_project, can_own, is_staff, managed_fields

if TYPE_CHECKING:
    from catalog.models import TransferRequest


def check_not_managed(project: Project) -> None:
    """Raise ValidationError on field ``owner`` when a descriptor declares the owner, naming the file."""
    locked = managed_fields(project).get("owner")
    if locked:
        message = f"the owner is set by {locked}: change spec.owner there"
        raise ValidationError({"owner": ValidationError(message, code="managed_by_descriptor")})


def set_owner(
    project: Project, owner: Team | Person, *, by, via: str = "", transfer: TransferRequest | None = None
) -> Project:
    """Make ``owner`` (a team or a person) the owner of ``project`` on behalf of the user ``by``.

    Who may: staff, to any team or person; the project's owners, to one of their own teams or themselves
    (a transfer), or to the team of an accepted ``transfer`` request for this project; anyone signed in,
    when the project has no known owner, to one of their teams or themselves (a claim). Raises
    ValidationError on field ``owner`` when the owner is declared by a descriptor (naming the file) or
    changed while this call decided, and PermissionDenied otherwise when ``by`` may not, judged on the
    project as stored, not on the ``project`` object given. Recorded in the audit log (actor ``by``,
    ``via``); once committed, the ownership rules are evaluated again (``OWNERSHIP_RULES``).
    """
    with transaction.atomic():
        # Decide on the row as it is now, locked (PostgreSQL): two claims at once must not both win.
        current = Project.objects.select_for_update().get(pk=project.pk)
        _check_may_set(current, owner, by=by, transfer=transfer)
        now = timezone.now()
        # Compare and set, for SQLite, where the lock above is a no-op: the write goes through only if the
        # owner is still the one decided on; the loser of a race is told, and changes nothing.
        still = Project.objects.filter(
            pk=current.pk, owner_team_id=current.owner_team_id, owner_person_id=current.owner_person_id
        ).update(updated_at=now)
        if not still:
            raise ValidationError(
                {"owner": f"the owner of {current.ref} changed while you asked: reload and try again"}
            )
        project.owner_team = owner if isinstance(owner, Team) else None
        project.owner_person = owner if isinstance(owner, Person) else None
        project.owner_ref = owner.ref.lower()
        project.updated_at = now
        with acting(by, via):
            project.save(update_fields=["owner_team", "owner_person", "owner_ref", "updated_at"])
        transaction.on_commit(_evaluate_ownership_rules)
    return project


OWNERSHIP_RULES = ["no-owner", "owner-unknown", "owner-inactive", "owner-team-empty"]


def _evaluate_ownership_rules() -> None:
    """Re-evaluate the rules about owners, so that a claim's "no owner" finding resolves at once (queued to
    a worker; run in-process when Celery is eager, as on a laptop)."""
    from catalog.tasks import evaluate_rules

    evaluate_rules.delay(OWNERSHIP_RULES)


def _check_may_set(project: Project, owner: Team | Person, *, by, transfer: TransferRequest | None) -> None:
    """Raise ValidationError or PermissionDenied (see ``set_owner``) unless ``by`` may make ``owner`` the
    owner of ``project`` as it is now."""
    check_not_managed(project)
    unowned = project.owner_team_id is None and project.owner_person_id is None
    if not (is_staff(by) or can_edit_project(by, project) or (unowned and by.is_authenticated)):
        raise PermissionDenied(
            f"{project.ref} is owned by {project.owner_ref}: only its owners or staff can transfer it"
        )
    requested = transfer is not None and transfer.project_id == project.pk and transfer.to_team == owner
    if not (requested or can_own(by, owner)):
        raise PermissionDenied(
            f"you can make only one of your own teams (or yourself) the owner, not {owner.ref}"
        )
