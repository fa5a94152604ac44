from django.urls import path

from portal.changes import change_pages as views

app_name = "changes"
urlpatterns = [
    path("", views.change_list, name="list"),
    path("<uuid:change_id>/", views.change_detail, name="detail"),
    path("<uuid:change_id>/status/", views.change_status, name="status"),
    path("<uuid:change_id>/approve/", views.change_approve, name="approve"),
    path("<uuid:change_id>/discard/", views.change_discard, name="discard"),
]
