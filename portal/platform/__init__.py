"""The platform the services run on: its page (/platform/), its provisioning through the portal's
own runs, and the pages of workspaces (/workspaces/<id>/: the state lock, the queue)."""
