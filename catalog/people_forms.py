"""The profile form of a person: their git e-mails and Slack member id (never set by a descriptor)."""

from django import forms

from catalog.models import Person
from catalog.people import normalize_slack_user_id, parse_git_emails, people_by_email


class PersonProfileForm(forms.ModelForm):
    """Edits ``Person.git_emails`` (one address per line; normalised, each once, none claimed by another
    person) and ``Person.slack_user_id`` (a Slack member id, held by no one else)."""

    git_emails = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=(
            "The addresses your commits use, one per line, e.g. a GitHub private address "
            "12345+login@users.noreply.github.com. Your main e-mail counts already."
        ),
    )

    class Meta:
        model = Person
        fields = ["git_emails", "slack_user_id"]
        labels = {"git_emails": "Git e-mails", "slack_user_id": "Slack member id"}
        help_texts = {"slack_user_id": "Like U024BE7LH: Slack profile → ⋮ → Copy member ID."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["git_emails"] = "\n".join(self.instance.git_emails or [])

    def clean_git_emails(self) -> list[str]:
        emails = parse_git_emails(self.cleaned_data["git_emails"] or "")
        taken = people_by_email(emails, exclude=self.instance.pk)
        if taken:
            address, person = next(iter(sorted(taken.items())))
            raise forms.ValidationError(
                f"{address} is already claimed by {person.display_name} ({person.ref}); ask them or staff "
                "to remove it first."
            )
        return emails

    def clean_slack_user_id(self) -> str:
        value = normalize_slack_user_id(self.cleaned_data["slack_user_id"] or "")
        if value:
            other = Person.objects.filter(slack_user_id=value).exclude(pk=self.instance.pk).first()
            if other is not None:
                raise forms.ValidationError(
                    f"{value} is already the Slack member id of {other.display_name} ({other.ref})."
                )
        return value


class PersonAdminForm(PersonProfileForm):
    """The admin's form of a person: every field, with the profile's checks on git e-mails and Slack id."""

    class Meta(PersonProfileForm.Meta):
        fields = [f.name for f in Person._meta.concrete_fields if f.editable and not f.auto_created]
