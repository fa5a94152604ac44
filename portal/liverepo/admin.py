from django.contrib import admin

from portal.liverepo.models import ChangeCommit


@admin.register(ChangeCommit)
class ChangeCommitAdmin(admin.ModelAdmin):
    """Read only: rows are written by the commit job."""

    list_display = ["committed_at", "change", "sha", "pushed", "error"]
    list_filter = ["pushed"]
    search_fields = ["sha", "change__id", "change__title"]
    list_select_related = ["change"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
