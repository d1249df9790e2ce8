"""The Django admin for every catalog model."""

import json

from auditlog.mixins import AuditlogHistoryAdminMixin
from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from catalog import models
from catalog.audit import record_sync_trigger
from catalog.notifications import admin as notification_admin  # noqa: F401  (registers its models)
from catalog.people_forms import PersonAdminForm
from catalog.rules import RULES
from catalog.scorecards import admin as scorecards_admin  # noqa: F401  (registers its models)
from catalog.source_config import redacted_config


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


class MembershipInline(admin.TabularInline):
    """A team's members, with where each membership comes from (catalog/memberships.py)."""

    model = models.Membership
    autocomplete_fields = ["person"]
    fields = ["person", "from_descriptor", "from_idp", "from_portal"]
    extra = 0


@admin.register(models.Team)
class TeamAdmin(EntityAdmin):
    list_display = [*EntityAdmin.list_display, "type", "parent"]
    autocomplete_fields = ["parent"]
    inlines = [MembershipInline]


@admin.register(models.Person)
class PersonAdmin(EntityAdmin):
    form = PersonAdminForm
    list_display = ["name", "namespace", "title", "email", "user", "source", "deactivated_at"]
    list_filter = [("deactivated_at", admin.EmptyFieldListFilter)]
    search_fields = [*EntityAdmin.search_fields, "email", "git_emails"]
    autocomplete_fields = ["user"]
    actions = ["deactivate", "reactivate"]

    @admin.action(description="Deactivate the selected people (they left)")
    def deactivate(self, request, queryset):
        count = queryset.filter(deactivated_at__isnull=True).update(deactivated_at=timezone.now())
        self.message_user(request, f"{count} deactivated.", messages.SUCCESS)

    @admin.action(description="Reactivate the selected people")
    def reactivate(self, request, queryset):
        count = queryset.filter(deactivated_at__isnull=False).update(deactivated_at=None)
        self.message_user(request, f"{count} reactivated.", messages.SUCCESS)


@admin.register(models.System)
class SystemAdmin(EntityAdmin):
    list_display = [*EntityAdmin.list_display, "owner_ref"]
    autocomplete_fields = ["owner_team", "owner_person"]


@admin.register(models.Project)
class ProjectAdmin(AuditlogHistoryAdminMixin, EntityAdmin):
    show_auditlog_history_link = True  # its audit log (django-auditlog), per row
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


class SourceForm(forms.ModelForm):
    """The Source form: ``config`` is checked by ``Source.clean`` (the connector's own validation, as
    ``source_add`` does) and shown redacted, so a secret saved before that check is never echoed; saving
    the redacted value back fails on the key at fault until it is replaced by an ``..._env`` name."""

    class Meta:
        model = models.Source
        fields = ["name", "kind", "config", "enabled", "sync_interval_minutes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial["config"] = redacted_config(self.instance.config)


@admin.register(models.Source)
class SourceAdmin(AuditlogHistoryAdminMixin, admin.ModelAdmin):
    form = SourceForm
    show_auditlog_history_link = True  # its audit log (django-auditlog), per row
    list_display = ["name", "kind", "enabled", "sync_interval_minutes"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name"]
    actions = ["sync_now"]

    @admin.action(description="Sync the selected sources now")
    def sync_now(self, request, queryset):
        from catalog.tasks import sync_source

        for source in queryset:
            record_sync_trigger(source, by=request.user, trigger=models.SyncRun.Trigger.MANUAL, via="admin")
            sync_source.delay(source.pk, models.SyncRun.Trigger.MANUAL)
        self.message_user(request, f"Queued {queryset.count()} syncs.", messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that the sync, webhooks or the API write: staff see and delete them, never add or edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
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


@admin.register(models.DescriptorFile)
class DescriptorFileAdmin(admin.ModelAdmin):
    list_display = ["path", "repository", "source", "entity_count", "read_at", "gone_at"]
    list_filter = ["source"]
    list_select_related = ["repository", "source"]
    search_fields = ["path", "repository__name"]


@admin.register(models.Finding)
class FindingAdmin(AuditlogHistoryAdminMixin, admin.ModelAdmin):
    show_auditlog_history_link = True  # its audit log (django-auditlog), per row
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
class RegisteredModelAdmin(ReadOnlyAdmin):
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


@admin.register(models.Pipeline)
class PipelineAdmin(ReadOnlyAdmin):
    """Read-only: pipelines come from their GitHub or GitLab source's sync and webhooks."""

    list_display = ["name", "repository", "provider", "state", "latest_status", "failing_since", "gone_at"]
    list_filter = ["provider", "latest_status", "state", ("gone_at", admin.EmptyFieldListFilter)]
    list_select_related = ["repository"]
    search_fields = ["name", "file_path", "repository__name", "template_project", "template_file"]


@admin.register(models.PipelineRun)
class PipelineRunAdmin(ReadOnlyAdmin):
    """Read-only: runs come from the sync and webhooks."""

    list_display = ["pipeline", "run_number", "status", "conclusion", "portal_status", "branch", "created_at"]
    list_filter = ["portal_status", "pipeline__provider"]
    list_select_related = ["pipeline"]
    raw_id_fields = ["pipeline"]


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
class ProjectFactAdmin(ReadOnlyAdmin):
    """Read-only: facts are reported through the API."""

    list_display = ["project", "name", "value", "observed_at", "reported_by"]
    list_filter = ["name"]
    list_select_related = ["project", "reported_by"]
    search_fields = ["name", "project__name"]


@admin.register(models.TransferRequest)
class TransferRequestAdmin(AuditlogHistoryAdminMixin, ReadOnlyAdmin):
    """Requests are made and decided on the project's page (catalog/transfers.py)."""

    list_display = ["project", "to_team", "status", "requested_by", "requested_at", "decided_by"]
    list_filter = ["status"]
    list_select_related = ["project", "to_team", "requested_by", "decided_by"]
    search_fields = ["project__name", "to_team__name", "reason"]
    show_auditlog_history_link = True
