from django.apps import AppConfig


class PlatformConfig(AppConfig):
    # No models: an app for its template tags and its management command (provision_platform).
    name = "portal.platform"
    label = "platform"
