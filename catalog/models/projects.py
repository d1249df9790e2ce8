"""Projects (Backstage kind Component, or an ML project found in a repository) and systems."""

from django.db import models
from django.db.models import Q

from catalog.models.base import EntityModel


class Lifecycle(models.TextChoices):
    """Backstage's lifecycles. Descriptors may use others (e.g. ``unknown``): those are kept as written."""

    EXPERIMENTAL = "experimental"
    PRODUCTION = "production"
    DEPRECATED = "deprecated"


class OwnedModel(EntityModel):
    """An entity with an owner: a team or a person, resolved from ``owner_ref``.

    ``owner_ref`` is the owner's full entity reference as declared (``group:default/team-a``); the
    foreign keys are set when it matches a known team or person, and both stay empty otherwise.
    """

    owner_ref = models.CharField(max_length=255, blank=True)
    owner_team = models.ForeignKey(
        "catalog.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="%(class)ss"
    )
    owner_person = models.ForeignKey(
        "catalog.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="%(class)ss"
    )

    class Meta(EntityModel.Meta):
        abstract = True

    @property
    def owner(self):
        return self.owner_team or self.owner_person


class System(OwnedModel):
    """A collection of projects that together expose a capability (Backstage kind System)."""

    kind = "system"

    class Meta(OwnedModel.Meta):
        pass


class Project(OwnedModel):
    """An ML project, model, pipeline or service (Backstage kind Component).

    A project is declared by a descriptor (``descriptor`` set) or found in a repository that has none
    (named after the repository, ``descriptor`` empty). ``type`` and ``lifecycle`` are Backstage's
    ``spec.type`` and ``spec.lifecycle``, kept as written.
    """

    kind = "component"

    type = models.CharField(max_length=255, blank=True)
    lifecycle = models.CharField(max_length=255, blank=True)
    system = models.ForeignKey(
        System, null=True, blank=True, on_delete=models.SET_NULL, related_name="projects"
    )
    system_ref = models.CharField(max_length=255, blank=True)
    repository = models.ForeignKey(
        "catalog.Repository", null=True, blank=True, on_delete=models.SET_NULL, related_name="projects"
    )
    # The maintenance burden of its open findings (catalog/burden.py), written after each evaluation.
    maintenance_burden = models.FloatField(default=0)

    class Meta(OwnedModel.Meta):
        constraints = [
            *OwnedModel.Meta.constraints,
            models.CheckConstraint(
                condition=Q(owner_team__isnull=True) | Q(owner_person__isnull=True),
                name="catalog_project_one_owner",
            ),
        ]
        indexes = [
            models.Index(fields=["lifecycle"]),
            models.Index(fields=["type"]),
            # The API's cursor pages (by name, then id) and its owner filter (on the declared reference).
            models.Index(fields=["name", "id"]),
            models.Index(fields=["owner_ref", "name", "id"]),
            models.Index(fields=["-maintenance_burden", "name"]),
        ]

    @property
    def is_declared(self) -> bool:
        """True when a descriptor declares the project (its facts are edited there, not here)."""
        return self.descriptor_id is not None
