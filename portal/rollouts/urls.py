from django.urls import path

from portal.rollouts import pages

app_name = "rollouts"
urlpatterns = [
    path("", pages.propose, name="propose"),
    path("<int:rollout_id>/", pages.detail, name="detail"),
    path("<int:rollout_id>/resume/", pages.resume, name="resume"),
]
