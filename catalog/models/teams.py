"""Teams: Backstage's kind Group."""

from django.db import models

from catalog.models.base import EntityModel


class Team(EntityModel):
    """A team, department or other group of people (Backstage kind Group).

    ``parent`` is the parent group; ``members`` the people in it, through ``Membership`` rows that say who
    made each one (a descriptor's Group ``spec.members`` / User ``spec.memberOf``, the identity provider's
    group claim, or a portal edit). ``parent_ref`` and ``member_refs`` keep the declared references,
    resolved or not.
    """

    kind = "group"

    type = models.CharField(max_length=255, default="team")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    parent_ref = models.CharField(max_length=255, blank=True)
    email = models.EmailField(blank=True)
    slack_channel = models.CharField(max_length=80, blank=True)
    member_refs = models.JSONField(default=list, blank=True)
    members = models.ManyToManyField(
        "catalog.Person", blank=True, related_name="teams", through="catalog.Membership"
    )

    class Meta(EntityModel.Meta):
        pass


class Membership(models.Model):
    """One person in one team, with where the membership comes from (catalog/memberships.py).

    One row per (team, person); each ``from_*`` flag is one source's claim, and each source only sets or
    clears its own flag: the descriptor sync ``from_descriptor``, sign-in through the identity provider
    ``from_idp``, team edits in the portal (or the admin) ``from_portal``. The row goes when no flag is
    left. ``from_portal`` defaults to True so that ``team.members.add(person)`` is a hand-made membership.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    person = models.ForeignKey("catalog.Person", on_delete=models.CASCADE, related_name="memberships")
    from_descriptor = models.BooleanField(default=False)
    from_idp = models.BooleanField(default=False)
    from_portal = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint("team", "person", name="catalog_membership_unique")]

    def __str__(self) -> str:
        return f"{self.person} in {self.team}"

    @property
    def sources(self) -> list[str]:
        """Where the membership comes from: a subset of ``descriptor``, ``idp``, ``portal``, in that order."""
        flags = (("descriptor", self.from_descriptor), ("idp", self.from_idp), ("portal", self.from_portal))
        return [name for name, on in flags if on]
