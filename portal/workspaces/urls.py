from django.urls import path

from portal.workspaces import views

app_name = "workspaces"
urlpatterns = [
    path("", views.platform, name="platform"),
    path("<int:workspace_id>/plan/", views.plan_platform_workspace, name="plan"),
]
