"""Teams made and edited in the portal: create, edit (title, description, parent, Slack channel; the name
is fixed once made, being the team's reference) and add or remove members. Login required, CSRF on;
allowed to staff and the team's members (``permissions.can_edit_team``). A team a descriptor manages is
read-only here: its page names the file to edit instead. Membership changes go through
catalog/memberships.py as portal memberships.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models.functions import Lower
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from catalog import memberships
from catalog.models import Person, Team
from catalog.permissions import can_create_team, can_edit_team, person_of, team_managed_by
from catalog.tables import entity_url

# Backstage's entity name: letters, digits and [-_.] between them, at most 63 characters.
NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")


class TeamForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["name", "title", "description", "parent", "slack_channel"]
        widgets = {"title": forms.TextInput, "description": forms.Textarea(attrs={"rows": 4})}
        help_texts = {
            "name": "Letters, digits and - _ . ; the team's reference becomes group:default/NAME.",
            "slack_channel": "e.g. #ml-fraud",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        parents = Team.objects.order_by("namespace", "name")
        if self.instance.pk:
            parents = parents.exclude(pk__in=_self_and_descendants(self.instance))
            # The name is the team's reference, which descriptors and projects' owner_ref point at: renaming
            # would leave them pointing at no team (and a sync would then drop the ownership).
            self.fields["name"].disabled = True
            self.fields[
                "name"
            ].help_text = (
                f"The team's reference is {self.instance.ref}: it does not change. Change the title instead."
            )
        self.fields["parent"].queryset = parents

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not NAME_RE.match(name):
            raise forms.ValidationError(
                "name: 1-63 letters, digits or - _ . , starting and ending alphanumeric"
            )
        namespace = self.instance.namespace or "default"
        clash = (
            Team.objects.annotate(ns=Lower("namespace"), lname=Lower("name"))
            .filter(ns=namespace.lower(), lname=name.lower())
            .exclude(pk=self.instance.pk)
        )
        if clash.exists():
            raise forms.ValidationError(f"name: a team {namespace}/{name} already exists")
        return name

    def clean_slack_channel(self) -> str:
        channel = self.cleaned_data["slack_channel"].strip()
        if channel and not re.match(r"^#?[a-z0-9][a-z0-9._-]{0,79}$", channel):
            raise forms.ValidationError("slack_channel: a channel name such as #ml-fraud (lower case)")
        return channel


class MemberForm(forms.Form):
    person = forms.CharField(max_length=254, help_text="The person's name or email.")

    def clean_person(self) -> Person:
        value = self.cleaned_data["person"].strip()
        person = (
            Person.objects.annotate(lname=Lower("name"), lemail=Lower("email"))
            .filter(lname=value.lower())
            .order_by("namespace")
            .first()
            or Person.objects.annotate(lemail=Lower("email")).filter(lemail=value.lower()).first()
        )
        if person is None:
            raise forms.ValidationError(f"person: nobody named {value!r} or with that email")
        return person


def _self_and_descendants(team: Team) -> set[int]:
    """``team``'s pk and those of all teams below it (a parent must not be one of them)."""
    children: dict[int, list[int]] = {}
    for pk, parent in Team.objects.filter(parent__isnull=False).values_list("pk", "parent_id"):
        children.setdefault(parent, []).append(pk)
    found, todo = set(), [team.pk]
    while todo:
        pk = todo.pop()
        if pk not in found:
            found.add(pk)
            todo.extend(children.get(pk, ()))
    return found


def _team(namespace: str, name: str) -> Team:
    try:
        return Team.objects.select_related("source", "descriptor__repository", "descriptor__source").get(
            namespace__iexact=namespace, name__iexact=name
        )
    except Team.DoesNotExist:
        raise Http404(f"No team {namespace}/{name}") from None


class Refused(Exception):
    """The user may not change this team; ``reason`` says why and where to go instead."""

    def __init__(self, team: Team, reason: str):
        super().__init__(reason)
        self.team, self.reason = team, reason


def _editable_team(request, namespace: str, name: str) -> Team:
    team = _team(namespace, name)
    managed = team_managed_by(team)
    if managed:
        raise Refused(team, f"Team {team.name} is managed by {managed}: edit that file instead.")
    if not can_edit_team(request.user, team):
        raise Refused(team, f"Only staff and the members of {team.name} may change it.")
    return team


class TeamChangeView(LoginRequiredMixin, View):
    """Answers ``Refused`` with a 403 page that says why (and which descriptor file to edit)."""

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except Refused as refused:
            context = {"team": refused.team, "reason": refused.reason}
            return render(request, "catalog/team_refused.html", context, status=403)


def _edit_context(team: Team, form: TeamForm, member_form: MemberForm | None = None) -> dict:
    rows = team.memberships.select_related("person").order_by("person__name")
    return {"team": team, "form": form, "member_form": member_form or MemberForm(), "memberships": rows}


class TeamCreateView(LoginRequiredMixin, View):
    """GET the form; POST makes the team in namespace ``default`` with its maker as a (portal) member."""

    template_name = "catalog/team_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not can_create_team(request.user):
            raise PermissionDenied("only staff and people known to the portal may make teams")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return render(request, self.template_name, {"form": TeamForm(), "team": None})

    def post(self, request):
        form = TeamForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form, "team": None}, status=400)
        with transaction.atomic():
            team = form.save()
            person = person_of(request.user)
            if person is not None:
                memberships.add_member(team, person)
        messages.success(request, f"Team {team.name} created.")
        return redirect(entity_url(team))


class TeamEditView(TeamChangeView):
    """GET the form with the members; POST saves the team's fields."""

    template_name = "catalog/team_form.html"

    def get(self, request, namespace: str, name: str):
        team = _editable_team(request, namespace, name)
        return render(request, self.template_name, _edit_context(team, TeamForm(instance=team)))

    def post(self, request, namespace: str, name: str):
        team = _editable_team(request, namespace, name)
        form = TeamForm(request.POST, instance=team)
        if not form.is_valid():
            return render(request, self.template_name, _edit_context(team, form), status=400)
        form.save()
        messages.success(request, f"Team {team.name} saved.")
        return redirect(entity_url(team))


class TeamMemberAddView(TeamChangeView):
    """POST ``person`` (name or email): adds them to the team as a portal membership."""

    def post(self, request, namespace: str, name: str):
        team = _editable_team(request, namespace, name)
        form = MemberForm(request.POST)
        if not form.is_valid():
            context = _edit_context(team, TeamForm(instance=team), form)
            return render(request, "catalog/team_form.html", context, status=400)
        memberships.add_member(team, form.cleaned_data["person"])
        messages.success(request, f"{form.cleaned_data['person'].display_name} added to {team.name}.")
        return redirect("team-edit", namespace=team.namespace, name=team.name)


class TeamMemberRemoveView(TeamChangeView):
    """POST: withdraws the portal membership of person ``person_pk``; one the identity provider made
    stays (the page says so)."""

    def post(self, request, namespace: str, name: str, person_pk: int):
        team = _editable_team(request, namespace, name)
        person = get_object_or_404(Person, pk=person_pk)
        if memberships.remove_member(team, person):
            messages.warning(
                request,
                f"{person.display_name} stays in {team.name}: the identity provider's groups put them there.",
            )
        else:
            messages.success(request, f"{person.display_name} removed from {team.name}.")
        return redirect("team-edit", namespace=team.namespace, name=team.name)
