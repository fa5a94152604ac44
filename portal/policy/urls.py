from django.urls import path

from portal.policy import views

app_name = "policy"
urlpatterns = [
    path("<uuid:change_id>/policy-override/", views.change_override, name="override"),
]
