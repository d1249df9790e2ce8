"""Handing a project over: a team asks for it, the project's owners (or staff) accept or decline.

Accepting makes the team the owner through ``ownership.set_owner``, the one write path of ownership.
Every step is a TransferRequest change, so the audit log records who asked, who decided and when.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.audit import acting
from catalog.models import Project, Team, TransferRequest
from catalog.ownership import check_not_managed, set_owner
from catalog.permissions import can_edit_project, can_own, is_staff


def request_transfer(project: Project, team: Team, *, by, reason: str = "", via: str = "") -> TransferRequest:
    """Ask, on behalf of the user ``by``, that ``team`` (one of theirs) becomes the owner of ``project``.

    Raises ValidationError on field ``owner`` when a descriptor declares the owner (naming the file), on
    ``team`` when the project has no owner (claim it instead), when the team owns it already or has a
    pending request for it; PermissionDenied when ``by`` is not a member of ``team`` (staff may ask for
    any team).
    """
    check_not_managed(project)
    if project.owner_team_id is None and project.owner_person_id is None:
        raise ValidationError({"team": f"nobody owns {project.ref}: claim it instead"})
    if project.owner_team_id == team.pk:
        raise ValidationError({"team": f"{team.ref} owns {project.ref} already"})
    if not (by.is_authenticated and by.is_active and can_own(by, team)):
        raise PermissionDenied(f"you can ask for a project only for one of your own teams, not {team.ref}")
    transfer = TransferRequest(
        project=project, to_team=team, from_ref=project.owner_ref, requested_by=by, reason=reason.strip()
    )
    try:
        with transaction.atomic(), acting(by, via):
            transfer.save()
    except IntegrityError:
        raise ValidationError({"team": f"{team.ref} has asked for {project.ref} already"}) from None
    return transfer


def can_decide(user, transfer: TransferRequest) -> bool:
    """Whether ``user`` may accept or decline ``transfer``: staff and the project's current owners."""
    return transfer.is_pending and can_edit_project(user, transfer.project)


def can_cancel(user, transfer: TransferRequest) -> bool:
    """Whether ``user`` may cancel ``transfer``: its requester, and staff."""
    if not transfer.is_pending or not user.is_authenticated:
        return False
    return is_staff(user) or transfer.requested_by_id == user.pk


def _close(transfer: TransferRequest, status: str, *, by, via: str) -> TransferRequest:
    """Move a pending ``transfer`` to ``status``, its row locked so two deciders cannot both close it."""
    with transaction.atomic():
        current = TransferRequest.objects.select_for_update().only("status").get(pk=transfer.pk)
        if current.status != TransferRequest.Status.PENDING:
            transfer.status = current.status
            raise ValidationError(f"this request was {current.status} already")
        transfer.status, transfer.decided_by, transfer.decided_at = status, by, timezone.now()
        with acting(by, via):
            transfer.save(update_fields=["status", "decided_by", "decided_at"])
    return transfer


def decide(transfer: TransferRequest, *, by, accept: bool, via: str = "") -> TransferRequest:
    """Accept (the team becomes the owner) or decline ``transfer`` on behalf of the user ``by``.

    Raises PermissionDenied unless ``by`` is staff or one of the project's owners (the requester cannot
    accept their own request unless they are one); ValidationError when it is no longer pending, or when a
    descriptor has since taken over the owner (naming the file).
    """
    project = Project.objects.select_related("descriptor__repository", "descriptor__source", "source").get(
        pk=transfer.project_id
    )
    transfer.project = project
    if not transfer.is_pending:
        raise ValidationError(f"this request was {transfer.status} already")
    if not can_decide(by, transfer):
        raise PermissionDenied(
            f"only the owners of {project.ref} or staff can accept or decline this request"
        )
    with transaction.atomic():
        if accept:
            check_not_managed(project)
            _close(transfer, TransferRequest.Status.ACCEPTED, by=by, via=via)
            set_owner(project, transfer.to_team, by=by, via=via, transfer=transfer)
        else:
            _close(transfer, TransferRequest.Status.DECLINED, by=by, via=via)
    return transfer


def cancel(transfer: TransferRequest, *, by, via: str = "") -> TransferRequest:
    """Withdraw ``transfer``; only its requester and staff may (PermissionDenied otherwise)."""
    if not transfer.is_pending:
        raise ValidationError(f"this request was {transfer.status} already")
    if not can_cancel(by, transfer):
        raise PermissionDenied("only who asked, or staff, can cancel this request")
    return _close(transfer, TransferRequest.Status.CANCELLED, by=by, via=via)
