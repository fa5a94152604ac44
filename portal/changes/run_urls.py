from django.urls import path

from portal.changes import run_list
from portal.changes import run_pages as views

app_name = "runs"
urlpatterns = [
    path("", run_list.run_list, name="run-list"),
    path("<uuid:run_id>/", views.run_detail, name="run-detail"),
    path("<uuid:run_id>/log/", views.run_log, name="run-log"),
    path("<uuid:run_id>/approve/", views.run_approve, name="run-approve"),
    path("<uuid:run_id>/discard/", views.run_discard, name="run-discard"),
    path("<uuid:run_id>/cancel/", views.run_cancel, name="run-cancel"),
]
