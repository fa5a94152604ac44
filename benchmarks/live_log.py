"""How soon a log line reaches the browser, against a running local stack (`bin/portal` in another
terminal: gunicorn, as in production).

A run of a benchmark workspace is put in `planning`, as a worker does, and its page is opened in
headless Chromium. Then N lines are appended to its log at random moments, as a worker's terraform
writes them (Run.append_log, the same UPDATE), and the page records when each one appears. Prints
the median, p95 and worst time from written to visible.

    .venv/bin/python benchmarks/live_log.py [N]
"""

import os
import random
import secrets
import shutil
import statistics
import sys
import time
import uuid

from django.utils import timezone  # noqa: E402
from local_stack import user  # noqa: E402  (sets up the stack's environment and Django)
from playwright.sync_api import sync_playwright  # noqa: E402

from portal.runs.models import Run, RunStatus  # noqa: E402
from portal.workspaces.models import Workspace  # noqa: E402

WATCH = """
() => {
  window.seen = {};
  const log = document.getElementById("run-log");
  new MutationObserver(() => {
    for (const match of log.textContent.matchAll(/BENCH-(\\d+)/g)) {
      if (!(match[1] in window.seen)) window.seen[match[1]] = Date.now();
    }
  }).observe(log, {childList: true, characterData: true, subtree: true});
}
"""


def main(lines: int) -> None:
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # the ORM is used beside Playwright's loop
    address = os.environ.get("PORTAL_WEB_ADDRESS", "127.0.0.1:8000")
    # The benchmark's workspace belongs to no service: it is the platform's, whose runs its admins read.
    watcher = user("bench-log-watcher", "admins")
    password = secrets.token_urlsafe(16)
    watcher.set_password(password)
    watcher.save()
    workspace = Workspace.objects.create(path=f"bench/live-log/{uuid.uuid4().hex[:12]}", module="ecr-repository")
    now = timezone.now()
    run = Run.objects.create(workspace=workspace, status=RunStatus.PLANNING, started_at=now, step_started_at=now, heartbeat_at=now)
    written: dict[str, float] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=os.environ.get("PORTAL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
            )
            page = browser.new_page()
            page.goto(f"http://{address}/login/")
            page.fill("input[name=username]", watcher.username)
            page.fill("input[name=password]", password)
            page.click("button[type=submit], input[type=submit]")
            page.wait_for_url(lambda url: "/login/" not in url)
            response = page.goto(f"http://{address}/runs/{run.pk}/")
            if response is None or response.status != 200:
                raise SystemExit(f"The run's page answered {response and response.status}: {page.inner_text('main')[:300]}")
            page.evaluate(WATCH)
            for number in range(lines):
                time.sleep(random.uniform(0.1, 1.2))
                written[str(number)] = time.time()
                run.append_log(f"module.bench.aws_thing.t{number}: Refreshing state... BENCH-{number}\n")
                Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())
            page.wait_for_function(f"Object.keys(window.seen).length >= {lines}", timeout=30_000)
            seen = page.evaluate("window.seen")
            browser.close()
    finally:
        workspace.delete()
    latencies = sorted((seen[number] / 1000 - at) * 1000 for number, at in written.items())
    p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)]
    print(f"log line written -> visible in the browser, {lines} lines at random moments:")
    print(f"  median {statistics.median(latencies):.0f} ms, p95 {p95:.0f} ms, worst {latencies[-1]:.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
