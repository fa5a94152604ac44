"""`bin/portal` from a fresh clone, N times in a row: how many came up, and how long each took.

Each trial clones this repository (HEAD, or REF) into a new directory, gives it a database of its
own on the local PostgreSQL (created here, dropped afterwards unless --keep), empties one Redis
database, and starts `bin/portal` in a process group of its own with an emulator and a web address
of its own (so every trial gets a fresh emulator). It then watches two things:

- the web serving: GET /healthz answers (200 or 503: gunicorn is up and Django answers);
- the platform applied: every platform workspace's latest run is applied or found no changes.

A trial ends when both hold (it came up), when bin/portal exits, or after --timeout seconds. Then
bin/portal gets SIGINT (Ctrl-C) as a terminal would send it, and whatever is left of its group,
SIGKILL. The times are from the start of bin/portal, and from the end of bin/setup-venv (the
stack's own start-up, without creating .venv in the new clone).

    .venv/bin/python benchmarks/fresh_clone.py [--trials 5] [--ref HEAD] [--workdir /tmp/fresh-clones]
        [--database-url postgresql://portal@127.0.0.1:55432/] [--redis-url redis://127.0.0.1:56379/13]
        [--emulator-port 55130] [--web-port 8130] [--venv-from PATH]

--venv-from copies an existing .venv into each clone first (bin/setup-venv then finds it up to
date); without it each clone installs its own, as a new machine does.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
DONE = {"applied", "no_changes"}


def platform_state(database_url: str) -> dict[str, str] | None:
    """{workspace path: latest run's status} of the platform workspaces, None before migrate."""
    try:
        with psycopg.connect(database_url, connect_timeout=3) as conn:
            rows = conn.execute(
                """
                SELECT w.path, (SELECT r.status FROM runs_run r WHERE r.workspace_id = w.id
                                ORDER BY r.created_at DESC, r.id DESC LIMIT 1)
                FROM workspaces_workspace w WHERE w.service_id IS NULL ORDER BY w.apply_order, w.path
                """
            ).fetchall()
    except psycopg.Error:
        return None
    return {path: status or "none" for path, status in rows}


def web_answers(address: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}/healthz", timeout=3):
            return True
    except urllib.error.HTTPError:
        return True  # 503 names a part that does not answer; the web server does
    except OSError:
        return False


def trial(number: int, args) -> dict:
    clone = Path(args.workdir) / f"trial-{number}"
    shutil.rmtree(clone, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", args.ref], check=True)
    if args.venv_from:
        shutil.copytree(args.venv_from, clone / ".venv", symlinks=True)
    database = f"{args.database_prefix}_{number}"
    admin_url = args.database_url.rstrip("/") + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    database_url = args.database_url.rstrip("/") + "/" + database
    redis.Redis.from_url(args.redis_url).flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": args.redis_url,
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{args.emulator_port}",
        "PORTAL_WEB_ADDRESS": f"127.0.0.1:{args.web_port}",
    }
    for name in ("VIRTUAL_ENV", "PORTAL_STATE_DIR", "PORTAL_WORKSPACES_DIR", "RQ_QUEUE"):
        env.pop(name, None)
    env.update({name: value.replace("{trial}", str(number)) for name, value in args.env.items()})
    output = open(clone / "bin-portal.out", "wb")
    started = time.monotonic()
    process = subprocess.Popen(
        ["bin/portal"],
        cwd=clone,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        # Started from a background job, SIGINT would be ignored all the way down; Ctrl-C is what is tested.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    result = {"trial": number, "clone": str(clone), "database": database}
    venv_done = serving = applied = None
    states = None
    while time.monotonic() - started < args.timeout:
        now = time.monotonic() - started
        text = (clone / "bin-portal.out").read_text(errors="replace")
        if venv_done is None and "Starting local services" in text:
            venv_done = now
        if serving is None and web_answers(env["PORTAL_WEB_ADDRESS"]):
            serving = now
        states = platform_state(database_url) or states
        if applied is None and states and len(states) >= 5 and set(states.values()) <= DONE:
            applied = now
        if serving is not None and applied is not None:
            break
        if process.poll() is not None:
            break
        time.sleep(1)
    exited = process.poll()
    if exited is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # anything of the group that did not stop
    except ProcessLookupError:
        pass
    process.wait()
    output.close()
    result.update(
        came_up=serving is not None and applied is not None,
        exited_by_itself=exited,
        venv_s=venv_done,
        serving_s=serving,
        applied_s=applied,
        up_s=max(serving, applied) if serving is not None and applied is not None else None,
        up_after_venv_s=(max(serving, applied) - venv_done) if serving and applied and venv_done else None,
        platform=states,
    )
    if not args.keep:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    if args.remove_clones:  # a clone's .venv and checkov venv take about 1 GB
        shutil.rmtree(clone / ".venv", ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--ref", default="HEAD")
    parser.add_argument("--workdir", default="/tmp/fresh-clones")
    parser.add_argument("--database-url", default="postgresql://portal@127.0.0.1:55432/")
    parser.add_argument("--database-prefix", default="portal_fresh_clone")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:56379/13")
    parser.add_argument("--emulator-port", type=int, default=55130)
    parser.add_argument("--web-port", type=int, default=8130)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--venv-from", default="")
    parser.add_argument("--keep", action="store_true", help="keep each trial's database")
    parser.add_argument("--remove-clones", action="store_true", help="remove each clone's .venv after its trial")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for bin/portal ({trial} is the trial's number)")
    args = parser.parse_args()
    args.env = dict(item.split("=", 1) for item in args.env)
    args.ref = subprocess.run(["git", "-C", str(ROOT), "rev-parse", args.ref], check=True, capture_output=True, text=True).stdout.strip()
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    results = []
    for number in range(1, args.trials + 1):
        result = trial(number, args)
        results.append(result)
        print(json.dumps(result), flush=True)
    up = [r for r in results if r["came_up"]]
    print(f"\n{len(up)} of {len(results)} came up (web serving, platform applied) at {args.ref[:10]}")
    for r in results:
        took = f"{r['up_s']:.0f} s ({r['up_after_venv_s']:.0f} s after setup-venv)" if r["came_up"] else "did not come up"
        print(f"  trial {r['trial']}: {took}; platform {r['platform']}")


if __name__ == "__main__":
    main()
