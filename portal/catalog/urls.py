from django.urls import path

from portal.catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.service_list, name="service-list"),
    path("register/", views.service_register, name="service-register"),
    path("<str:name>/", views.service_detail, name="service-detail"),
    path("<str:name>/change/", views.service_change, name="service-change"),
]
