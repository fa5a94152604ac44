"""Cluster capacity: what the ECS cluster's instances hold (instance_types), the arithmetic of
placing tasks on them (model), what the services use and the checks asked before planning (usage),
and the cluster's settings as a platform change (cluster_settings, with its form and page)."""
