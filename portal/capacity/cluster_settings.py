"""The cluster's instance type and size as platform settings: an admin proposes new ones, which plan
the cluster workspace with them; another admin approves; what applies is then in effect
(portal.workspaces.layout.applied_cluster_inputs). A cluster too small for the services it runs, or
an instance type their tasks do not fit on, is refused before anything is planned."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from portal import audit
from portal.capacity.defaults import MAX_INSTANCES
from portal.capacity.instance_types import INSTANCE_TYPES
from portal.capacity.model import CapacityRefusal, ClusterSettings, shrink_refusal
from portal.capacity.usage import need, take_turns
from portal.changes.workflow import Refused, propose
from portal.core import params
from portal.core.forms import NoSilentTruncation
from portal.runs.models import Run
from portal.workspaces.layout import (
    CLUSTER_SIZING,
    cluster_variables,
    declared_cluster_sizing,
    sync_platform_workspaces,
)
from portal.workspaces.paths import cluster_path


class InstancesField(forms.IntegerField):
    """A number of instances, written with the digits 0-9 (Django's own field takes '²' and '1_0')."""

    default_error_messages = {"invalid": "Enter a whole number of instances, written with the digits 0-9."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        number = params.ascii_int(str(value).strip())
        if number is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return number


def instance_type_choices(trunking: bool) -> list[tuple[str, list[tuple[str, str]]]]:
    """The table's types, grouped by family, each with what it holds."""
    families: dict[str, list[tuple[str, str]]] = {}
    for kind in sorted(INSTANCE_TYPES.values(), key=lambda k: (k.name.split(".")[0], k.vcpus, k.memory_mib)):
        families.setdefault(kind.name.split(".")[0], []).append((kind.name, kind.summary(trunking)))
    return list(families.items())


class ClusterSettingsForm(NoSilentTruncation, forms.Form):
    instance_type = forms.ChoiceField(help_text="What one instance holds: vCPUs, memory and how many awsvpc tasks (one network interface each).")
    min_size = InstancesField(label="Fewest instances", min_value=0, max_value=MAX_INSTANCES, help_text="Managed scaling never goes below it.")
    max_size = InstancesField(
        label="Most instances",
        min_value=1,
        max_value=MAX_INSTANCES,
        help_text="What the portal counts as the cluster's room: managed scaling adds instances up to it, never beyond.",
    )
    desired_capacity = InstancesField(
        label="Instances to start with",
        min_value=0,
        max_value=MAX_INSTANCES,
        help_text="Used when the group is first made; afterwards managed scaling moves it.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["instance_type"].choices = instance_type_choices(settings.CLUSTER_AWSVPC_TRUNKING)

    def clean(self):
        cleaned = super().clean()
        sizes = [cleaned.get(name) for name in ("min_size", "desired_capacity", "max_size")]
        if None not in sizes and not sizes[0] <= sizes[1] <= sizes[2]:
            self.add_error(
                "desired_capacity",
                f"Fewest <= to start with <= most must hold (got {sizes[0]}, {sizes[1]} and {sizes[2]}): the autoscaling group refuses anything else.",
            )
        return cleaned


def summary(current: dict, wanted: dict) -> str:
    return ", ".join(f"{name} {current.get(name)} -> {wanted[name]}" for name in CLUSTER_SIZING if current.get(name) != wanted[name])


@transaction.atomic
def propose_cluster_change(user, wanted: dict) -> Run:
    """Plan the cluster workspace with `wanted` sizing (CLUSTER_SIZING); raises Refused
    (CapacityRefusal, naming the field) when it is what is applied already, or too small for the
    services."""
    take_turns()  # the services' checks take turns with this one
    wanted = {name: wanted[name] for name in CLUSTER_SIZING}
    current = declared_cluster_sizing()
    if wanted == current:
        raise Refused(CapacityRefusal("no_change", "That is the cluster as applied; nothing to plan.", field="instance_type"))
    refusal = shrink_refusal(ClusterSettings(**wanted, trunking=settings.CLUSTER_AWSVPC_TRUNKING), need())
    if refusal:
        raise Refused(refusal)
    workspace = next(w for w in sync_platform_workspaces() if w.path == cluster_path())
    change = propose(f"Change the cluster: {summary(current, wanted)}", [(workspace, cluster_variables(wanted))], user)
    audit.record("cluster.change", user, change, before=current, after=wanted)
    return change.runs_in_order()[0]
