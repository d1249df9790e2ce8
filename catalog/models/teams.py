"""Teams: Backstage's kind Group."""

from django.db import models

from catalog.models.base import EntityModel


class Team(EntityModel):
    """A team, department or other group of people (Backstage kind Group).

    ``parent`` is the parent group; ``members`` the people in it (from Group ``spec.members`` and User
    ``spec.memberOf``). ``parent_ref`` and ``member_refs`` keep the declared references, resolved or not.
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
    members = models.ManyToManyField("catalog.Person", blank=True, related_name="teams")

    class Meta(EntityModel.Meta):
        pass
