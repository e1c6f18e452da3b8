from django.contrib import admin

from preservation.models import ObjectAudit, PreservationEvent, ProcessingJob, Replica, Store, StoreObject


class ReadOnlyAdmin(admin.ModelAdmin):
    """Preservation records are written by the pipeline only; staff read them here."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Store)
class StoreAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "jurisdiction", "access_levels", "active", "last_ok_at", "last_error_at"]


@admin.register(Replica)
class ReplicaAdmin(ReadOnlyAdmin):
    list_display = ["asset", "store", "state", "verified_at", "attempts"]
    list_filter = ["state", "store"]
    search_fields = ["asset__id", "key"]


@admin.register(StoreObject)
class StoreObjectAdmin(ReadOnlyAdmin):
    list_display = ["object", "store", "head_version", "last_attempt_at", "last_error"]
    list_filter = ["store"]


@admin.register(PreservationEvent)
class PreservationEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "event_type", "outcome", "object", "asset", "store", "agent"]
    list_filter = ["event_type", "outcome", "store"]
    search_fields = ["object__identifier", "detail"]
    date_hierarchy = "occurred_at"


@admin.register(ProcessingJob)
class ProcessingJobAdmin(ReadOnlyAdmin):
    list_display = ["created", "kind", "object", "asset", "state", "stage", "progress", "message"]
    list_filter = ["state", "kind", "stage"]


@admin.register(ObjectAudit)
class ObjectAuditAdmin(ReadOnlyAdmin):
    list_display = ["object", "finished_at", "healthy", "requested_at", "lease_until", "summary"]
    list_filter = ["healthy"]
    search_fields = ["object__identifier"]
