"""Behaviour shared by the catalog's models."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Value
from django.db.models.functions import Lower
from django.db.models.lookups import Exact


class TimestampedModel(models.Model):
    """Adds ``created_at`` and ``updated_at`` (aware UTC datetimes)."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class EntityModel(TimestampedModel):
    """The fields every Backstage entity has, and where the portal learned it.

    ``namespace`` + ``name`` is the natural key (Backstage's entity reference without the kind).
    ``source`` and ``descriptor`` say which source and descriptor file declare the entity; both are empty
    for entities edited in the portal. ``orphaned_at`` is set when the source stops declaring it.
    Spec: https://backstage.io/docs/features/software-catalog/descriptor-format
    """

    kind = ""  # Backstage kind, lowercased, as used in entity references

    namespace = models.CharField(max_length=63, default="default")
    name = models.CharField(max_length=253)
    title = models.TextField(blank=True)
    description = models.TextField(blank=True)
    labels = models.JSONField(default=dict, blank=True)
    annotations = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    links = models.JSONField(default=list, blank=True)
    source = models.ForeignKey(
        "catalog.Source", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    descriptor = models.ForeignKey(
        "catalog.DescriptorFile", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    descriptor_document = models.PositiveIntegerField(null=True, blank=True)
    orphaned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["namespace", "name"]
        constraints = [
            # Backstage compares entity references case-insensitively.
            models.UniqueConstraint(Lower("namespace"), Lower("name"), name="%(app_label)s_%(class)s_ref"),
        ]

    def __str__(self) -> str:
        return self.name if self.namespace == "default" else f"{self.namespace}/{self.name}"

    def ref_clash(self):
        """Another row of this model whose namespace and name equal this one's compared case-insensitively
        (as the ``_ref`` constraint compares them), or None."""
        same = (
            Exact(Lower(field), Lower(Value(getattr(self, field), output_field=models.CharField())))
            for field in ("namespace", "name")
        )
        return type(self)._default_manager.filter(*same).exclude(pk=self.pk).first()

    def ref_clash_message(self, clash: "EntityModel") -> str:
        return (
            f"a {self._meta.verbose_name} {clash.namespace}/{clash.name} already exists (names are compared "
            "case-insensitively)"
        )

    def validate_constraints(self, exclude=None) -> None:
        """Django's checks, with the reference clash named (Django would say only that the constraint
        ``..._ref`` is violated)."""
        if not {"namespace", "name"} & set(exclude or ()):
            clash = self.ref_clash()
            if clash is not None:
                raise ValidationError({"name": ValidationError(self.ref_clash_message(clash), code="unique")})
        super().validate_constraints(exclude)

    @property
    def ref(self) -> str:
        """The full entity reference, e.g. ``component:default/fraud-model``."""
        return f"{self.kind}:{self.namespace}/{self.name}"

    @property
    def display_name(self) -> str:
        return self.title or self.name
