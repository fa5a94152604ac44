# No models: this module exists so Django sends post_migrate for this app (see apps.py).
