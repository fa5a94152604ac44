from django.urls import path

from portal.drift import views

app_name = "drift"
urlpatterns = [
    path("workspaces/<int:workspace_id>/check/", views.check_now, name="check"),
    path("workspaces/<int:workspace_id>/restore/", views.plan_to_restore, name="restore"),
]
