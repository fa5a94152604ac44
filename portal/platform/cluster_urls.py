from django.urls import path

from portal.platform import cluster_pages as views

app_name = "capacity"
urlpatterns = [
    path("", views.change_cluster, name="change-cluster"),
]
