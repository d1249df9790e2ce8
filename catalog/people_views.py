"""A person's profile edit page (``/people/<namespace>/<name>/edit/``): the person themself and staff set
git e-mails and the Slack member id. What a Backstage User descriptor declares (name, display name,
e-mail, teams) stays read-only here, and the page names the file to edit instead.
"""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views import View

from catalog.models import Person
from catalog.people_forms import PersonProfileForm
from catalog.permissions import can_edit_person, describe_descriptor


def person_or_404(namespace: str, name: str) -> Person:
    try:
        return Person.objects.select_related("user", "descriptor__repository", "descriptor__source").get(
            namespace__iexact=namespace, name__iexact=name
        )
    except Person.DoesNotExist:
        raise Http404(f"No person {namespace}/{name}") from None


class PersonEditView(LoginRequiredMixin, View):
    """GET: the form; POST: save it and go back to the person's page (400 with the errors when invalid)."""

    template_name = "catalog/person_edit.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.person = person_or_404(kwargs["namespace"], kwargs["name"])
        if not can_edit_person(request.user, self.person):
            raise PermissionDenied("Only this person and staff may edit this profile.")
        return super().dispatch(request, *args, **kwargs)

    def render(self, form, status: int = 200):
        context = {
            "person": self.person,
            "form": form,
            "managed_by": describe_descriptor(self.person) if self.person.descriptor_id else "",
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request, namespace, name):
        return self.render(PersonProfileForm(instance=self.person))

    def post(self, request, namespace, name):
        form = PersonProfileForm(request.POST, instance=self.person)
        if not form.is_valid():
            return self.render(form, status=400)
        form.save()
        return redirect("person-detail", namespace=self.person.namespace, name=self.person.name)
