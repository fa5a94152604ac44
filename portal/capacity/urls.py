from django.urls import path

from portal.capacity import views

app_name = "capacity"
urlpatterns = [
    path("", views.change_cluster, name="change-cluster"),
]
