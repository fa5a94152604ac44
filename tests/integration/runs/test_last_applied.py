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


def test_each_workspaces_last_settled_run_is_the_one_a_walk_through_its_history_finds(db, django_assert_num_queries):
    """RunQuerySet.last_settled_per_workspace walks the workspaces, one step down the settled runs'
    index each; held here to the plain answer (each history read in Python) on histories that mix
    what settles (applied, applied unhealthy, no changes, a destroy) with what does not (failed,
    discarded, a bootstrap's runs without inputs), a workspace never settled, and an out-of-order
    finish (created first, finished last)."""
    statuses = [RunStatus.APPLIED, RunStatus.FAILED, RunStatus.NO_CHANGES, RunStatus.DISCARDED, RunStatus.APPLIED_UNHEALTHY]
    start = timezone.now() - timedelta(days=1)
    histories = {}
    for number in range(6):
        workspace = Workspace.objects.create(path=f"ecs/services/art-service-history-{number}", module="ecs-service")
        runs = []
        for step in range(number * 3):
            status = statuses[(number + step) % len(statuses)]
            kind = Run.Kind.DESTROY if step == 4 else Run.Kind.APPLY
            variables = {} if step == 1 else {"cpu": 256, "memory": 512, "desired_count": step}
            finished = start + timedelta(minutes=step if step != 2 else 500)  # the third finished last
            runs.append(
                Run.objects.create(
                    workspace=workspace, kind=kind, status=status, variables=variables, created_at=start + timedelta(minutes=step), finished_at=finished
                )
            )
        histories[workspace.pk] = runs

    settles = {RunStatus.APPLIED, RunStatus.APPLIED_UNHEALTHY, RunStatus.NO_CHANGES}
    expected = set()
    for runs in histories.values():
        settled_runs = [run for run in runs if run.status in settles and run.variables]
        if settled_runs:
            expected.add(max(settled_runs, key=lambda run: run.finished_at).pk)
    assert len(expected) == 4, "two never settled: one has no runs, one a failure, a run without inputs and a discard"

    with django_assert_num_queries(1):
        found = set(Run.objects.last_settled_per_workspace().values_list("pk", flat=True))
    assert found == expected
    narrowed = Workspace.objects.filter(pk__in=list(histories)[3:])
    assert set(Run.objects.last_settled_per_workspace(narrowed).values_list("pk", flat=True)) == {
        pk for pk in expected if Run.objects.get(pk=pk).workspace_id in {w.pk for w in narrowed}
    }


def test_the_walk_is_answered_by_the_settled_runs_index(db):
    """run_settled_idx answers the walk only while its condition is the walk's own (settled()):
    PostgreSQL uses a partial index only for a query whose WHERE matches its predicate
    (https://www.postgresql.org/docs/current/indexes-partial.html). Were the two to drift apart,
    every view would again read every settled run, and nothing else would say so."""
    from django.db import connection

    settled(Workspace.objects.create(path="ecs/services/art-service-indexed", module="ecs-service"), (Run.Kind.APPLY, RunStatus.APPLIED, {"cpu": 256}))
    sql, params = Run.objects.last_settled_per_workspace().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a table this small would be read whole anyway
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "run_settled_idx" in plan, plan
