"""People: Backstage's kind User, with a profile on the Django user once they sign in."""

from django.conf import settings
from django.db import models

from catalog.models.base import EntityModel


class Person(EntityModel):
    """A person (Backstage kind User). ``title`` holds the profile's display name.

    ``user`` is the Django account, set once the person signs in (or an admin links it); a person imported
    from a descriptor may have none yet. ``git_emails`` lists the addresses their commits use;
    ``member_of_refs`` keeps the declared group references (``spec.memberOf``).
    """

    kind = "user"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="person"
    )
    email = models.EmailField(blank=True)
    git_emails = models.JSONField(default=list, blank=True)
    slack_user_id = models.CharField(max_length=32, blank=True)
    member_of_refs = models.JSONField(default=list, blank=True)

    class Meta(EntityModel.Meta):
        verbose_name_plural = "people"
