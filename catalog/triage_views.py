"""Triage from the project page (htmx): snooze a finding with a reason and an end date, end the snooze,
acknowledge it or take that back. Login required; allowed to those who may change the finding's subject
(``permissions.can_triage_finding``: the project's owners, or staff). Each answer is the finding's triage
block (``catalog/partials/finding_triage.html``), swapped in place, with the project's audit history swapped
out of band; without htmx, a redirect to the page.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View

from catalog import triage
from catalog.audit import project_history
from catalog.models import Finding
from catalog.permissions import can_triage_finding
from catalog.tables import entity_url
from catalog.views import is_htmx

ACTIONS = ("snooze", "unsnooze", "acknowledge", "unacknowledge")


class TriageForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    reason = forms.CharField(max_length=500, required=False)
    until = forms.DateField(required=False, help_text="The snooze ends at the start of this day (UTC).")

    def clean(self):
        data = super().clean()
        if data.get("action") == "snooze" and not data.get("until"):
            raise ValidationError({"until": "say until when"})
        return data


def default_until() -> str:
    return (timezone.now() + timedelta(days=settings.PORTAL["NOTIFY"]["SNOOZE_DAYS"])).date().isoformat()


def triage_context(finding: Finding, *, can_triage: bool, error: str = "") -> dict:
    return {
        "finding": finding,
        "can_triage": can_triage,
        "default_until": default_until(),
        "error": error,
    }


class FindingTriageView(LoginRequiredMixin, View):
    """POST ``action`` (snooze with ``until`` and ``reason``, unsnooze, acknowledge, unacknowledge)."""

    template_name = "catalog/partials/finding_triage.html"

    def post(self, request, pk: int):
        finding = get_object_or_404(
            Finding.objects.select_related("project__owner_team", "registered_model__project", "team"), pk=pk
        )
        form = TriageForm(request.POST)
        status, error = 200, ""
        if not form.is_valid():
            status, error = 400, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        else:
            try:
                self.act(finding, form.cleaned_data, request.user)
            except PermissionDenied as exc:
                status, error = 403, str(exc)
            except ValidationError as exc:
                status, error = 400, "; ".join(exc.messages)
        if not is_htmx(request):
            if error:
                messages.error(request, f"The finding was not changed: {error}")
            return redirect(entity_url(finding.subject) or "maintenance")
        context = triage_context(finding, can_triage=can_triage_finding(request.user, finding), error=error)
        if finding.project_id is not None:  # the project page's history, swapped out of band
            context.update(history=project_history(finding.project), oob=True)
        return render(request, self.template_name, context, status=status)

    @staticmethod
    def act(finding: Finding, data: dict, user) -> None:
        action = data["action"]
        if action == "snooze":
            until = datetime.combine(data["until"], time.min, tzinfo=UTC)
            triage.snooze(finding, by=user, until=until, reason=data["reason"], via="portal")
        elif action == "unsnooze":
            triage.snooze(finding, by=user, until=None, via="portal")
        else:
            triage.acknowledge(finding, by=user, acknowledged=action == "acknowledge", via="portal")
