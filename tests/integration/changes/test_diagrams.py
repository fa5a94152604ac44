"""The architecture pictures on the service and Platform pages: drawn from the declaration and the
last applies' outputs, "after apply" where AWS has not named a thing yet, every string escaped,
well-formed SVG, and a fixed number of queries however much history there is."""

import re
import xml.etree.ElementTree as ET

import hcl2
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.catalog import diagram as service_diagram
from portal.catalog.diagram import service_picture
from portal.catalog.models import Service, ServiceRevision
from portal.catalog.onboarding import change_service, decommission_service, register_service
from portal.changes.workflow import advance, approve, propose
from portal.diagrams.applied import Applied
from portal.platform import diagram as platform_diagram
from portal.platform.diagram import platform_picture
from portal.runs.models import RunStatus
from portal.workspaces.layout import cluster_path, network_path, sync_platform_workspaces
from portal.workspaces.models import Workspace
from tests.builders import a_team
from tests.conftest import record_plan

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"
REPOSITORY_URL = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/art-service-sourcing-data-service"
TARGET_GROUP_ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/art-service-sourcing-data-se/0123456789abcdef"
SERVICE_OUTPUTS = {
    "url": "http://art-service-alb-1.eu-west-1.elb.amazonaws.com/art-service-sourcing-data-service/",
    "target_group_arn": TARGET_GROUP_ARN,
    "service_name": "art-service-sourcing-data-service",
}
NETWORK_OUTPUTS = {
    "vpc_id": "vpc-0a1b2c3d4e5f67890",
    "availability_zones": ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
    "public_subnet_ids": ["subnet-0public00000000a", "subnet-0public00000000b", "subnet-0public00000000c"],
    "private_subnet_ids": ["subnet-0private0000000a", "subnet-0private0000000b", "subnet-0private0000000c"],
}
CLUSTER_OUTPUTS = {
    "cluster_arn": "arn:aws:ecs:eu-west-1:123456789012:cluster/art-service-cluster",
    "capacity_provider_name": "art-service-capacity",
    "alb_dns_name": "art-service-alb-1.eu-west-1.elb.amazonaws.com",
}


@pytest.fixture(autouse=True)
def known_runner(settings):
    """The Platform page writes the administrators' inputs, which name who runs the portal: named
    here, so that no test asks STS."""
    settings.RUNNER_PRINCIPAL_ARNS = ["arn:aws:iam::123456789012:user/portal"]


def apply_with_outputs(change, approver, outputs_by_module: dict[str, dict]):
    """A change through the worker's plans, an approval and the worker's applies, each apply
    recording its workspace's outputs as `terraform output -json` gives them to the worker."""
    for run in change.runs_in_order():
        record_plan(run)
    approve(change, approver)
    for run in change.runs_in_order():
        run.refresh_from_db()
        if run.status == RunStatus.APPROVED and run.start_applying():
            run.finish_applied(outputs_by_module.get(run.workspace.module, {}))
            advance(run.change)
    change.refresh_from_db()
    return change


def onboard(people, service_form_data):
    service, change = register_service(people["dev"], **service_form_data)
    outputs = {"ecr-repository": {"repository_url": REPOSITORY_URL}, "ecs-service": SERVICE_OUTPUTS}
    apply_with_outputs(change, people["approver"], outputs)
    return Service.objects.get(pk=service.pk)


def svg_of(html: str) -> ET.Element:
    """The page's picture, parsed as XML: a malformed or injected SVG fails here."""
    found = re.search(r"<svg\b.*?</svg>", html, re.S)
    assert found, "no picture on the page"
    return ET.fromstring(found[0])


def texts(svg: ET.Element) -> list[str]:
    return [element.text or "" for element in svg.iter(f"{SVG}text")]


def shown(svg: ET.Element) -> str:
    """All the picture's text; a value wrapped over lines reads whole, as its lines follow each other."""
    return "".join(texts(svg))


def service_page(client, user, name="sourcing-data-service") -> str:
    client.force_login(user)
    response = client.get(reverse("catalog:service-detail", args=[name]))
    assert response.status_code == 200
    return response.content.decode()


def test_an_applied_service_is_drawn_from_its_declaration_and_outputs(client, people, service_form_data):
    onboard(people, {**service_form_data, "container_port": 8082, "desired_count": 2, "health_check_path": "/ready"})

    page = service_page(client, people["dev"])
    svg = svg_of(page)
    lines = texts(svg)
    assert "HTTP port 8082" in lines
    assert "health /ready" in lines
    assert "desired count 2" in lines
    assert "2 tasks" in lines
    assert "256 CPU units" in lines and "512 MiB" in lines and "image 1.0.0" in lines
    assert "art-service-sourcing-data-se" in shown(svg)  # the target group, named from its ARN
    assert REPOSITORY_URL in shown(svg)
    assert "/ecs/art-service-sourcing-data-service" in lines
    assert "/art-service-sourcing-data-service" in shown(svg)  # the path it is routed under
    assert "after apply" not in shown(svg)
    assert "Drawn from the applied declaration (revision 1)" in page


def test_autoscaling_is_drawn_with_its_range_when_the_service_was_applied_with_it(client, people, service_form_data, settings):
    settings.SERVICE_AUTOSCALING = True
    onboard(people, service_form_data)

    assert "autoscaling 1–4 tasks at 60% CPU" in " ".join(texts(svg_of(service_page(client, people["dev"]))))


def test_a_service_never_applied_reads_after_apply_for_what_only_aws_names(client, people, service_form_data):
    register_service(people["dev"], **{**service_form_data, "container_port": 9000})

    page = service_page(client, people["dev"])
    svg = svg_of(page)
    assert "URL: after apply" in texts(svg)
    assert "name: after apply" in texts(svg)  # the target group
    assert "HTTP port 9000" in texts(svg)  # what the proposal declares is drawn as proposed
    assert "dkr.ecr" not in shown(svg)
    assert "Drawn from the proposed declaration (revision 1): nothing is applied yet" in page


def test_a_pending_change_leaves_the_picture_on_the_applied_declaration(client, people, service_form_data):
    service = onboard(people, service_form_data)
    change_service(service, people["dev"], desired_count=5)

    svg = svg_of(service_page(client, people["dev"]))
    assert "desired count 1" in texts(svg)
    assert "desired count 5" not in texts(svg)


def test_a_decommissioned_service_says_nothing_runs_instead_of_a_picture(client, people, service_form_data):
    service = onboard(people, service_form_data)
    apply_with_outputs(decommission_service(service, people["admin"]), people["other-admin"], {})

    page = service_page(client, people["admin"])
    assert "nothing of it runs in AWS, so there is nothing to draw" in page
    assert "<svg" not in page


def test_markup_in_a_service_name_and_in_outputs_is_drawn_as_text(people):
    service = Service(pk=1, name='<script>alert("x")</script>&', created_by=people["dev"], team=a_team())
    revision = ServiceRevision(
        service=service, number=1, container_port=80, cpu=256, memory=512, desired_count=1,
        health_check_path="/health", image_tag="1.0.0", secrets={},
    )  # fmt: skip
    hostile = '"><script>alert(1)</script>'
    drawn = service_diagram.Drawn(
        service=service,
        revision=revision,
        variables={},
        service_outputs={"service_name": hostile, "target_group_arn": hostile, "log_group_name": hostile},
        repository_outputs={"repository_url": hostile},
    )

    markup = str(service_diagram.draw(drawn, label=f"Architecture of {service.name}"))

    assert "<script>" not in markup
    svg = ET.fromstring(markup)
    assert svg.get("aria-label") == f"Architecture of {service.name}"
    assert hostile in shown(svg)


def test_markup_in_platform_outputs_is_drawn_as_text():
    hostile = "<g onload=alert(1)>"
    network = Applied(variables={"nat_mode": "single"}, outputs={**NETWORK_OUTPUTS, "vpc_id": hostile})
    cluster = Applied(variables={}, outputs={**CLUSTER_OUTPUTS, "alb_dns_name": hostile})

    markup = str(platform_diagram.draw(network, cluster))

    assert "<g onload" not in markup
    assert hostile in shown(ET.fromstring(markup))


def test_the_pictures_are_well_formed_labelled_scalable_and_legible(client, people, service_form_data):
    onboard(people, service_form_data)
    svg = svg_of(service_page(client, people["dev"]))

    assert svg.tag == f"{SVG}svg"
    assert svg.get("role") == "img" and svg.get("aria-label") == "Architecture of sourcing-data-service"
    assert svg.find(f"{SVG}title").text == "Architecture of sourcing-data-service"
    assert svg.get("width") == "100%" and svg.get("viewBox").startswith("0 0 ")
    assert min(float(text.get("font-size")) for text in svg.iter(f"{SVG}text")) >= 12
    width = float(svg.get("viewBox").split()[2])
    assert all(float(rect.get("x")) + float(rect.get("width")) <= width for rect in svg.iter(f"{SVG}rect"))


def provision(people, outputs_by_path: dict[str, dict]):
    """Apply the platform workspaces named, each recording its outputs, as bin/portal does."""
    workspaces = {workspace.path: workspace for workspace in sync_platform_workspaces()}
    for path, outputs in outputs_by_path.items():
        workspace = workspaces[path]
        change = propose(f"Provision {path}", [(workspace, workspace.variables)], people["admin"])
        apply_with_outputs(change, people["other-admin"], {workspace.module: outputs})


def platform_page(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("platform:page"))
    assert response.status_code == 200
    return response.content.decode()


def test_the_platform_picture_has_one_subnet_per_zone_from_the_network_outputs(client, people):
    provision(people, {network_path(): NETWORK_OUTPUTS, cluster_path(): CLUSTER_OUTPUTS})

    svg = svg_of(platform_page(client, people["admin"]))
    lines = texts(svg)
    assert lines.count("PUBLIC SUBNET") == 3 and lines.count("PRIVATE SUBNET") == 3
    for zone in NETWORK_OUTPUTS["availability_zones"]:
        assert lines.count(zone) == 2  # its public and its private subnet
    for subnet in NETWORK_OUTPUTS["public_subnet_ids"] + NETWORK_OUTPUTS["private_subnet_ids"]:
        assert subnet in lines
    assert lines.count("NAT gateway") == (1 if settings.PLATFORM_NAT_MODE == "single" else 0)
    assert any(line.startswith("VPC vpc-0a1b2c3d4e5f67890 · 10.0.0.0/16") for line in lines)  # the module's range
    cluster = settings.CLUSTER_DEFAULTS  # the cluster's instance counts and type, as applied
    assert f"{cluster['min_size']}–{cluster['max_size']} × {cluster['instance_type']}" in lines
    assert "art-service-cluster" in lines and "art-service-capacity" in lines
    assert "art-service-alb-1.eu-west-1.elb.amazonaws.com" in shown(svg)


def test_a_network_without_a_cluster_yet_draws_the_cluster_after_apply(client, people):
    provision(people, {network_path(): NETWORK_OUTPUTS})

    page = platform_page(client, people["admin"])
    assert "the cluster workspace has not applied yet" in page
    assert "after apply" in texts(svg_of(page))


def test_a_platform_not_provisioned_says_so_instead_of_a_picture(client, people):
    page = platform_page(client, people["admin"])

    assert platform_diagram.NOT_PROVISIONED in page
    assert "<svg" not in page


def test_the_service_picture_costs_one_query_however_long_the_history(client, people, service_form_data, django_assert_num_queries):
    service = onboard(people, service_form_data)

    def page_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            service_page(client, people["dev"])
        return len(queries)

    service_page(client, people["dev"])  # the first request after a login also writes the session
    before = page_queries()
    for count in (2, 3, 4):
        apply_with_outputs(
            change_service(service, people["dev"], desired_count=count),
            people["approver"],
            {"ecs-service": SERVICE_OUTPUTS},
        )
    assert page_queries() == before

    service = Service.objects.with_runs().get(pk=service.pk)  # as the page reads it
    with django_assert_num_queries(1):
        picture = service_picture(service)
    assert "desired count 4" in texts(ET.fromstring(str(picture.svg)))


def test_the_platform_picture_costs_one_query_however_long_the_history(client, people, django_assert_max_num_queries):
    provision(people, {network_path(): NETWORK_OUTPUTS, cluster_path(): CLUSTER_OUTPUTS})
    workspaces = list(Workspace.objects.filter(service=None))

    with django_assert_max_num_queries(1):
        platform_picture(workspaces)

    client.force_login(people["admin"])
    client.get(reverse("platform:page"))  # the first request after a login also writes the session
    with CaptureQueriesContext(connection) as first:
        client.get(reverse("platform:page"))
    provision(people, {network_path(): NETWORK_OUTPUTS, cluster_path(): CLUSTER_OUTPUTS})
    with CaptureQueriesContext(connection) as second:
        client.get(reverse("platform:page"))
    assert len(second) == len(first)


def test_names_the_picture_derives_are_those_the_ecs_service_module_makes():
    """The log group and the routed paths are not outputs of the service workspace: the picture
    names them as the module does, and this reads the module so that the two cannot drift."""
    with open(settings.INFRA_MODULES_DIR / "ecs-service" / "main.tf") as handle:
        module = hcl2.load(handle)
    kind = '"aws_cloudwatch_log_group"'  # python-hcl2 keeps the labels' quotes
    log_group = next(resource[kind]['"this"'] for resource in module["resource"] if kind in resource)
    paths = next(block["path_patterns"] for block in module["locals"] if "path_patterns" in block)

    assert log_group["name"].strip('"') == service_diagram.log_group_name("${var.name}")
    routed = service_diagram.routed_paths("${var.name}")
    assert paths == f'${{var.path_patterns != null ? var.path_patterns : ["{routed[0]}", "{routed[1]}"]}}'
