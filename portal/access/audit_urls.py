from django.urls import path

from portal.access import audit_pages as views

app_name = "audit"
urlpatterns = [
    path("", views.audit_list, name="list"),
    path("export.jsonl", views.audit_export, name="export"),
]
