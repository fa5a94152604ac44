"""Policy checks on every plan: real checkov on a real plan's JSON (planned against the emulator),
findings on the run, blocking ones refuse approval until another approver overrides them with a
reason, and a check that cannot run fails the plan."""

import json
import os
import stat
import time

import pytest
from django.urls import reverse
from python_terraform import IsFlagged

from portal.changes import workflow
from portal.policy import checkov
from portal.policy.checks import check_plan
from portal.policy.models import Finding, Override
from portal.runner.terraform import Terraform
from portal.runs import plans
from portal.runs.models import RunStatus
from tests.conftest import api_for, record_plan

CONFIG = """
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}
provider "aws" {}
module "this" { source = "./module" }
"""
# Mutable tags and no scan on push (CKV_AWS_51, CKV_AWS_163: HIGH in the portal's mapping); the
# log group's findings (KMS, a year's retention) are MEDIUM.
RISKY = """
resource "aws_ecr_repository" "this" {
  name                 = "policy-probe"
  image_tag_mutability = "MUTABLE"
  image_scanning_configuration { scan_on_push = false }
}
"""
MILD = """
resource "aws_cloudwatch_log_group" "this" {
  name              = "/policy/probe"
  retention_in_days = 7
}
"""


def plan_json(tmp_path, module: str) -> dict:
    (tmp_path / "main.tf").write_text(CONFIG)
    (tmp_path / "module").mkdir()
    (tmp_path / "module" / "main.tf").write_text(module)
    terraform = Terraform(tmp_path, lambda text: None)
    terraform.run("init", input=False)
    terraform.run("plan", input=False, out=str(tmp_path / "probe.tfplan"))
    return json.loads(terraform.capture("show", str(tmp_path / "probe.tfplan"), json=IsFlagged))


@pytest.fixture(scope="module")
def risky_plan(tmp_path_factory):
    return plan_json(tmp_path_factory.mktemp("risky"), RISKY + MILD)


@pytest.fixture(scope="module")
def mild_plan(tmp_path_factory):
    return plan_json(tmp_path_factory.mktemp("mild"), MILD)


@pytest.fixture
def change(make_user, service_form_data, parked_queue):
    from portal.catalog.onboarding import register_service

    _, change = register_service(make_user("author", "developers"), **service_form_data)
    return change


def checked(change, plan) -> tuple[list[str], float]:
    """The worker's plan step as far as the policy goes: plan_read's receiver, then the plan offered."""
    lines = []
    for run in change.runs_in_order():
        started = time.monotonic()
        check_plan(sender=None, run=run, plan=plan, log=lines.append)
        print(f"checkov on one plan: {time.monotonic() - started:.2f} s")
        record_plan(run)
    return lines, time.monotonic() - started


def test_findings_are_recorded_with_the_portals_severities_and_summarised_in_the_log(change, risky_plan):
    lines, _ = checked(change, risky_plan)
    run = change.runs_in_order()[0]
    found = {(f.check_id, f.resource_address): (f.severity, f.blocking) for f in Finding.objects.filter(run=run)}
    assert found[("CKV_AWS_51", "module.this.aws_ecr_repository.this")] == ("HIGH", True)
    assert found[("CKV_AWS_163", "module.this.aws_ecr_repository.this")] == ("HIGH", True)
    assert found[("CKV_AWS_338", "module.this.aws_cloudwatch_log_group.this")] == ("MEDIUM", False)
    assert lines[0].startswith(f"[portal] Policy: {len(found)} findings, 2 blocking (CKV_AWS_163, CKV_AWS_51)")
    # Metadata and the address only: nothing of the resource's values.
    assert "policy-probe" not in json.dumps(list(Finding.objects.filter(run=run).values()), default=str)


def test_findings_on_resources_the_plan_leaves_as_they_are_are_not_counted(change, risky_plan):
    # The risky repository planned as a no-op (as in a later change of the workspace that touches
    # only the log group): checkov still scans it; its findings are not this change's.
    plan = json.loads(json.dumps(risky_plan))
    for resource in plan["resource_changes"]:
        if resource["address"] == "module.this.aws_ecr_repository.this":
            resource["change"]["actions"] = ["no-op"]

    lines, _ = checked(change, plan)

    run = change.runs_in_order()[0]
    assert {f.resource_address for f in Finding.objects.filter(run=run)} == {"module.this.aws_cloudwatch_log_group.this"}
    assert not Finding.objects.filter(run=run, blocking=True).exists()
    assert any(line.startswith("[portal] Policy: ") and "leaves as they are, not counted" in line for line in lines)


def test_a_blocking_finding_refuses_approval_until_another_approver_overrides_it(change, risky_plan, make_user, client):
    checked(change, risky_plan)
    run = change.runs_in_order()[0]
    approver, other = make_user("approver", "approvers"), make_user("second", "approvers")

    client.force_login(approver)
    page = client.post(reverse("changes:approve", args=[change.pk]))
    assert page.status_code == 409 and b'data-code="policy_blocked"' in page.content
    assert b"CKV_AWS_51" in page.content and b"policy-override-form" in page.content
    answer = api_for(approver).post(f"/api/v1/runs/{run.pk}/approve/")
    assert answer.status_code == 409 and answer.json()["code"] == "policy_blocked", answer.json()
    assert "CKV_AWS_51" in answer.json()["detail"]
    policy = api_for(other).get(f"/api/v1/runs/{run.pk}/").json()["policy"]
    assert policy["blocking"] == 2 and policy["override"] is None
    assert {"check_id", "check_name", "resource_address", "severity", "blocking", "guideline"} == set(policy["findings"][0])

    too_short = api_for(other).post(f"/api/v1/runs/{run.pk}/policy-override/", {"reason": "fine"}, format="json")
    assert too_short.status_code == 400
    reason = "Tags are pinned by digest in this pipeline; scanning runs in CI before the push."
    overridden = api_for(other).post(f"/api/v1/runs/{run.pk}/policy-override/", {"reason": reason}, format="json")
    assert overridden.status_code == 201, overridden.json()
    assert overridden.json()["policy"]["override"]["by"] == "second"
    assert overridden.json()["policy"]["override"]["check_ids"] == ["CKV_AWS_163", "CKV_AWS_51"]
    again = api_for(approver).post(f"/api/v1/runs/{run.pk}/policy-override/", {"reason": reason}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_overridden"

    shown = client.get(reverse("changes:detail", args=[change.pk]))
    assert b"Overridden by <strong>second</strong>" in shown.content and b"pinned by digest" in shown.content
    assert reason.encode() in client.get(reverse("runs:run-detail", args=[run.pk])).content
    approved = client.post(reverse("changes:approve", args=[change.pk]))
    assert approved.status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.APPROVED and run.approved_by == approver
    assert Override.objects.get(change=change).by == other


def test_the_override_form_on_the_change_page_records_the_reason(change, risky_plan, make_user, client):
    checked(change, risky_plan)
    client.force_login(make_user("approver", "approvers"))
    short = client.post(reverse("policy:override", args=[change.pk]), {"reason": "ok"})
    assert short.status_code == 409 and b'data-code="reason_required"' in short.content
    done = client.post(reverse("policy:override", args=[change.pk]), {"reason": "A probe repository, deleted after the test."})
    assert done.status_code == 302
    assert Override.objects.get(change=change).reason == "A probe repository, deleted after the test."
    assert workflow.approval_refusal(change, make_user("third", "approvers")) is None


def test_the_proposer_cannot_override_their_own_change(change, risky_plan, client):
    checked(change, risky_plan)
    author = change.requested_by
    author.groups.add(*__import__("django.contrib.auth.models", fromlist=["Group"]).Group.objects.filter(name="approvers"))
    run = change.runs_in_order()[0]
    answer = api_for(author).post(f"/api/v1/runs/{run.pk}/policy-override/", {"reason": "x" * 30}, format="json")
    assert answer.status_code == 403 and answer.json()["code"] == "own_change"
    client.force_login(author)
    page = client.post(reverse("policy:override", args=[change.pk]), {"reason": "x" * 30})
    assert page.status_code == 403
    assert b"policy-override-form" not in client.get(reverse("changes:detail", args=[change.pk])).content
    assert not Override.objects.exists()


def test_a_plan_with_only_non_blocking_findings_approves_normally(change, mild_plan, make_user, client):
    lines, _ = checked(change, mild_plan)
    assert lines[0].startswith("[portal] Policy: 2 findings, 0 blocking;")
    assert not Finding.objects.filter(blocking=True).exists() and Finding.objects.exists()
    client.force_login(make_user("approver", "approvers"))
    assert client.post(reverse("changes:approve", args=[change.pk])).status_code == 302
    nothing = api_for(make_user("second", "approvers")).post(
        f"/api/v1/runs/{change.runs_in_order()[0].pk}/policy-override/", {"reason": "x" * 30}, format="json"
    )
    assert nothing.status_code == 409


def test_a_missing_checkov_fails_the_plan_closed(change, risky_plan, settings, tmp_path):
    settings.POLICY_CHECKOV = tmp_path / "no-checkov"
    run = change.runs_in_order()[0]
    lines = []
    with pytest.raises(checkov.PolicyCheckFailed, match="bin/setup-venv"):
        check_plan(sender=None, run=run, plan=risky_plan, log=lines.append)
    assert "could not run" in lines[0] and not Finding.objects.exists()
    assert not list(plans.plan_path(run).parent.glob("*.json"))


def test_a_checkov_that_does_not_answer_in_time_fails_the_plan(change, risky_plan, settings, tmp_path):
    slow = tmp_path / "slow-checkov"
    slow.write_text("#!/bin/sh\nsleep 5\n")
    slow.chmod(0o755)
    settings.POLICY_CHECKOV, settings.POLICY_CHECKOV_TIMEOUT = slow, 1
    with pytest.raises(checkov.PolicyCheckFailed, match="PORTAL_CHECKOV_TIMEOUT"):
        check_plan(sender=None, run=change.runs_in_order()[0], plan=risky_plan, log=lambda text: None)


def test_the_plan_json_is_0600_in_a_0700_folder_while_checkov_reads_it_and_gone_after(change, risky_plan, settings, tmp_path):
    seen = tmp_path / "seen.json"
    spy = tmp_path / "spy-checkov"
    # Reports what it saw of the file (mode, folder mode, a secret in it), then answers as checkov with nothing found.
    spy.write_text(
        f"#!{os.environ.get('PYTHON', '/usr/bin/env python3')}\n"
        "import json, os, stat, sys\n"
        "path = sys.argv[sys.argv.index('-f') + 1]\n"
        f"json.dump({{'mode': stat.S_IMODE(os.stat(path).st_mode), 'folder': stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode), "
        f"'env': sorted(os.environ)}}, open({str(seen)!r}, 'w'))\n"
        "print(json.dumps({'passed': 0, 'failed': 0}))\n"
    )
    spy.chmod(0o755)
    settings.POLICY_CHECKOV = spy
    run = change.runs_in_order()[0]
    check_plan(sender=None, run=run, plan=risky_plan, log=lambda text: None)
    report = json.loads(seen.read_text())
    assert (report["mode"], report["folder"]) == (0o600, 0o700)
    assert not {"AWS_SECRET_ACCESS_KEY", "DJANGO_SECRET_KEY", "DATABASE_URL"} & set(report["env"])
    assert not list(plans.plan_path(run).parent.glob(f"{run.pk}*"))
    assert stat.S_IMODE(plans.plan_path(run).parent.stat().st_mode) == 0o700


def test_the_modules_own_skip_comments_are_honoured_for_their_resource_only(change):
    from portal.policy.skips import reason_skipped

    egress = "module.this.aws_vpc_security_group_egress_rule.tasks_out"
    assert "own code calls its dependencies" in reason_skipped("ecs-service", "CKV_AWS_382", egress)
    assert reason_skipped("ecs-service", "CKV_AWS_382", "module.this.aws_vpc_security_group_ingress_rule.tasks_from_alb") is None
    assert reason_skipped("ecr-repository", "CKV_AWS_382", egress) is None
