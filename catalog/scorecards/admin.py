"""The admin of scorecards: a scorecard with its checks inline, exemptions, and the stored results."""

from django.contrib import admin
from django.utils.html import format_html

from catalog.models import ProjectLevel, Scorecard, ScorecardCheck, ScorecardExemption, ScorecardResult


class ScorecardCheckInline(admin.TabularInline):
    model = ScorecardCheck
    extra = 0
    fields = ["position", "code", "title", "level", "kind", "params", "description"]

    # The checks of a scorecard defined by a file are edited in the file (``obj`` is the scorecard).
    def has_add_permission(self, request, obj=None):
        return not (obj and obj.file) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not (obj and obj.file) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not (obj and obj.file) and super().has_delete_permission(request, obj)


@admin.register(Scorecard)
class ScorecardAdmin(admin.ModelAdmin):
    list_display = ["name", "title", "levels", "enabled", "file"]
    list_filter = ["enabled"]
    search_fields = ["name", "title", "file"]
    inlines = [ScorecardCheckInline]

    def get_readonly_fields(self, request, obj=None):
        # A scorecard from a file (a repository's, or PORTAL_SCORECARDS_FILE) is edited in that file: the
        # next load would overwrite the admin's changes. Only turning it off stays here.
        if obj and obj.file:
            return ["defined_in", "name", "title", "description", "levels"]
        return ["file"]

    def get_fields(self, request, obj=None):
        if obj and obj.file:
            return ["defined_in", "name", "title", "description", "levels", "enabled"]
        return ["name", "title", "description", "levels", "enabled", "file"]

    @admin.display(description="defined in")
    def defined_in(self, obj):
        return format_html(
            "{} <br><small>Edit that file: changes here would be overwritten.</small>", obj.file
        )


@admin.register(ScorecardExemption)
class ScorecardExemptionAdmin(admin.ModelAdmin):
    list_display = ["project", "check_ref", "reason", "expires_at", "created_by"]
    list_filter = ["check_ref__scorecard"]
    search_fields = ["project__name", "check_ref__code", "reason"]
    autocomplete_fields = ["project"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ScorecardResult)
class ScorecardResultAdmin(admin.ModelAdmin):
    list_display = ["project", "check_ref", "passed", "exempt", "detail", "changed_at"]
    list_filter = ["check_ref__scorecard", "passed", "exempt"]
    search_fields = ["project__name", "check_ref__code"]

    def has_add_permission(self, request):
        return False  # written by the evaluation only

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ProjectLevel)
class ProjectLevelAdmin(ScorecardResultAdmin):
    list_display = ["project", "scorecard", "level", "previous_level", "changed_at"]
    list_filter = ["scorecard", "level"]
    search_fields = ["project__name"]
