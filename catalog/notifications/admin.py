"""Admin for notification channels and the outbox (triage history: the audit log, Admin → Log entries)."""

from django.contrib import admin, messages

from catalog import models
from catalog.notifications import delivery


@admin.register(models.Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["__str__", "team", "kind", "enabled", "status", "secret_is_set", "last_error_at"]
    list_filter = ["kind", "enabled", "status"]
    autocomplete_fields = ["team"]
    readonly_fields = ["status", "last_error", "last_error_at", "next_nag_at", "last_digest_at"]
    actions = ["mark_repaired"]

    @admin.display(boolean=True, description="secret set")
    def secret_is_set(self, channel):
        return channel.secret_is_set

    @admin.action(description="Mark repaired: send waiting notifications again")
    def mark_repaired(self, request, queryset):
        for channel in queryset:
            delivery.repair(channel)
        self.message_user(request, f"{queryset.count()} channel(s) marked ok", messages.SUCCESS)


@admin.register(models.Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["dedup_key", "kind", "channel", "person", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["kind", "status"]
    search_fields = ["dedup_key", "topic", "last_error"]
    list_select_related = ["channel__team", "person"]
    raw_id_fields = ["finding", "person", "channel"]
