from django.urls import path

from portal.access import views

app_name = "access"
urlpatterns = [
    path("", views.team_list, name="teams"),
    path("<str:name>/members/", views.member_add, name="member-add"),
    path("<str:name>/members/<str:username>/remove/", views.member_remove, name="member-remove"),
]
