from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from portal.access import sso_views
from portal.access.login import AdminLoginForm, LoginPage
from portal.api import pages as token_pages
from portal.health import healthz

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="catalog:service-list"), name="home"),
    path("healthz", healthz, name="healthz"),
    path("login/", LoginPage.as_view(), name="login"),
    # Single sign-on (portal.access.sso): 404 while it is off. The callback's URL is the redirect
    # URI registered at the identity provider.
    path("oidc/authenticate/", sso_views.start, name="oidc_authentication_init"),
    path("oidc/callback/", sso_views.callback, name="oidc_authentication_callback"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("services/", include("portal.catalog.urls")),
    path("runs/", include("portal.changes.run_urls")),
    path("changes/", include("portal.changes.change_urls")),
    path("changes/", include("portal.policy.urls")),
    path("changes/", include("portal.costs.urls")),
    path("approval-policy/", include("portal.approvals.urls")),
    path("platform/", include("portal.platform.platform_urls")),
    path("platform/cluster/", include("portal.platform.cluster_urls")),
    path("platform/rollouts/", include("portal.rollouts.urls")),
    path("workspaces/", include("portal.platform.workspace_urls")),
    path("administrators/", include("portal.administrators.urls")),
    path("webhooks/", include("portal.notifications.urls")),
    path("drift/", include("portal.drift.urls")),
    path("audit/", include("portal.access.audit_urls")),
    path("teams/", include("portal.access.urls")),
    path("tokens/", token_pages.token_list, name="tokens"),
    path("tokens/<int:token_id>/revoke/", token_pages.token_revoke, name="token-revoke"),
    path("api/", include("portal.api.urls")),
    path("django-rq/", include("django_rq.urls")),
    path("admin/", admin.site.urls),
]

admin.site.login_form = AdminLoginForm  # the admin's login takes turns per account too

handler400 = "portal.error_pages.bad_request"
handler403 = "portal.error_pages.permission_denied"
handler404 = "portal.error_pages.page_not_found"
