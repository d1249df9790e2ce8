"""The Django admin for every catalog model."""

import json

from django import forms
from django.contrib import admin, messages

from catalog import models
from catalog.notifications import admin as notification_admin  # noqa: F401  (registers its models)
from catalog.rules import RULES
from catalog.scorecards import admin as scorecards_admin  # noqa: F401  (registers its models)


class EntityAdmin(admin.ModelAdmin):
    list_display = ["name", "namespace", "title", "source", "orphaned_at"]
    list_filter = ["namespace", "source", ("orphaned_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "title", "description"]
    readonly_fields = [
        "source",
        "descriptor",
        "descriptor_document",
        "orphaned_at",
        "created_at",
        "updated_at",
    ]


@admin.register(models.Team)
class TeamAdmin(EntityAdmin):
    list_display = [*EntityAdmin.list_display, "type", "parent"]
    autocomplete_fields = ["parent", "members"]


@admin.register(models.Person)
class PersonAdmin(EntityAdmin):
    list_display = ["name", "namespace", "title", "email", "user", "source"]
    search_fields = [*EntityAdmin.search_fields, "email", "git_emails"]
    autocomplete_fields = ["user"]


@admin.register(models.System)
class SystemAdmin(EntityAdmin):
    list_display = [*EntityAdmin.list_display, "owner_ref"]
    autocomplete_fields = ["owner_team", "owner_person"]


@admin.register(models.Project)
class ProjectAdmin(EntityAdmin):
    list_display = [
        "name",
        "namespace",
        "type",
        "lifecycle",
        "owner_ref",
        "repository",
        "source",
        "orphaned_at",
    ]
    list_filter = [*EntityAdmin.list_filter, "lifecycle", "type"]
    list_select_related = ["repository", "source"]
    autocomplete_fields = ["owner_team", "owner_person", "system", "repository"]


@admin.register(models.Repository)
class RepositoryAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "source",
        "default_branch",
        "last_commit_at",
        "commits_in_window",
        "last_error_at",
    ]
    list_filter = ["source", "archived", ("gone_at", admin.EmptyFieldListFilter)]
    list_select_related = ["source"]
    search_fields = ["name", "url", "external_id"]


@admin.register(models.Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "enabled", "sync_interval_minutes"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name"]
    actions = ["sync_now"]

    @admin.action(description="Sync the selected sources now")
    def sync_now(self, request, queryset):
        from catalog.tasks import sync_source

        for source in queryset:
            sync_source.delay(source.pk, models.SyncRun.Trigger.MANUAL)
        self.message_user(request, f"Queued {queryset.count()} syncs.", messages.SUCCESS)


@admin.register(models.SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = [
        "source",
        "status",
        "trigger",
        "started_at",
        "finished_at",
        "created",
        "updated",
        "failed",
    ]
    list_filter = ["status", "trigger", "source"]
    list_select_related = ["source"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.DescriptorFile)
class DescriptorFileAdmin(admin.ModelAdmin):
    list_display = ["path", "repository", "source", "entity_count", "read_at", "gone_at"]
    list_filter = ["source"]
    list_select_related = ["repository", "source"]
    search_fields = ["path", "repository__name"]


@admin.register(models.Finding)
class FindingAdmin(admin.ModelAdmin):
    list_display = ["rule", "severity", "project", "team", "first_seen_at", "last_seen_at", "resolved_at"]
    list_filter = ["rule", "severity", ("resolved_at", admin.EmptyFieldListFilter)]
    list_select_related = ["project", "team"]
    search_fields = ["message", "project__name", "team__name"]
    raw_id_fields = ["project", "team"]


class RuleConfigForm(forms.ModelForm):
    code = forms.ChoiceField(
        choices=[(code, f"{code}: {rule.title}") for code, rule in sorted(RULES.items())]
    )

    class Meta:
        model = models.RuleConfig
        fields = ["code", "enabled", "severity", "params"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["params"].help_text = "Overrides of a rule's parameters, as JSON. " + "; ".join(
            f"{code}: {json.dumps(rule.defaults)}" for code, rule in sorted(RULES.items()) if rule.defaults
        )

    def clean(self):
        data = super().clean()
        rule = RULES.get(data.get("code"))
        if rule is not None:
            try:
                rule.check_params(data.get("params") or {})
            except ValueError as exc:
                raise forms.ValidationError({"params": str(exc)}) from None
        return data


@admin.register(models.RuleConfig)
class RuleConfigAdmin(admin.ModelAdmin):
    form = RuleConfigForm
    list_display = ["code", "enabled", "severity", "params"]


@admin.register(models.RegisteredModel)
class RegisteredModelAdmin(admin.ModelAdmin):
    """Read-only: registered models come from their registry's sync (edit them there)."""

    list_display = [
        "name",
        "source",
        "project",
        "link_method",
        "production_version",
        "last_updated_at",
        "gone_at",
    ]
    list_filter = [
        "source",
        "link_method",
        ("project", admin.EmptyFieldListFilter),
        ("gone_at", admin.EmptyFieldListFilter),
    ]
    list_select_related = ["source", "project", "production_version__registered_model"]
    search_fields = ["name", "description"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    """Read-only: pipelines come from their GitHub or GitLab source's sync and webhooks."""

    list_display = ["name", "repository", "provider", "state", "latest_status", "failing_since", "gone_at"]
    list_filter = ["provider", "latest_status", "state", ("gone_at", admin.EmptyFieldListFilter)]
    list_select_related = ["repository"]
    search_fields = ["name", "file_path", "repository__name", "template_project", "template_file"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.PipelineRun)
class PipelineRunAdmin(admin.ModelAdmin):
    """Read-only: runs come from the sync and webhooks."""

    list_display = ["pipeline", "run_number", "status", "conclusion", "portal_status", "branch", "created_at"]
    list_filter = ["portal_status", "pipeline__provider"]
    list_select_related = ["pipeline"]
    raw_id_fields = ["pipeline"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.APIToken)
class APITokenAdmin(admin.ModelAdmin):
    """Tokens are made on the profile page (shown once there); here staff see and revoke them."""

    list_display = ["name", "display_prefix", "user", "kind", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["kind", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = ["user", "kind", "name", "prefix", "last_used_at", "expires_at", "revoked_at"]
    exclude = ["secret_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True):
            token.revoke()


@admin.register(models.ProjectFact)
class ProjectFactAdmin(admin.ModelAdmin):
    """Read-only: facts are reported through the API."""

    list_display = ["project", "name", "value", "observed_at", "reported_by"]
    list_filter = ["name"]
    list_select_related = ["project", "reported_by"]
    search_fields = ["name", "project__name"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
