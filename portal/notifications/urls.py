from django.urls import path

from portal.notifications import views

app_name = "notifications"
urlpatterns = [
    path("", views.platform_webhooks, name="platform"),
    path("services/<str:name>/", views.service_webhooks, name="service"),
    path("<int:webhook_id>/remove/", views.webhook_remove, name="remove"),
]
