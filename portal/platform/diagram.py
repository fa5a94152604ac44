"""The platform's picture: from the internet to the load balancer in the public subnets, on to the
container instances in the private subnets, one row of subnets per availability zone, and the ECS
cluster whose capacity provider scales those instances.

Drawn from what the network and cluster workspaces last applied: their outputs, their inputs, and
for what their root modules leave to the shared module (the VPC's range, the instance counts),
that module's defaults.
"""

from dataclasses import dataclass

from portal.diagrams.applied import Applied, last_applied, module_defaults
from portal.diagrams.svg import (
    CONTAINERS,
    NETWORKING,
    NEUTRAL,
    Canvas,
    Picture,
    Rect,
    Value,
)
from portal.workspaces.models import Workspace
from portal.workspaces.paths import cluster_path, network_path

AFTER_APPLY = "after apply"
WIDTH = 860
NOT_PROVISIONED = "The platform is not provisioned yet: its picture appears here once the network workspace below has applied."


@dataclass(frozen=True)
class Zone:
    name: str
    public_subnet: str
    private_subnet: str
    nat_gateway: bool


def platform_picture(workspaces: list[Workspace]) -> Picture:
    """The picture for the Platform page, from the page's platform workspaces: one query."""
    by_path = {workspace.path: workspace for workspace in workspaces}
    wanted = [by_path.get(network_path()), by_path.get(cluster_path())]
    applied = last_applied([workspace for workspace in wanted if workspace is not None])
    network, cluster = (applied.get(workspace.pk) if workspace else None for workspace in wanted)
    if network is None:
        return Picture(NOT_PROVISIONED)
    caption = "Drawn from the outputs and inputs of the network and cluster workspaces as last applied"
    caption += "." if cluster else "; the cluster workspace has not applied yet."
    return Picture(caption, draw(network, cluster))


def effective(applied: Applied, module: str, name: str):
    """An input as AWS has it: set by the workspace, else the module's default."""
    return applied.variables.get(name, module_defaults(module).get(name))


def zones(network: Applied) -> list[Zone]:
    outputs = network.outputs
    public, private = outputs.get("public_subnet_ids") or [], outputs.get("private_subnet_ids") or []
    # The network module outputs subnets one per zone, in zone order; its root does not output the
    # zones' names, so they are numbered unless an output names them.
    names = outputs.get("availability_zones") or [f"zone {i + 1}" for i in range(max(len(public), len(private)))]
    nat_mode = effective(network, "network", "nat_mode")
    return [
        Zone(
            name=name,
            public_subnet=public[i] if i < len(public) else AFTER_APPLY,
            private_subnet=private[i] if i < len(private) else AFTER_APPLY,
            nat_gateway=nat_mode == "per_az" or (nat_mode == "single" and i == 0),
        )
        for i, name in enumerate(names)
    ]


def draw(network: Applied, cluster: Applied | None) -> str:
    canvas = Canvas(WIDTH)
    cluster_outputs = cluster.outputs if cluster else {}
    nat_mode = effective(network, "network", "nat_mode")
    cidr = network.outputs.get("vpc_cidr_block") or effective(network, "network", "cidr_block")
    vpc_label = f"VPC {network.outputs.get('vpc_id', '')} · {cidr} · NAT: {NAT_MODES.get(nat_mode, nat_mode)}"

    vpc = Rect(120, 10, 518, 0)
    public_x, private_x, tier_w, box_w = vpc.x + 12, vpc.x + 270, 236, 216
    tier_top = vpc.y + 34
    top = tier_top + 32
    entry = [
        (public_x + 10, NETWORKING, "ELB", "Load balancer", load_balancer(cluster_outputs)),
        (private_x + 10, CONTAINERS, "EC2 Auto Scaling", "Container instances", instances(cluster)),
    ]
    height = max(canvas.box_height(box_w, title, values) for _, _, _, title, values in entry)
    alb, hosts = (canvas.box(x, top, box_w, kind=kind, title=title, values=values, color=color, min_h=height) for x, color, kind, title, values in entry)

    y = alb.bottom + 16
    for zone in zones(network):
        public = [Value(zone.public_subnet)] + ([Value("NAT gateway", note=True)] if zone.nat_gateway else [])
        private = [Value(zone.private_subnet), Value("instances and tasks" if nat_mode != "none" else "no way out: NAT none", note=True)]
        row_h = max(canvas.box_height(box_w, zone.name, public), canvas.box_height(box_w, zone.name, private))
        canvas.box(public_x + 10, y, box_w, kind="Public subnet", title=zone.name, values=public, color=NETWORKING, min_h=row_h)
        canvas.box(private_x + 10, y, box_w, kind="Private subnet", title=zone.name, values=private, color=NETWORKING,
                   min_h=row_h)  # fmt: skip
        y += row_h + 12
    tier_h = y - tier_top
    canvas.group(Rect(public_x, tier_top, tier_w, tier_h), "Public tier", color=NETWORKING, dashed=True)
    canvas.group(Rect(private_x, tier_top, tier_w, tier_h), "Private tier", color=NETWORKING, dashed=True)
    canvas.group(Rect(vpc.x, vpc.y, vpc.w, tier_top + tier_h + 12 - vpc.y), vpc_label, color=NETWORKING)

    internet_h = canvas.box_height(88, "Internet", [], kind="")
    internet = canvas.box(8, alb.cy - internet_h / 2, 88, kind="", title="Internet", values=[], color=NEUTRAL)
    ecs = canvas.box(vpc.right + 30, top, WIDTH - 8 - vpc.right - 30, kind="Amazon ECS", title="Cluster",
                     values=cluster_values(cluster_outputs), color=CONTAINERS, min_h=height)  # fmt: skip
    # Traffic from the left, through the load balancer to the tasks on the instances, which the
    # cluster's capacity provider scales.
    for left, right in [(internet, alb), (alb, hosts), (hosts, ecs)]:
        canvas.arrow([(left.right, left.cy), (right.x - 2, left.cy)])
    return canvas.render("Architecture of the platform")


NAT_MODES = {"none": "none", "single": "one gateway", "per_az": "one gateway per zone"}


def load_balancer(outputs: dict) -> list[Value]:
    dns = outputs.get("alb_dns_name")
    values = [Value(dns) if dns else Value(f"DNS name: {AFTER_APPLY}", note=True)]
    return values + [Value("in every public subnet", note=True)]


def instances(cluster: Applied | None) -> list[Value]:
    if cluster is None:
        return [Value(AFTER_APPLY, note=True)]
    low, high, size = (effective(cluster, "ecs-cluster", name) for name in ("min_size", "max_size", "instance_type"))
    return [Value(f"{low}–{high} × {size}"), Value("in every private subnet", note=True)]


def cluster_values(outputs: dict) -> list[Value]:
    arn, provider = outputs.get("cluster_arn"), outputs.get("capacity_provider_name")
    if not arn:
        return [Value(AFTER_APPLY, note=True)]
    values = [Value(arn.rsplit("/", 1)[-1])]
    if provider:
        values += [Value("capacity provider", note=True), Value(provider)]
    return values
