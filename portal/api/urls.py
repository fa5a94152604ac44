from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from portal.api import views

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
    path("v1/audit/", views.AuditListView.as_view(), name="audit-list"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"", views.NotFoundView.as_view()),
]
