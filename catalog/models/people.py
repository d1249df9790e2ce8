"""People: Backstage's kind User, with a profile on the Django user once they sign in."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from catalog.models.base import EntityModel


class Person(EntityModel):
    """A person (Backstage kind User). ``title`` holds the profile's display name.

    ``user`` is the Django account, set once the person signs in (or an admin links it); a person imported
    from a descriptor may have none yet. ``git_emails`` lists the addresses their commits use;
    ``member_of_refs`` keeps the declared group references (``spec.memberOf``). ``deactivated_at`` (aware
    UTC) is set when the person left: by an admin, or by the identity provider's sign-in when the account
    is gone there; a person whose Django user is inactive counts as deactivated too (``inactive_q``).
    """

    kind = "user"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="person"
    )
    email = models.EmailField(blank=True)
    git_emails = models.JSONField(default=list, blank=True)
    slack_user_id = models.CharField(max_length=32, blank=True)
    member_of_refs = models.JSONField(default=list, blank=True)
    deactivated_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the person left (deactivated here, or gone from the identity provider).",
    )

    class Meta(EntityModel.Meta):
        verbose_name_plural = "people"

    @property
    def is_active(self) -> bool:
        """False once deactivated, or when the linked Django user is inactive."""
        return self.deactivated_at is None and (self.user_id is None or self.user.is_active)


def inactive_q(prefix: str = "") -> Q:
    """A filter for inactive people: deactivated, or with an inactive Django user. ``prefix`` is the path
    to the person from the queried model, e.g. ``"owner_person__"``."""
    return Q(**{f"{prefix}deactivated_at__isnull": False}) | Q(**{f"{prefix}user__is_active": False})
