"""One answer to "what was a workspace last brought to", whoever asks: the drift check, the layout
(the administrators, the workload roles' grants, the cluster's sizing), capacity, the diagrams, the
registration preview. A destroy leaves nothing applied; an apply whose deploy was unhealthy applied."""

from datetime import timedelta

from django.utils import timezone

from portal.capacity.usage import last_applied_service
from portal.catalog.preview import load_balancer_dns_name
from portal.diagrams.applied import last_applied
from portal.drift.checks import applied_variables
from portal.platform.module_versions import module_report
from portal.runs.models import Run, RunStatus
from portal.workspaces import layout
from portal.workspaces.models import Workspace

SECRETS = {"billing": ["arn:aws:secretsmanager:eu-west-1:000000000000:secret:billing-db"]}


def settled(workspace, *runs):
    """Runs of `workspace` that ended one minute after another, oldest first: (kind, status, variables)."""
    start = timezone.now() - timedelta(hours=1)
    for minutes, (kind, status, variables) in enumerate(runs):
        at = start + timedelta(minutes=minutes)
        Run.objects.create(workspace=workspace, kind=kind, status=status, variables=variables, created_at=at, finished_at=at, outputs={})


def test_a_workspace_whose_last_apply_destroyed_it_has_nothing_applied_for_every_reader(db):
    roles = Workspace.objects.create(path=layout.workload_roles_path(), module="workload-roles", apply_order=2)
    variables = {"name_prefix": "art-service", "service_secrets": SECRETS}
    settled(roles, (Run.Kind.APPLY, RunStatus.APPLIED, variables), (Run.Kind.DESTROY, RunStatus.APPLIED, variables))

    assert applied_variables(roles) is None, "the drift check"
    assert last_applied([roles]) == {}, "the diagrams"
    assert layout.last_applied_variables(roles) is None, "the layout: a destroyed workspace was not last brought to its inputs"
    assert layout.granted_service_secrets() == {}, "the destroyed workload roles grant no secret"
    assert Run.objects.last_applied_values("workspace_id") == [], "the runs' own one-pass read"
    assert module_report() == [], "the module versions: a destroyed workspace runs no version"


def test_a_destroyed_service_runs_nothing_for_capacity(db):
    service = Workspace.objects.create(path="ecs/services/art-service-billing", module="ecs-service")
    variables = {"cpu": 256, "memory": 512, "desired_count": 1}
    settled(service, (Run.Kind.APPLY, RunStatus.APPLIED, variables), (Run.Kind.DESTROY, RunStatus.APPLIED, variables))

    assert last_applied_service(service) is None


def test_an_apply_after_a_destroy_is_applied_again(db):
    roles = Workspace.objects.create(path=layout.workload_roles_path(), module="workload-roles", apply_order=2)
    variables = {"name_prefix": "art-service", "service_secrets": SECRETS}
    settled(
        roles,
        (Run.Kind.APPLY, RunStatus.APPLIED, {"name_prefix": "art-service"}),
        (Run.Kind.DESTROY, RunStatus.APPLIED, {"name_prefix": "art-service"}),
        (Run.Kind.APPLY, RunStatus.NO_CHANGES, variables),
        (Run.Kind.APPLY, RunStatus.FAILED, {"name_prefix": "failed"}),
    )

    assert layout.last_applied_variables(roles) == variables == applied_variables(roles)
    assert layout.granted_service_secrets() == SECRETS
    assert Run.objects.last_applied_values("workspace_id", "variables") == [(roles.pk, variables)]
    (report,) = module_report()
    assert (report.current, report.behind_count, [item.workspace for item in report.behind]) == (0, 1, [roles])


def test_the_load_balancer_of_a_cluster_applied_unhealthy_is_named_as_any_applied_one(db):
    """An apply whose deploy did not report healthy reached AWS: its outputs are the applied ones, as
    the service page's URL (Service.objects.with_runs) already reads them."""
    cluster = Workspace.objects.create(path=layout.cluster_path(), module="ecs-cluster", apply_order=4)
    settled(cluster, (Run.Kind.APPLY, RunStatus.APPLIED_UNHEALTHY, {"name": "art-service"}))
    Run.objects.filter(workspace=cluster).update(outputs={"alb_dns_name": "art-service-alb-1.eu-west-1.elb.amazonaws.com"})

    assert load_balancer_dns_name() == "art-service-alb-1.eu-west-1.elb.amazonaws.com"
