from django.apps import AppConfig


class AdministratorsConfig(AppConfig):
    name = "portal.administrators"
    label = "administrators"
