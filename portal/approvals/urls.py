from django.urls import path

from portal.approvals import views

app_name = "approvals"
urlpatterns = [
    path("", views.policy_page, name="policy"),
]
