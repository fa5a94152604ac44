from django.contrib import admin, messages

from portal.api.models import ApiToken

FIELDS = ["user", "label", "hint", "scope", "service", "created_at", "expires_at", "revoked_at", "revoked_reason"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = FIELDS
    list_filter = ["scope", "revoked_reason"]
    fields = FIELDS
    # What a token may do is settled when it is issued (with its owner's password); here it can only
    # end, by the action below, which records who revoked it.
    readonly_fields = [field for field in FIELDS if field != "label"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        # A key is shown once, when it is issued: the API tokens page, or `manage.py issue_token <username>`.
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        revoked = sum(token.revoke(request.user) for token in queryset.filter(revoked_at=None))
        self.message_user(request, f"{revoked} token(s) revoked: requests with them now get 401.", messages.SUCCESS)
