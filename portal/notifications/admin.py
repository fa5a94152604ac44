from django.contrib import admin

from portal.notifications.models import Delivery, Webhook


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["url", "service", "events", "active", "created_at"]
    exclude = ["secret"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["webhook", "event", "status", "attempts", "outcome", "response_code", "created_at"]
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request):
        # Every field is read only: an "add" could only save an empty row (a 500 on the database's
        # constraints). Deliveries are made by the events they tell of.
        return False
