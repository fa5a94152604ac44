"""Runs, changes and lock releases in /admin/: read to see what happened, never edited by hand (a
run moves only through portal.changes.workflow and the workers)."""

from django.contrib import admin

from portal.runs.models import Change, LockRelease, Run


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Run)
class RunAdmin(ReadOnly):
    list_display = ["created_at", "workspace", "kind", "status", "requested_by", "worker_host", "heartbeat_at"]
    list_filter = ["status", "kind"]
    search_fields = ["workspace__path", "id"]
    list_select_related = ["workspace", "requested_by"]
    exclude = ["log", "variables"]
    readonly_fields = [
        "workspace",
        "change",
        "kind",
        "status",
        "requested_by",
        "approved_by",
        "error",
        "created_at",
        "started_at",
        "planned_at",
        "approved_at",
        "finished_at",
        "queued_at",
        "worker_name",
        "worker_host",
        "worker_pid",
        "worker_started",
        "terraform_pid",
        "terraform_started",
        "heartbeat_at",
        "lock_id",
        "cancel_requested_at",
        "cancelled_by",
    ]


@admin.register(Change)
class ChangeAdmin(ReadOnly):
    list_display = ["created_at", "title", "service", "outcome", "requested_by"]
    list_filter = ["outcome"]
    search_fields = ["title"]


@admin.register(LockRelease)
class LockReleaseAdmin(ReadOnly):
    list_display = ["released_at", "workspace", "lock_id", "holder", "released_by", "reason"]
    list_select_related = ["workspace", "released_by"]
