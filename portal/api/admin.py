from django.contrib import admin

from portal.api.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "label", "hint", "created_at", "revoked_at"]
    list_filter = ["revoked_at"]
    fields = ["user", "label", "hint", "created_at", "revoked_at"]
    readonly_fields = ["user", "hint", "created_at"]

    def has_add_permission(self, request):
        # A key is shown once, when it is issued: `manage.py issue_token <username>`.
        return False
