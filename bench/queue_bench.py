"""Render queue benchmark: queue overhead per job and throughput with 1 and 2 workers.

    .venv/bin/python bench/queue_bench.py [--jobs 8] [--redis redis://127.0.0.1:56379/0]

Runs the real service code in-process (app, Huey queue on SQLite or Redis, worker threads,
real Blender through the `bpy` wheel) at tiny render settings, so what is measured is the
queue and the worker, not Cycles:

- overhead: from the API call that enqueues a job to the moment Blender's process is started,
  for jobs submitted one at a time to an idle worker (the worst case for a polling consumer);
- throughput: N jobs submitted at once, wall time until all are completed, with 1 and 2
  render workers (the machine's cores are shared by the renders).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sync_service.app import create_app  # noqa: E402
from sync_service.config import sqlite_url  # noqa: E402
from sync_service.db import Database  # noqa: E402
from sync_service.migrate import upgrade_and_seed  # noqa: E402
from sync_service.models import RenderJob  # noqa: E402
from sync_service.queue.runtime import get_queue  # noqa: E402

TOKEN = "bench-token"
TINY = {"resolution": 64, "samples": 1, "frames": 4, "turntable_method": "path"}
DESIGN = (REPO / "render_assets" / "designs" / "sample.png").read_bytes()


def make_app(data: Path, redis: str | None, name: str):
    data.mkdir(parents=True)
    database = Database(sqlite_url(data), pool_size=1)
    upgrade_and_seed(database)
    database.dispose()
    return create_app({"TSHIRT_DATA_DIR": str(data), "TSHIRT_API_TOKENS": TOKEN,
                       "REDIS_URL": redis, "TSHIRT_QUEUE_NAME": name,
                       "TSHIRT_RENDER_OVERRIDES": json.dumps(TINY)})


def submit(client) -> str:
    fields = {"product_id": "bench", "preset": "chest-medium", "color": "navy",
              "design": FileStorage(io.BytesIO(DESIGN), filename="sample.png")}
    stream, _length, boundary = stream_encode_multipart(fields, use_tempfile=False)
    response = client.post("/admin/render-jobs", data=stream.getvalue(),
                           content_type=f"multipart/form-data; boundary={boundary}",
                           headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 202, response.json
    return response.json["id"]


def wait_done(app, job_ids: list[str], timeout: float = 600) -> None:
    """Wait cheaply (one query every 0.2 s) so the benchmark does not steal the renders' CPU."""
    database = app.extensions["tshirt"].db
    deadline = time.monotonic() + timeout
    while True:
        with database.session() as session:
            rows = session.execute(select(RenderJob.id, RenderJob.status, RenderJob.error_code)
                                   .where(RenderJob.id.in_(job_ids))).all()
        for row in rows:
            if row.status in ("failed", "cancelled"):
                raise SystemExit(f"job {row.id} ended {row.status}: {row.error_code}")
        if all(row.status == "completed" for row in rows) and len(rows) == len(job_ids):
            return
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.2)


def run(workers: int, jobs: int, sequential: bool, redis: str | None, root: Path) -> dict:
    app = make_app(root / f"data-{workers}-{int(sequential)}", redis,
                   f"bench-{time.monotonic_ns()}")
    queue = get_queue(app)
    started: dict[str, float] = {}
    queue.worker.on_blender_started = lambda job_id: started.__setitem__(job_id,
                                                                         time.perf_counter())
    queue.start(render_workers=workers, maintenance=False)
    client = app.test_client()
    try:
        submitted: dict[str, float] = {}
        t0 = time.perf_counter()
        if sequential:
            for _ in range(jobs):
                time.sleep(random.uniform(0.0, 1.0))  # the consumer idles and backs off
                before = time.perf_counter()
                job_id = submit(client)
                submitted[job_id] = before
                wait_done(app, [job_id])
        else:
            for _ in range(jobs):
                before = time.perf_counter()
                submitted[submit(client)] = before
            wait_done(app, list(submitted))
        wall = time.perf_counter() - t0
    finally:
        queue.stop()
        app.extensions["tshirt"].db.dispose()
    overheads = [started[j] - submitted[j] for j in submitted]
    return {"wall": wall, "overheads": overheads}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8, help="jobs per throughput run")
    parser.add_argument("--overhead-jobs", type=int, default=5)
    parser.add_argument("--redis", help="a Redis URL (default: SQLite queue)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="queue-bench-"))
    backend = "Redis" if args.redis else "SQLite"
    try:
        seq = run(1, args.overhead_jobs, True, args.redis, root)
        ms = sorted(o * 1000 for o in seq["overheads"])
        print(f"queue: {backend}; renders: {TINY}")
        print(f"overhead enqueue -> Blender start (idle worker, {len(ms)} jobs): "
              f"median {statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms")
        for workers in (1, 2):
            result = run(workers, args.jobs, False, args.redis, root)
            print(f"throughput, {args.jobs} jobs, {workers} worker(s): {result['wall']:.1f} s "
                  f"= {args.jobs / result['wall'] * 60:.1f} jobs/min "
                  f"({result['wall'] / args.jobs:.2f} s/job)")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
