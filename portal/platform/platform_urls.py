from django.urls import path

from portal.platform import platform_pages as views

app_name = "platform"
urlpatterns = [
    path("", views.platform, name="page"),
    path("<int:workspace_id>/plan/", views.plan_platform_workspace, name="plan"),
]
