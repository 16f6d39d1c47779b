"""Chaos benchmark: N render jobs through the real service while its processes are killed;
prints what was lost, rendered twice or pushed twice (issues 17 and 20).

- `--setup single`: `tshirt-service serve` on the embedded defaults (SQLite queue, one render
  thread) in a temporary data directory; random `kill -9` of serve's queue process and of the
  renderer child.
- `--setup many`: serve with `TSHIRT_RENDER_WORKERS=0` on PostgreSQL (a private schema of
  `TEST_POSTGRES_URL`, else of the server `.ci/postgres` starts) and a Redis of the bench's own
  (append-only file, fsync on every write) on a free loopback port, two `tshirt-service worker`
  processes with data directories of their own; random `kill -9` of a worker (restarted a few
  seconds later, as a service manager would) and of the renderer, serve stopped (SIGTERM) and
  started again after some seconds, Redis stopped and started again.

Jobs are submitted over HTTP one at a time (with an Idempotency-Key, retried while the service
is away), each for a product of its own on the tests' fake Medusa, which this process serves on
loopback and the service pushes to. Every finished render is counted by a wrapper around the
renderer. At the end: jobs submitted, completed, failed, lost (accepted but not finished: must
be 0), renders finished vs jobs (thrown away, jobs rendered twice), attempts spent, store
uploads and duplicate pushes (a job's files uploaded more than once: must be 0), kills of each
kind, wall time. Exit status 1 when a job is lost or a push duplicated.

How to run: from the repository root, `.venv/bin/python bench/chaos_bench.py --setup single`
or `--setup many` (each 4 to 6 minutes on the 2-core box with the default 12 jobs, 30 kills and
the fake renderer at about 1.5 s a render; `many` needs `redis-server` on the PATH and a
PostgreSQL: set `TEST_POSTGRES_URL=$(.ci/postgres)`, or let the bench call `.ci/postgres`).
`--jobs N`, `--kill-every LOW HIGH` (seconds between kills), `--max-kills`, `--seed` (a run is
repeatable up to timing), `--blender` renders for real at tiny size (64 px, 1 sample, 4 frames)
instead of the fake. A serve that gives up (its queue process died 5 times in 60 s) and a
worker that refuses to start (broker or service away) are started again, as a service manager
would, and counted. Everything listens on 127.0.0.1 and lives in a temporary folder that is
removed at the end (`--keep` keeps it, with every process's log); every process the bench
started is ended on exit and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from chaos_procs import (
    REPO,
    CountingMedusa,
    Proc,
    Renderer,
    end_all,
    env_for,
    free_port,
    kill_pid,
    processes_with,
    redis_proc,
    service_command,
)
from fake_medusa import API_KEY

TOKEN = "chaos-bench-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TINY = {"resolution": 64, "samples": 1, "frames": 4, "turntable_method": "path"}
DESIGN = REPO / "render_assets" / "designs" / "sample.png"
FINISHED = ("completed", "failed", "cancelled")
#: How long a drawn kind of kill waits for its target (a render) before another is drawn.
KIND_WAIT_S = 6.0
SETTLED_PUSH = ("pushed", "failed", "no_render", "not_configured")


def http(method: str, url: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("timeout", 10)
    with requests.Session() as session, session.request(method, url, **kwargs) as response:
        _ = response.content
        return response


class Bench:
    """One run: the processes, the chaos and the counts."""

    def __init__(self, args: argparse.Namespace, root: Path) -> None:
        self.args = args
        self.root = root
        self.rng = random.Random(args.seed)
        self.procs: list[Proc] = []
        self.kills: Counter[str] = Counter()
        self.refusals = 0  # worker starts that exited at once (broker or service away)
        self.serve_exits = 0  # serve ended on its own (it gives up when its queue keeps dying)
        self.restarts: list[tuple[float, str, Callable[[], None]]] = []
        self.accepted: list[str] = []
        self.submit_errors: Counter[str] = Counter()
        self.submitted_all = threading.Event()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.renderer = Renderer(root, args.blender, args.render_s)
        self.store = CountingMedusa()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.serve: Proc | None = None
        self.workers: list[Proc] = []
        self.redis: Proc | None = None
        self.schema: str | None = None
        self.pg_admin_url: str | None = None

    # -- processes -----------------------------------------------------------------------

    def spawn(self, name: str, args: list[str], **env: Any) -> Proc:
        proc = Proc(name, args, env_for({"PYTHONPATH": str(REPO), **env}), self.root)
        self.procs.append(proc)
        return proc

    def common_env(self) -> dict[str, Any]:
        return {"TSHIRT_QUEUE_NAME": f"chaos{uuid.uuid4().hex[:8]}",
                "TSHIRT_RENDER_OVERRIDES": json.dumps(TINY), "TSHIRT_RETRY_DELAY_S": "1",
                "TSHIRT_MAX_ATTEMPTS": str(self.args.max_attempts), **self.renderer.env()}

    def start_serve(self, **env: Any) -> None:
        self.serve = self.spawn("serve", service_command(
            "serve", "--port", str(self.port), "--workers", "1"),
            TSHIRT_API_TOKENS=TOKEN, MEDUSA_URL=self.store.url, MEDUSA_API_KEY=API_KEY,
            TSHIRT_PUSH_RETRY_DELAY_S="1", TSHIRT_PUSH_MAX_DELAY_S="5", **env)
        self.wait_healthy()

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if http("GET", f"{self.base}/health", timeout=5).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet
                pass
            time.sleep(0.2)
        raise SystemExit("the service did not become healthy:\n" + self.serve.output()[-3000:])

    def setup_single(self) -> None:
        self.env = {**self.common_env(), "TSHIRT_DATA_DIR": str(self.root / "data")}
        self.start_serve(**self.env)
        self.actions = {"consumer": self.kill_consumer, "blender": self.kill_blender}

    def setup_many(self) -> None:
        from sqlalchemy import text

        from sync_service.db import make_engine

        self.pg_admin_url = postgres_url()
        self.schema = f"chaos_{uuid.uuid4().hex[:10]}"
        engine = make_engine(self.pg_admin_url, pool_size=1)
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        engine.dispose()
        sep = "&" if "?" in self.pg_admin_url else "?"
        database = f"{self.pg_admin_url}{sep}options=-csearch_path%3D{self.schema}"
        redis_port = free_port()
        self.redis = redis_proc(self.root, redis_port, env_for({}))
        self.procs.append(self.redis)
        time.sleep(0.5)
        shared = {**self.common_env(), "DATABASE_URL": database,
                  "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"}
        self.start_serve(**shared, TSHIRT_RENDER_WORKERS="0",
                         TSHIRT_DATA_DIR=str(self.root / "service-data"))
        for name in ("box-a", "box-b"):
            self.workers.append(self.spawn(
                name, service_command("worker"), **shared, TSHIRT_SERVICE_URL=self.base,
                TSHIRT_SERVICE_TOKEN=TOKEN, TSHIRT_API_TOKENS="", TSHIRT_WORKER_NAME=name,
                TSHIRT_DATA_DIR=str(self.root / f"{name}-data")))
        self.actions = {"worker": self.kill_worker, "blender": self.kill_blender,
                        "service": self.stop_service, "redis": self.stop_redis}

    # -- chaos ---------------------------------------------------------------------------

    def later(self, what: str, action: Callable[[], None]) -> None:
        low, high = self.args.down_for
        self.restarts.append((time.monotonic() + self.rng.uniform(low, high), what, action))

    def down(self, what: str) -> bool:
        return any(name == what for _, name, _ in self.restarts)

    def kill_consumer(self) -> bool:
        assert self.serve is not None and self.serve.process is not None
        pids = [pid for pid, _ in processes_with(f"--queue-of {self.serve.process.pid}")]
        return bool(pids) and kill_pid(self.rng.choice(pids))

    def kill_blender(self) -> bool:
        pids = self.renderer.pids(self.root)
        return bool(pids) and kill_pid(self.rng.choice(pids))

    def kill_worker(self) -> bool:
        live = [w for w in self.workers if w.alive() and not self.down(w.name)]
        if not live:
            return False
        worker = self.rng.choice(live)
        worker.signal(signal.SIGKILL)
        assert worker.process is not None
        worker.process.wait()
        self.later(worker.name, worker.start)
        return True

    def stop_service(self) -> bool:
        if self.down("service") or self.serve is None:
            return False
        self.serve.stop()
        self.later("service", self.serve.start)
        return True

    def stop_redis(self) -> bool:
        if self.down("redis") or self.redis is None:
            return False
        self.redis.stop()
        self.later("redis", self.redis.start)
        return True

    def tend(self, now: float, *, all_now: bool = False) -> None:
        """Start again what is due (everything with `all_now`), serve when it gave up, and a
        worker that ended on its own (it refused to start while the broker or the service was
        away), as a service manager would."""
        due = [r for r in self.restarts if all_now or r[0] <= now]
        for item in due:
            self.restarts.remove(item)
            item[2]()
        if self.serve is not None and not self.serve.alive() and not self.down("service"):
            # serve gave up (its queue process kept dying): start it again, as systemd would
            self.serve_exits += 1
            self.serve.stop()
            self.serve.start()
        for worker in self.workers:
            if not worker.alive() and not self.down(worker.name):
                self.refusals += 1
                self.later(worker.name, worker.start)

    # -- jobs ------------------------------------------------------------------------------

    def submit_all(self, deadline: float) -> None:
        try:
            for _ in range(self.args.jobs):
                product = self.store.add_product()["id"]
                key = uuid.uuid4().hex
                while time.monotonic() < deadline and not self.submit_one(product, key):
                    time.sleep(0.5)
                time.sleep(self.rng.uniform(0.5, 2.0))
        finally:
            self.submitted_all.set()

    def submit_one(self, product: str, key: str) -> bool:
        data = {"product_id": product, "preset": "chest-medium", "color": "navy"}
        try:
            with DESIGN.open("rb") as handle:
                response = http("POST", f"{self.base}/admin/render-jobs", data=data,
                                headers={**AUTH, "Idempotency-Key": key},
                                files={"design": (DESIGN.name, handle, "image/png")})
        except requests.RequestException as error:
            self.submit_errors[type(error).__name__] += 1
            return False
        if response.status_code != 202:
            self.submit_errors[str(response.status_code)] += 1
            return False
        job_id = response.json()["id"]
        if job_id not in self.accepted:
            self.accepted.append(job_id)
        return True

    def refresh(self) -> None:
        for job_id in list(self.accepted):
            if self.jobs.get(job_id, {}).get("media_sync_status") in SETTLED_PUSH:
                continue
            try:
                response = http("GET", f"{self.base}/admin/render-jobs/{job_id}", headers=AUTH,
                                timeout=5)
            except requests.RequestException:  # the service is away: keep what we knew
                return
            if response.status_code == 200:
                self.jobs[job_id] = response.json()

    def settled(self, *, pushes: bool) -> bool:
        if not self.submitted_all.is_set():
            return False
        jobs = [self.jobs.get(j, {}) for j in self.accepted]
        return all(j.get("status") in FINISHED and (
            not pushes or j.get("media_sync_status") in SETTLED_PUSH) for j in jobs)

    def run(self) -> float:
        started = time.monotonic()
        deadline = started + self.args.timeout
        submitter = threading.Thread(target=self.submit_all, args=(deadline,), daemon=True)
        submitter.start()
        low, high = self.args.kill_every
        next_kill = time.monotonic() + self.rng.uniform(low, high)
        kind: str | None = None
        tried_until = 0.0
        while time.monotonic() < deadline:
            now = time.monotonic()
            self.tend(now)
            self.refresh()
            if self.settled(pushes=False):
                break
            if now >= next_kill and sum(self.kills.values()) < self.args.max_kills:
                # The kind is drawn first and tried for a few seconds (a render may not run
                # right now), so that kinds that are always there do not crowd out the others.
                kind = kind or self.rng.choice(list(self.actions))
                tried_until = tried_until or now + KIND_WAIT_S
                done = self.actions[kind]()
                if done:
                    self.kills[kind] += 1
                if done or now > tried_until:
                    kind, tried_until = None, 0.0
                    next_kill = now + self.rng.uniform(low, high)
            time.sleep(0.5)
        self.tend(time.monotonic(), all_now=True)
        if self.serve is not None:
            self.wait_healthy()
        settle = time.monotonic() + self.args.settle
        while time.monotonic() < min(settle, deadline) and not self.settled(pushes=True):
            self.tend(time.monotonic())
            self.refresh()
            time.sleep(0.5)
        self.refresh()
        return time.monotonic() - started

    # -- report ----------------------------------------------------------------------------

    def report(self, wall: float) -> int:
        jobs = [self.jobs.get(j, {"id": j}) for j in self.accepted]
        status = Counter(j.get("status", "unknown") for j in jobs)
        lost = [j["id"] for j in jobs if j.get("status") not in FINISHED]
        failed = Counter((j.get("error") or {}).get("code") for j in jobs
                         if j.get("status") == "failed")
        try:
            total = http("GET", f"{self.base}/admin/render-jobs", headers=AUTH,
                         params={"limit": 1}).json()["total"]
        except (requests.RequestException, KeyError, ValueError):
            total = "?"
        finished = self.renderer.finished()
        completed = {j["id"] for j in jobs if j.get("status") == "completed"}
        thrown = sum(n - (1 if job in completed else 0) for job, n in finished.items())
        twice = sum(1 for n in finished.values() if n > 1)
        pushes = Counter(j.get("media_sync_status") for j in jobs)
        uploads = self.store.uploads_by_job
        duplicates = sum(n - 1 for n in uploads.values() if n > 1)
        extra_images = self.store.duplicate_images()
        liveness = "defaults (heartbeat 1 s, stall after 15 s, checked every 5 s)"
        print(f"\n== chaos bench: setup {self.args.setup}, renderer "
              f"{'Blender (tiny)' if self.args.blender else f'fake ~{self.args.render_s} s'}, "
              f"seed {self.args.seed}, liveness {liveness}")
        print(f"jobs submitted (202): {len(self.accepted)} of {self.args.jobs}; "
              f"jobs in the service: {total}; submit retries: "
              f"{dict(self.submit_errors) or 'none'}")
        print(f"completed {status['completed']}, failed {status['failed']}"
              f"{' ' + str(dict(failed)) if failed else ''}, cancelled {status['cancelled']}, "
              f"LOST {len(lost)}{' ' + str(lost) if lost else ''}")
        print(f"renders finished: {sum(finished.values())} for "
              f"{len(self.accepted)} jobs; finished renders thrown away {thrown}, "
              f"jobs rendered twice {twice}")
        print(f"attempts spent: {sum(j.get('attempts', 0) for j in jobs)}")
        print(f"store: push states {dict(pushes)} ({self.args.settle:.0f} s allowed after the "
              f"last job ended); uploads {sum(uploads.values())} for "
              f"{len(uploads)} jobs, DUPLICATE PUSHES {duplicates}, duplicate images on "
              f"products {extra_images}")
        print(f"kills: {dict(self.kills) or 'none'}"
              + (f"; worker starts refused (broker or service away): {self.refusals}"
                 if self.workers else ""))
        print(f"serve ended on its own and was started again: {self.serve_exits}")
        tracebacks = {p.name: p.output().count("Traceback") for p in self.procs
                      if p is not self.redis}
        print(f"tracebacks in the logs: {tracebacks}")
        print(f"wall time: {wall:.1f} s")
        return 1 if lost or duplicates else 0

    def close(self) -> None:
        end_all(self.procs, self.root)
        self.store.stop()
        if self.schema and self.pg_admin_url:
            from sqlalchemy import text

            from sync_service.db import make_engine

            engine = make_engine(self.pg_admin_url, pool_size=1)
            with engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            engine.dispose()


def postgres_url() -> str:
    url = os.environ.get("TEST_POSTGRES_URL")
    if url:
        return url
    return subprocess.run([str(REPO / ".ci" / "postgres")], check=True, text=True,
                          stdout=subprocess.PIPE).stdout.strip()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", choices=("single", "many"), required=True)
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--kill-every", type=float, nargs=2, default=(3.0, 8.0),
                        metavar=("LOW", "HIGH"), help="seconds between kills (random)")
    parser.add_argument("--down-for", type=float, nargs=2, default=(3.0, 12.0),
                        metavar=("LOW", "HIGH"),
                        help="seconds a stopped service, Redis or killed worker stays down")
    parser.add_argument("--max-kills", type=int, default=30)
    parser.add_argument("--max-attempts", type=int, default=3, help="TSHIRT_MAX_ATTEMPTS")
    parser.add_argument("--render-s", type=float, default=1.5, help="a fake render's length")
    parser.add_argument("--blender", action="store_true", help="the real renderer, tiny")
    parser.add_argument("--timeout", type=float, default=600, help="the whole run at most")
    parser.add_argument("--settle", type=float, default=90,
                        help="after the last job ends, how long to wait for its push")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the folder and its logs")
    return parser.parse_args()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    args = parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the fake store's request log
    root = Path(tempfile.mkdtemp(prefix="chaos-bench-"))
    # Ctrl-C and SIGTERM alike end in `close`: every process started is stopped.
    # (SIGINT set explicitly: a shell starts a background job with it ignored.)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt)
    bench = Bench(args, root)
    code = 2
    try:
        {"single": bench.setup_single, "many": bench.setup_many}[args.setup]()
        code = bench.report(bench.run())
    except KeyboardInterrupt:
        print("interrupted; stopping every process started", file=sys.stderr)
        code = 130
    finally:
        bench.close()
        if args.keep:
            print(f"logs and data kept in {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
