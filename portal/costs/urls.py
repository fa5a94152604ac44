from django.urls import path

from portal.costs import views

app_name = "costs"
urlpatterns = [
    path("<uuid:change_id>/cost-override/", views.change_override, name="override"),
]
