"""Claiming and handing over a project from its page (htmx): claim an unowned project for one of your
teams, ask that one of your teams takes over an owned one, and accept, decline or cancel such a request.

Login required; CSRF on. Each answer is the project's ownership panel
(``catalog/partials/ownership_panel.html``) swapped in place, with its audit history swapped out of band;
a decision taken on "My work" answers with that page's row instead. Without htmx, a redirect to the page.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from catalog import transfers
from catalog.audit import project_history
from catalog.models import Project, Team, TransferRequest
from catalog.ownership import check_not_managed, set_owner
from catalog.permissions import can_edit_project, describe_descriptor, is_staff, managed_fields, teams_of
from catalog.tables import entity_url
from catalog.views import is_htmx

PROJECT_RELATED = ("owner_team", "owner_person", "source", "descriptor__repository", "descriptor__source")


def eligible_teams(user) -> list[Team]:
    """The teams ``user`` may claim a project for or ask one for: their own; every team for staff."""
    if is_staff(user):
        return list(Team.objects.order_by("name"))
    return teams_of(user)


def ownership_context(project: Project, user, *, error: str = "") -> dict:
    """What the ownership panel shows ``user`` about ``project`` (a fixed number of queries).

    ``managed_by``: the descriptor file to edit when a descriptor declares the owner (nothing can be
    changed here then); ``claim_teams`` when nobody owns it; ``request_teams`` (their teams that neither
    own it nor asked already) when someone does; ``pending``: open requests, each with ``can_decide`` and
    ``can_cancel`` for ``user``.
    """
    managed = "owner" in managed_fields(project)  # declared by a descriptor
    unowned = project.owner_team_id is None and project.owner_person_id is None
    pending = list(
        project.transfer_requests.filter(status=TransferRequest.Status.PENDING)
        .select_related("to_team", "requested_by")
        .order_by("requested_at", "pk")
    )
    is_owner = can_edit_project(user, project)
    for transfer in pending:
        transfer.project = project
        transfer.can_decide = is_owner
        transfer.can_cancel = transfers.can_cancel(user, transfer)
    teams = [] if managed or not user.is_authenticated else eligible_teams(user)
    asked = {transfer.to_team_id for transfer in pending}
    return {
        "project": project,
        "managed_by": describe_descriptor(project) if managed else "",
        "unowned": unowned,
        "is_owner": is_owner,
        "claim_teams": teams if unowned else [],
        "request_teams": []
        if unowned
        else [team for team in teams if team.pk != project.owner_team_id and team.pk not in asked],
        "pending": pending,
        "error": error,
    }


def _error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc)


class OwnershipActionView(LoginRequiredMixin, View):
    """Shared by the actions: run ``act``, answer with the panel (status 400/403 and the error on refusal)."""

    panel_template = "catalog/partials/ownership_panel.html"

    def answer(self, request, project: Project, act) -> object:
        status, error = 200, ""
        try:
            act()
        except PermissionDenied as exc:
            status, error = 403, _error(exc)
        except ValidationError as exc:
            status, error = 400, _error(exc)
        if not is_htmx(request):
            if error:
                messages.error(request, f"Ownership not changed: {error}")
            return redirect(entity_url(project))
        project = Project.objects.select_related(*PROJECT_RELATED).get(pk=project.pk)
        context = {
            "ownership": ownership_context(project, request.user, error=error),
            "history": project_history(project),
            "oob": True,
        }
        return render(request, self.panel_template, context, status=status)

    @staticmethod
    def project(namespace: str, name: str) -> Project:
        return get_object_or_404(
            Project.objects.select_related(*PROJECT_RELATED), namespace__iexact=namespace, name__iexact=name
        )


class TeamChoiceForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.all(), error_messages={"required": "choose a team"})
    reason = forms.CharField(max_length=500, required=False)


def _form_error(form: forms.Form) -> ValidationError:
    return ValidationError("; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))


class ClaimView(OwnershipActionView):
    """POST ``team``: make that team (one of yours) the owner of a project nobody owns."""

    def post(self, request, namespace: str, name: str):
        project = self.project(namespace, name)
        form = TeamChoiceForm(request.POST)

        def act():
            if not form.is_valid():
                raise _form_error(form)
            check_not_managed(project)  # before "ask for a transfer": a descriptor's owner is not transferred
            if project.owner_team_id is not None or project.owner_person_id is not None:
                raise ValidationError(f"{project.ref} is owned by {project.owner_ref}: ask for a transfer")
            set_owner(project, form.cleaned_data["team"], by=request.user, via="portal")

        return self.answer(request, project, act)


class TransferRequestView(OwnershipActionView):
    """POST ``team`` and ``reason``: ask that one of your teams becomes the owner of an owned project."""

    def post(self, request, namespace: str, name: str):
        project = self.project(namespace, name)
        form = TeamChoiceForm(request.POST)

        def act():
            if not form.is_valid():
                raise _form_error(form)
            data = form.cleaned_data
            transfers.request_transfer(
                project, data["team"], by=request.user, reason=data["reason"], via="portal"
            )

        return self.answer(request, project, act)


DECISIONS = ("accept", "decline", "cancel")


class TransferDecisionView(OwnershipActionView):
    """POST ``decision`` (accept, decline, cancel) on a transfer request; ``answer=row`` (from "My work")
    answers with the request's row there instead of the project's panel."""

    row_template = "catalog/partials/transfer_row.html"

    def post(self, request, pk: int):
        transfer = get_object_or_404(
            TransferRequest.objects.select_related("project", "to_team", "requested_by"), pk=pk
        )
        decision = request.POST.get("decision", "")

        def act():
            if decision not in DECISIONS:
                raise ValidationError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
            if decision == "cancel":
                transfers.cancel(transfer, by=request.user, via="portal")
            else:
                transfers.decide(transfer, by=request.user, accept=decision == "accept", via="portal")

        if request.POST.get("answer") != "row" or not is_htmx(request):
            return self.answer(request, transfer.project, act)
        status, error = 200, ""
        try:
            act()
        except PermissionDenied as exc:
            status, error = 403, _error(exc)
        except ValidationError as exc:
            status, error = 400, _error(exc)
        transfer.refresh_from_db()
        transfer.can_decide = transfers.can_decide(request.user, transfer)
        context = {"transfer": transfer, "error": error}
        return render(request, self.row_template, context, status=status)
