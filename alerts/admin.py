from django.contrib import admin

from alerts.models import Alert, AlertRule, Delivery, DeliveryAttempt, NotificationChannel, Silence


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = [
        "cluster",
        "kind",
        "threshold",
        "duration_s",
        "severity",
        "enabled",
        "is_default",
    ]
    list_filter = ["kind", "severity", "enabled"]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = [
        "cluster",
        "kind",
        "subject_label",
        "state",
        "severity",
        "fired_at",
        "resolved_at",
    ]
    list_filter = ["state", "kind", "severity"]
    readonly_fields = ["active_since", "fired_at", "resolved_at", "firing_notified"]


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin):
    list_display = ["cluster", "kind", "subject", "starts_at", "ends_at", "created_by"]
    list_filter = ["kind"]


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "cluster", "kind", "min_severity", "enabled"]
    list_filter = ["kind", "enabled"]
    readonly_fields = ["secret_prefix"]


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    readonly_fields = ["number", "at", "duration_ms", "status_code", "error"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "channel", "event", "state", "attempts", "delivered_at"]
    list_filter = ["state", "event"]
    readonly_fields = ["payload", "attempts", "claimed_until", "last_error", "delivered_at"]
    inlines = [DeliveryAttemptInline]
