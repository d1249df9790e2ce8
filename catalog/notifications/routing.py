"""Who hears about a finding: a person's direct messages, a team's channel, or the fallback channel.

A finding's subject decides: a project (or a registered model's project) owned by a person with a Slack
user id goes to that person directly; owned by a person without one, to the channel of the first of their
teams (by name) that has one; owned by a team, to the team's channel, else the nearest parent team's;
a team's own finding likewise; anything else (no owner, an orphan model, no channel found) to the
organisation-wide fallback channel. Digests and nags go to channels only (``direct=False``): a person's
findings are then listed where their team reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from catalog.models import Channel, Finding, Person, Project, Team

FINDING_RELATED = (
    "project__owner_person",
    "project__owner_team",
    "team",
    "registered_model__source",
    "registered_model__project__owner_person",
    "registered_model__project__owner_team",
)


def with_routing(findings: QuerySet) -> QuerySet:
    """``findings`` with what routing and messages read, in the same query."""
    return findings.select_related(*FINDING_RELATED)


@dataclass(frozen=True)
class Destination:
    """Exactly one of ``channel`` and ``person`` (a direct message)."""

    channel: Channel | None = None
    person: Person | None = None

    @property
    def key(self) -> str:
        return f"person:{self.person.pk}" if self.person is not None else f"channel:{self.channel.pk}"

    def __str__(self) -> str:
        if self.person is not None:
            return f"direct message to {self.person} ({self.person.slack_user_id})"
        return str(self.channel)


class Router:
    """Routes findings with the channels, team tree and memberships read once (three queries)."""

    def __init__(self):
        channels = list(Channel.objects.filter(enabled=True).select_related("team"))
        self.by_team = {c.team_id: c for c in channels if c.team_id is not None}
        self.fallback = next((c for c in channels if c.team_id is None), None)
        self.parent = dict(Team.objects.values_list("pk", "parent_id"))
        self.teams_of: dict[int, list[int]] = {}
        memberships = Team.members.through.objects.order_by("team__name").values_list("person_id", "team_id")
        for person_id, team_id in memberships:
            self.teams_of.setdefault(person_id, []).append(team_id)

    def team_channel(self, team_id: int | None) -> Channel | None:
        """The channel of the team, else of its nearest parent that has one (cycles are cut)."""
        seen = set()
        while team_id is not None and team_id not in seen:
            if team_id in self.by_team:
                return self.by_team[team_id]
            seen.add(team_id)
            team_id = self.parent.get(team_id)
        return None

    def person_channel(self, person_id: int) -> Channel | None:
        for team_id in self.teams_of.get(person_id, []):
            if channel := self.team_channel(team_id):
                return channel
        return None

    def route_project(self, project: Project | None, *, direct: bool = True) -> Destination | None:
        channel = None
        if project is not None and project.owner_person_id is not None:
            person = project.owner_person
            if direct and person.slack_user_id:
                return Destination(person=person)
            channel = self.person_channel(person.pk)
        elif project is not None and project.owner_team_id is not None:
            channel = self.team_channel(project.owner_team_id)
        channel = channel or self.fallback
        return Destination(channel=channel) if channel is not None else None

    def route(self, finding: Finding, *, direct: bool = True) -> Destination | None:
        """Where ``finding`` is announced (None: no channel configured at all). ``finding`` should come
        from ``with_routing``."""
        if finding.team_id is not None:
            channel = self.team_channel(finding.team_id) or self.fallback
            return Destination(channel=channel) if channel is not None else None
        if finding.registered_model_id is not None:
            return self.route_project(finding.registered_model.project, direct=direct)
        return self.route_project(finding.project, direct=direct)
