"""Safe by default: DEBUG off, no start with the built-in secret key, secure cookies and HSTS over
HTTPS, terraform started with an allow-listed environment, tracebacks masked, saved plans private and
gone when their run ends, and the pages asking for the same permissions as the API."""

import os
import stat
import subprocess
import sys

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from portal.api.models import ApiToken
from portal.catalog.onboarding import change_service, register_service
from portal.changes import workflow
from portal.core.masking import MASK
from portal.runner import execution
from portal.runner.terraform import Terraform, terraform_environment
from portal.runs import plans
from portal.runs.models import Run, RunStatus, SavedPlan
from tests.conftest import ROOT, record_applies, record_plan


def django_process(env_changes: dict, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SECRET_KEY", "DJANGO_DEBUG")}
    env.update(env_changes)
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, capture_output=True, text=True)


def test_the_portal_refuses_to_start_with_the_built_in_secret_key():
    refused = django_process({}, "check")
    local_stack = django_process({"DJANGO_DEBUG": "1"}, "check")

    assert refused.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in refused.stderr
    assert local_stack.returncode == 0, local_stack.stderr


def on_aws(**settings) -> dict:
    """The environment of a portal pointed at AWS (no emulator), with a secret key."""
    return {"AWS_ENDPOINT_URL": "", "DJANGO_SECRET_KEY": "x" * 60, **settings}


CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"


def test_on_aws_the_portal_refuses_to_start_without_a_certificate_unless_plain_http_is_chosen():
    refused = django_process(on_aws(), "check")
    with_certificate = django_process(on_aws(PORTAL_LOAD_BALANCER_CERTIFICATE_ARN=CERTIFICATE), "check")
    plain_on_purpose = django_process(on_aws(PORTAL_LOAD_BALANCER_PLAIN_HTTP="true"), "check")
    not_a_certificate = django_process(on_aws(PORTAL_LOAD_BALANCER_CERTIFICATE_ARN="arn:aws:iam::123456789012:server-certificate/x"), "check")

    assert refused.returncode != 0 and "PORTAL_LOAD_BALANCER_CERTIFICATE_ARN is not set" in refused.stderr
    assert "PORTAL_LOAD_BALANCER_PLAIN_HTTP=true" in refused.stderr
    assert with_certificate.returncode == 0, with_certificate.stderr
    assert plain_on_purpose.returncode == 0, plain_on_purpose.stderr
    assert not_a_certificate.returncode != 0 and "must be the ARN of an ACM certificate" in not_a_certificate.stderr


@pytest.mark.parametrize(
    "name, value, says",
    [
        ("PORTAL_NAT_MODE", "none", "PORTAL_NAT_MODE must be single"),
        ("PORTAL_NAT_MODE", "Single", "PORTAL_NAT_MODE must be single"),
        ("PORTAL_LOAD_BALANCER_INGRESS_CIDRS", "10.0.0.0/8,not-a-range", "PORTAL_LOAD_BALANCER_INGRESS_CIDRS must be IPv4 ranges"),
        ("PORTAL_LOAD_BALANCER_INGRESS_CIDRS", ",".join(f"10.{n}.0.0/16" for n in range(31)), "must name 1 to 30 ranges"),
    ],
)
def test_an_aws_setting_that_would_fail_at_aws_stops_the_portal_at_start(name, value, says):
    refused = django_process(on_aws(PORTAL_LOAD_BALANCER_CERTIFICATE_ARN=CERTIFICATE, **{name: value}), "check")

    assert refused.returncode != 0
    assert says in refused.stderr


def test_debug_is_off_unless_asked_for():
    shown = django_process({"DJANGO_SECRET_KEY": "x" * 60}, "shell", "-c", "from django.conf import settings; print(settings.DEBUG)")
    assert shown.stdout.strip().splitlines()[-1] == "False", shown.stderr


def test_served_over_https_the_deployment_checks_pass():
    secret = "a-long-random-secret-key-for-the-deployment-check-" + "k7Qx9" * 6
    checked = django_process(
        {"DJANGO_SECRET_KEY": secret, "PORTAL_HTTPS": "1", "DJANGO_ALLOWED_HOSTS": "portal.example.org"},
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_terraform_gets_no_variable_of_the_portal_itself(monkeypatch, tmp_path, make_user, service_form_data):
    monkeypatch.setenv("DATABASE_URL", "postgresql://portal:db-password-123@db/portal")
    monkeypatch.setenv("DJANGO_SECRET_KEY", "django-secret-456")
    monkeypatch.setenv("SOME_UNRELATED_TOKEN", "token-789")

    env = terraform_environment()

    assert not {"DATABASE_URL", "DJANGO_SECRET_KEY", "SOME_UNRELATED_TOKEN", "REDIS_URL"} & set(env)
    assert {"PATH", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "TF_CLI_CONFIG_FILE"} <= set(env)
    # And terraform runs with only that.
    _, change = register_service(make_user("dev", "developers"), **service_form_data)
    run = change.runs_in_order()[0]
    Terraform(tmp_path, run.append_log).run("version")
    assert "Terraform v" in Run.objects.get(pk=run.pk).log


@pytest.mark.django_db(transaction=True)  # the worker runs outside any transaction
def test_a_traceback_is_masked_before_it_is_stored(monkeypatch, caplog, make_user, service_form_data, parked_queue):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "tr4ceback-secret-value")

    def crash(run):
        raise RuntimeError(f"connection failed with key {os.environ['AWS_SECRET_ACCESS_KEY']}")

    monkeypatch.setattr(execution, "plan", crash)
    _, change = register_service(make_user("dev", "developers"), **service_form_data)
    run = change.runs_in_order()[0]

    with caplog.at_level("ERROR", logger="portal.runner.execution"):
        execution.execute_run(str(run.pk))

    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "RuntimeError" in run.log and "tr4ceback-secret-value" not in run.log + run.error
    assert f"key {MASK}" in run.log
    assert "RuntimeError" in caplog.text and "tr4ceback-secret-value" not in caplog.text


# --- saved plans -----------------------------------------------------------------------------------
def saved_plans(change):
    """Plans as the worker keeps them after `terraform plan -out`: written on disk, stored."""
    for run in change.runs_in_order():
        with plans.on_disk(run) as path:
            path.write_bytes(b"plan with every input in clear")
            plans.store(run, path)
    return change.runs_in_order()


def test_a_plan_on_disk_is_readable_by_the_portal_user_only_and_gone_after_the_command(make_user, service_form_data):
    _, change = register_service(make_user("dev", "developers"), **service_form_data)
    run = change.runs_in_order()[0]

    with plans.on_disk(run) as path:
        path.write_bytes(b"plan with every input in clear")
        plans.store(run, path)
        modes = stat.S_IMODE(path.stat().st_mode), stat.S_IMODE(path.parent.stat().st_mode)

    assert modes == (0o600, 0o700)
    assert not path.exists()
    assert bytes(SavedPlan.objects.get(run=run).content) == b"plan with every input in clear"


def test_a_saved_plan_is_restored_only_byte_for_byte(make_user, service_form_data):
    _, change = register_service(make_user("dev", "developers"), **service_form_data)
    run = saved_plans(change)[0]
    Run.objects.filter(pk=run.pk).update(plan_sha256=SavedPlan.objects.get(run=run).sha256)
    run.refresh_from_db()

    with plans.on_disk(run) as path:
        restored = plans.restore(run, path) and path.read_bytes()
        restored_mode = stat.S_IMODE(path.stat().st_mode)
    SavedPlan.objects.filter(run=run).update(content=b"plan with one input altered")
    with plans.on_disk(run) as path:
        altered = plans.restore(run, path)

    assert restored == b"plan with every input in clear" and restored_mode == 0o600
    assert altered is False


@pytest.mark.parametrize("ending", ["discarded", "superseded", "no_changes", "failed", "cancelled", "applied"])
def test_saved_plans_are_deleted_when_their_run_ends(make_user, service_form_data, ending):
    author, approver = make_user("dev", "developers"), make_user("approver", "approvers")
    service, change = register_service(author, **service_form_data)
    runs = saved_plans(change)
    if ending == "no_changes":
        for run in runs:
            record_plan(run, to_add=0)
    else:
        for run in runs:
            record_plan(run)
    if ending == "discarded":
        workflow.discard(change, author)
    elif ending == "superseded":
        change_service(service, author, cpu=512)
    elif ending in ("failed", "cancelled"):
        workflow.approve(change, approver)
        runs[0].refresh_from_db()
        if ending == "failed":
            runs[0].start_applying()
            runs[0].fail("terraform apply exited with code 1")
            workflow.advance(change)
        else:
            workflow.cancel(runs[0], author)
    elif ending == "applied":
        workflow.approve(change, approver)
        record_applies(change)

    assert not any(Run.objects.get(pk=run.pk).is_active for run in runs)
    assert not SavedPlan.objects.filter(run__in=runs).exists()


# --- the pages ask for the API's permissions -------------------------------------------------------
@pytest.mark.django_db
def test_pages_need_the_same_view_permissions_as_the_api(client, make_user, service_form_data):
    _, change = register_service(make_user("dev", "developers"), **service_form_data)
    run = change.runs_in_order()[0]
    nobody = make_user("nobody")
    _, key = ApiToken.objects.issue(nobody)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    client.force_login(nobody)

    pages = [
        reverse("catalog:service-list"),
        reverse("catalog:service-detail", kwargs={"name": "sourcing-data-service"}),
        reverse("runs:run-detail", kwargs={"run_id": run.pk}),
        reverse("runs:run-log", kwargs={"run_id": run.pk}),
    ]
    endpoints = ["/api/v1/services/", "/api/v1/services/sourcing-data-service/", f"/api/v1/runs/{run.pk}/", f"/api/v1/runs/{run.pk}/log/"]

    assert [client.get(page).status_code for page in pages] == [403] * 4
    assert [api.get(endpoint).status_code for endpoint in endpoints] == [403] * 4
    assert "sourcing-data-service" not in client.get(pages[1]).content.decode()


def test_every_literal_path_under_services_is_a_reserved_name():
    from portal.catalog import urls
    from portal.catalog.rules import RESERVED_NAMES

    literal = {str(p.pattern).split("/")[0] for p in urls.urlpatterns if "<" not in str(p.pattern).split("/")[0]}
    assert literal - {""} <= RESERVED_NAMES


@pytest.mark.django_db
def test_error_pages_say_what_to_do(client, make_user):
    client.force_login(make_user("newcomer"))
    forbidden = client.get(reverse("catalog:service-list"))
    client.force_login(make_user("dev", "developers"))
    missing = client.get(reverse("catalog:service-detail", kwargs={"name": "no-such-service"}))
    malformed = client.get("/services/Not%20A%20Name/")

    assert forbidden.status_code == 403 and "in no group yet" in forbidden.content.decode()
    assert missing.status_code == 404 and "No service is registered as no-such-service." in missing.content.decode()
    assert malformed.status_code == 400 and "That is not a service name" in malformed.content.decode()
