"""The profile page's API tokens (``/profile/tokens/``): a user makes and revokes personal tokens; staff
also make and revoke the service tokens of integrations. A new token is shown once, in the answer to the
form that made it, and never stored in clear. htmx swaps the token block in place (``HX-Request``); the
same forms work without JavaScript.
"""

from datetime import timedelta

from django import forms
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Q
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views import View

from catalog.models import APIToken
from catalog.permissions import is_staff
from catalog.views import is_htmx

EXPIRY_CHOICES = [("", "Never"), ("7", "7 days"), ("30", "30 days"), ("90", "90 days"), ("365", "1 year")]


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. 'CI coverage reporter'.")
    expires_in_days = forms.TypedChoiceField(
        choices=EXPIRY_CHOICES, coerce=int, empty_value=None, required=False, label="Expires"
    )
    kind = forms.ChoiceField(choices=APIToken.Kind.choices, initial=APIToken.Kind.PERSONAL)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if not is_staff(user):
            del self.fields["kind"]

    def clean_kind(self):
        kind = self.cleaned_data["kind"]
        if kind == APIToken.Kind.SERVICE and not is_staff(self.user):
            raise forms.ValidationError("service tokens are for staff only")
        return kind


def visible_tokens(user):
    """The user's personal tokens, and every service token for staff; newest first."""
    mine = Q(user=user, kind=APIToken.Kind.PERSONAL)
    if is_staff(user):
        mine |= Q(kind=APIToken.Kind.SERVICE)
    return APIToken.objects.filter(mine).select_related("user").order_by("-created_at", "-pk")


class TokenListView(LoginRequiredMixin, View):
    """GET: the tokens and the form; POST: make a token and show it once."""

    template_name = "catalog/profile_tokens.html"
    partial_template_name = "catalog/partials/token_list.html"

    def render(self, request, form, new_token: str = "", status: int = 200):
        template = self.partial_template_name if is_htmx(request) else self.template_name
        context = {
            "form": form,
            "tokens": visible_tokens(request.user),
            "new_token": new_token,
            "now": timezone.now(),
        }
        return render(request, template, context, status=status)

    def get(self, request):
        return self.render(request, TokenForm(user=request.user))

    def post(self, request):
        form = TokenForm(request.POST, user=request.user)
        if not form.is_valid():
            return self.render(request, form, status=400)
        days = form.cleaned_data.get("expires_in_days")
        _, token = APIToken.objects.issue(
            request.user,
            form.cleaned_data["name"],
            kind=form.cleaned_data.get("kind") or APIToken.Kind.PERSONAL,
            expires_at=timezone.now() + timedelta(days=days) if days else None,
        )
        return self.render(
            request,
            TokenForm(user=request.user),
            new_token=token,
            status=201 if not is_htmx(request) else 200,
        )


class TokenRevokeView(LoginRequiredMixin, View):
    """POST: revoke one of the tokens the user sees (their own, or a service token for staff)."""

    def post(self, request, pk: int):
        token = visible_tokens(request.user).filter(pk=pk).first()
        if token is None:
            raise Http404("no such token of yours")
        token.revoke()
        return TokenListView().render(request, TokenForm(user=request.user))
