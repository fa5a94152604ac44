from django.apps import AppConfig


class RunnerConfig(AppConfig):
    # No models: an app for its management commands (reap_runs, bootstrap_state).
    name = "portal.runner"
    label = "runner"
