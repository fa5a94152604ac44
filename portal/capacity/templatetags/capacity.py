from django import template

from portal.capacity.cluster_settings import ClusterSettingsForm
from portal.capacity.usage import room
from portal.workspaces.layout import applied_cluster_inputs, declared_cluster_sizing

register = template.Library()


@register.inclusion_tag("capacity/_panel.html", takes_context=True)
def cluster_capacity(context):
    """The Platform page's capacity panel and, for admins, the cluster settings form (the one sent back
    with its errors when the page is the answer to it); `cluster_inputs` in the context: the cluster's
    applied inputs, as the page read them."""
    user = context.get("user")
    may_change = bool(user and user.has_perm("workspaces.manage_platform"))
    applied = context.get("cluster_inputs") or applied_cluster_inputs()  # the page's, read once for the panel and the form
    form = context.get("cluster_form") or (ClusterSettingsForm(initial=declared_cluster_sizing(applied)) if may_change else None)
    return {"room": room(applied), "form": form, "may_change": may_change, "csrf_token": context.get("csrf_token")}
