from django.urls import path

from portal.administrators import views

app_name = "administrators"
urlpatterns = [
    path("", views.administrators, name="list"),
    path("add/", views.add, name="add"),
    path("<slug:service_type>/scope/", views.change_scope, name="scope"),
    path("<slug:service_type>/retire/", views.retire, name="retire"),
]
