"""Environments that end: a service registered with an end is announced to its team's webhooks a while
before, and at its end the portal proposes its decommission under its own name, which the approval
policy lets through without an approval when it says so (`ended_environments: 0`)."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from portal.approvals.models import ApprovalRule
from portal.approvals.rules import Policy
from portal.audit.models import AuditEvent
from portal.catalog.models import Lifecycle, Service
from portal.catalog.onboarding import register_service
from portal.environments.ending import sweep
from portal.notifications.models import Delivery, Webhook
from portal.runs.models import RunStatus
from tests.conftest import api_for, plan_approve_apply, record_plan

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("parked_queue")]


@pytest.fixture
def ending_service(people, service_form_data):
    service, change = register_service(people["author"], ends_at=timezone.now() + timedelta(days=2), **service_form_data)
    plan_approve_apply(change, people["approver"])
    service.refresh_from_db()
    return service


def test_an_end_is_taken_at_registration_within_an_hour_and_a_year(people, service_form_data):
    api = api_for(people["author"])
    for ends_at, said in [
        (timezone.now() + timedelta(minutes=30), "at least an hour from now"),
        (timezone.now() - timedelta(days=1), "at least an hour from now"),
        (timezone.now() + timedelta(days=400), "within a year"),
    ]:
        answer = api.post("/api/v1/services/", {**service_form_data, "ends_at": ends_at.isoformat()}, format="json")
        assert answer.status_code == 400 and said in answer.json()["fields"]["ends_at"][0], answer.json()
    for shape in [[None, None], ["2026-12-24", "18:00"], 1767000000, {"at": "2026-12-24"}]:
        answer = api.post("/api/v1/services/", {**service_form_data, "ends_at": shape}, format="json")
        assert answer.status_code == 400 and "as one text" in answer.json()["fields"]["ends_at"][0], (shape, answer.json())
    assert not Service.objects.exists()
    end = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    answer = api.post("/api/v1/services/", {**service_form_data, "ends_at": end.isoformat()}, format="json")
    assert answer.status_code == 201, answer.json()
    assert Service.objects.get().ends_at == end and answer.json()["service"]["ends_at"] == end.isoformat().replace("+00:00", "Z")
    registered = AuditEvent.objects.get(action="service.register")
    assert registered.details["ends_at"] == end.isoformat()


def test_the_team_is_warned_once_before_the_end(ending_service, people, settings, client):
    hook = Webhook.objects.create(service=ending_service, url="https://hooks.example.com/x", events=["service_ending"], created_by=people["author"])
    far = sweep(now=ending_service.ends_at - settings.ENVIRONMENT_WARN_BEFORE - timedelta(minutes=1))
    assert far.warned == [] and not Delivery.objects.exists()
    near = ending_service.ends_at - timedelta(hours=1)
    assert sweep(now=near).warned == [ending_service.name]
    assert sweep(now=near).warned == [], "told once"
    (delivery,) = Delivery.objects.filter(webhook=hook)
    assert delivery.event == "service_ending" and delivery.payload["ends_at"] == ending_service.ends_at.isoformat()
    client.force_login(people["author"])
    page = client.get(reverse("catalog:service-detail", args=[ending_service.name])).content.decode()
    assert 'id="service-ends"' in page and "webhooks were told" in page


@pytest.mark.parametrize("ended_environments", [0, 1])
def test_at_its_end_the_portal_proposes_the_decommission_and_the_policy_says_who_approves(ending_service, settings, ended_environments):
    settings.APPROVAL_POLICY = Policy(image_deploys=1, two_approvals_for=frozenset({"aws_ecr_repository"}), ended_environments=ended_environments)
    before = ending_service.ends_at - timedelta(minutes=1)
    assert sweep(now=before).ended == []
    Service.objects.filter(pk=ending_service.pk).update(ends_at=timezone.now() - timedelta(minutes=1))
    swept = sweep()
    assert len(swept.ended) == 1 and swept.ended[0].startswith(ending_service.name)
    again = sweep()
    assert again.ended == [] and again.refused == [], "being decommissioned: not proposed twice"

    change = ending_service.changes.get(destroys=True)
    assert change.requested_by is None
    event = AuditEvent.objects.get(action="service.decommission")
    assert event.actor is None and "has come" in event.details["why"]
    for run in change.runs_in_order():
        record_plan(run)
    rule = ApprovalRule.objects.get(change=change)
    statuses = {run.status for run in change.runs_in_order()}
    if ended_environments == 0:
        assert rule.rule == "environment_ended" and rule.approvals == 0
        assert RunStatus.AWAITING_APPROVAL not in statuses
    else:
        assert rule.approvals == 1 and statuses == {RunStatus.AWAITING_APPROVAL}


def test_the_command_sweeps_and_says_what_it_did(ending_service, capsys):
    Service.objects.filter(pk=ending_service.pk).update(ends_at=timezone.now() - timedelta(minutes=1))
    call_command("end_environments")
    assert f"decommission proposed: {ending_service.name}" in capsys.readouterr().out
    assert Service.objects.get(pk=ending_service.pk).status == Lifecycle.DECOMMISSIONING


def test_the_workers_sweep_between_jobs_at_most_once_an_interval(ending_service, settings, monkeypatch):
    from portal.environments import ending

    settings.ENVIRONMENT_SWEEP_INTERVAL = 3600
    monkeypatch.setitem(ending.LAST_SWEPT, "at", None)  # this process has not swept yet
    Service.objects.filter(pk=ending_service.pk).update(ends_at=timezone.now() - timedelta(minutes=1))
    ending.on_maintenance(sender=None, worker=None)  # what the worker's maintenance pass sends
    assert ending_service.changes.filter(destroys=True, requested_by=None).count() == 1
    calls = []
    monkeypatch.setattr(ending, "sweep", lambda: calls.append(1))
    ending.on_maintenance(sender=None, worker=None)
    assert calls == [], "within the interval: not swept again"
