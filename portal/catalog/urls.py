from django.urls import path

from portal.catalog import history, rollback, views

app_name = "catalog"
# A literal segment here must be in portal.catalog.rules.RESERVED_NAMES (a test checks it).
urlpatterns = [
    path("", views.service_list, name="service-list"),
    path("register/", views.service_register, name="service-register"),
    path("register/preview/", views.service_register_preview, name="service-register-preview"),
    path("<str:name>/", views.service_detail, name="service-detail"),
    path("<str:name>/change/", views.service_change, name="service-change"),
    path("<str:name>/decommission/", views.service_decommission, name="service-decommission"),
    path("<str:name>/move/", views.service_move, name="service-move"),
    path("<str:name>/rollback/", rollback.propose_rollback, name="service-rollback"),
    # Under the name, so `history` needs no reserving: /services/history/ stays a service's page.
    path("<str:name>/history/", history.service_history, name="service-history"),
]
