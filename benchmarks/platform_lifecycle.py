"""Platform timings against a running local stack (`bin/portal` in another terminal, emulator).

Destroys what the stack provisioned, then measures: the platform from nothing; onboarding one service
from form to applied (approval is immediate); a no-op plan of the service workspace; destroying
everything (service and platform; the state bucket is prevent_destroy and stays).

    .venv/bin/python benchmarks/platform_lifecycle.py
"""

import time
import uuid

from local_stack import lift_capacity_check, user  # noqa: E402  (sets up the stack's environment and Django)

from portal.catalog import layout  # noqa: E402
from portal.catalog.onboarding import decommission_service, register_service  # noqa: E402
from portal.changes.workflow import approve, propose  # noqa: E402
from portal.platform.provisioning import destroy_platform, provision_platform, wait_for  # noqa: E402
from portal.runs.models import RunStatus  # noqa: E402


def timed(label, action):
    started = time.monotonic()
    result = action()
    print(f"{label:<45} {time.monotonic() - started:7.1f} s", flush=True)
    return result


def onboard(author, approver):
    service, change = register_service(
        author,
        name=f"bench-{uuid.uuid4().hex[:6]}",
        container_port=8082,
        cpu=256,
        memory=512,
        desired_count=1,
        health_check_path="/health",
        image_tag="1.0.0",
    )
    wait_for(change, {RunStatus.AWAITING_APPROVAL}, 600)
    approve(change, approver)
    wait_for(change, {RunStatus.APPLIED}, 900)
    return service


def no_op_plan(service, author):
    service.refresh_from_db()
    workspace, inputs = layout.plans_for(service, service.applied_revision)[1]
    wait_for(propose("No-op plan", [(workspace, inputs)], author, service=service), {RunStatus.NO_CHANGES}, 600)


def destroy_everything(service, admin, approver, platform_approver):
    change = decommission_service(service, admin)
    wait_for(change, {RunStatus.AWAITING_APPROVAL}, 600)
    approve(change, approver)
    wait_for(change, {RunStatus.APPLIED}, 900)
    destroy_platform(admin, platform_approver)


def main():
    admin, approver, author = user("bench-admin", "admins"), user("bench-approver", "approvers"), user("bench-author", "developers")
    platform_approver = user("bench-platform-approver", "admins")  # a platform change needs another admin
    lift_capacity_check()  # the services of earlier runs would fill the default cluster's room
    print("removing what the stack provisioned first (not measured)...", flush=True)
    destroy_platform(admin, platform_approver)
    timed("platform from nothing (workload roles, network, cluster)", lambda: provision_platform(admin, platform_approver))
    service = timed("onboard one service, form to applied", lambda: onboard(author, approver))
    timed("no-op plan of the service workspace", lambda: no_op_plan(service, author))
    timed("destroy everything", lambda: destroy_everything(service, admin, approver, platform_approver))


if __name__ == "__main__":
    main()
