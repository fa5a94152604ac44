from django.urls import path

from portal.platform import workspace_pages as views

app_name = "workspace"
urlpatterns = [
    path("<int:workspace_id>/", views.workspace_detail, name="detail"),
    path("<int:workspace_id>/unlock/", views.workspace_unlock, name="unlock"),
]
