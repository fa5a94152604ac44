from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from portal.api import administrators, changes, drift, platform, rollouts, views, webhooks, workspaces

app_name = "api"
urlpatterns = [
    path("v1/services/", views.ServiceListView.as_view(), name="service-list"),
    path("v1/services/<str:name>/", views.ServiceDetailView.as_view(), name="service-detail"),
    path("v1/services/<str:name>/deployments/", views.DeploymentView.as_view(), name="service-deployments"),
    path("v1/runs/<uuid:pk>/", views.RunDetailView.as_view(), name="run-detail"),
    path("v1/runs/<uuid:pk>/log/", views.RunLogView.as_view(), name="run-log"),
    path("v1/runs/<uuid:pk>/approve/", views.RunApproveView.as_view(), name="run-approve"),
    path("v1/runs/<uuid:pk>/discard/", views.RunDiscardView.as_view(), name="run-discard"),
    path("v1/runs/<uuid:pk>/cancel/", views.RunCancelView.as_view(), name="run-cancel"),
    path("v1/runs/<uuid:pk>/policy-override/", views.RunPolicyOverrideView.as_view(), name="run-policy-override"),
    path("v1/runs/<uuid:pk>/cost-override/", views.RunCostOverrideView.as_view(), name="run-cost-override"),
    path("v1/audit/", views.AuditListView.as_view(), name="audit-list"),
    # What the other pages do (issue 21): changes, drift, webhooks, workspaces, the platform, administrators.
    path("v1/changes/<uuid:pk>/", changes.ChangeDetailView.as_view(), name="change-detail"),
    path("v1/changes/<uuid:pk>/approve/", changes.ChangeApproveView.as_view(), name="change-approve"),
    path("v1/changes/<uuid:pk>/discard/", changes.ChangeDiscardView.as_view(), name="change-discard"),
    path("v1/workspaces/", workspaces.WorkspaceListView.as_view(), name="workspace-list"),
    path("v1/workspaces/<int:pk>/", workspaces.WorkspaceDetailView.as_view(), name="workspace-detail"),
    path("v1/workspaces/<int:pk>/unlock/", workspaces.WorkspaceUnlockView.as_view(), name="workspace-unlock"),
    path("v1/workspaces/<int:pk>/drift/", drift.DriftView.as_view(), name="workspace-drift"),
    path("v1/workspaces/<int:pk>/drift/check/", drift.DriftCheckView.as_view(), name="workspace-drift-check"),
    path("v1/workspaces/<int:pk>/drift/restore/", drift.DriftRestoreView.as_view(), name="workspace-drift-restore"),
    path("v1/queue/", workspaces.QueueView.as_view(), name="queue"),
    path("v1/services/<str:name>/webhooks/", webhooks.ServiceWebhookListView.as_view(), name="service-webhooks"),
    path("v1/webhooks/", webhooks.PlatformWebhookListView.as_view(), name="platform-webhooks"),
    path("v1/webhooks/<int:pk>/", webhooks.WebhookDetailView.as_view(), name="webhook-detail"),
    path("v1/platform/", platform.PlatformView.as_view(), name="platform"),
    path("v1/platform/workspaces/<int:pk>/plan/", platform.PlatformPlanView.as_view(), name="platform-plan"),
    path("v1/rollouts/", rollouts.RolloutListView.as_view(), name="rollouts"),
    path("v1/rollouts/<int:pk>/", rollouts.RolloutView.as_view(), name="rollout"),
    path("v1/rollouts/<int:pk>/resume/", rollouts.RolloutResumeView.as_view(), name="rollout-resume"),
    path("v1/administrators/", administrators.AdministratorListView.as_view(), name="administrator-list"),
    path("v1/administrators/<slug:service_type>/", administrators.AdministratorDetailView.as_view(), name="administrator-detail"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"", views.NotFoundView.as_view()),
]
