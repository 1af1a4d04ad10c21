from django.contrib import admin

from clusters.models import (
    ApiToken,
    AuditEvent,
    Cluster,
    DataplaneVersion,
    Membership,
    Node,
    NodeSize,
    Organisation,
    Provider,
    Region,
)


class RegionInline(admin.TabularInline):
    model = Region
    extra = 0


class NodeSizeInline(admin.TabularInline):
    model = NodeSize
    extra = 0


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "enabled"]
    inlines = [RegionInline, NodeSizeInline]


@admin.register(NodeSize)
class NodeSizeAdmin(admin.ModelAdmin):
    list_display = ["slug", "provider", "vcpus", "memory_gib", "disk_gib", "hourly_price"]
    list_filter = ["provider"]


admin.site.register(Region)


@admin.register(DataplaneVersion)
class DataplaneVersionAdmin(admin.ModelAdmin):
    list_display = ["version", "is_default", "available"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    inlines = [MembershipInline]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """View only: tokens are made and revoked in the console or the API, where each change is
    audited; an edit here could otherwise quietly un-revoke a token or widen its access."""

    list_display = ["name", "organisation", "prefix", "read_only", "expires_at", "revoked_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class NodeInline(admin.TabularInline):
    model = Node
    extra = 0
    fields = ["role", "index", "host", "port", "status", "last_report_at"]
    readonly_fields = fields


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "status", "provider", "broker_count", "created_at"]
    list_filter = ["status", "provider"]
    inlines = [NodeInline]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "organisation", "actor", "action", "object_name"]
    list_filter = ["action"]
