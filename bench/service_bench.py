"""Benchmark the sync service under its production server (Granian), on loopback only.

1. Status polling: `GET /admin/render-jobs/<id>` from concurrent keep-alive clients (a minimal
   raw-socket HTTP/1.1 client, see `_KeepAliveClient`), spread over a few client processes so
   the clients' own Python does not serialise on one GIL. Reports requests/s and p50/p99 latency.
2. Listing with 100k jobs in the database (bulk insert): p50/p99 of
   `GET /admin/render-jobs?limit=20` with assorted filters.

Targets on 2 cores: >= 2,000 polls/s at p99 <= 20 ms; list p99 <= 50 ms.

    .venv/bin/python bench/service_bench.py [--jobs 100000] [--seconds 10] [--clients 16]
                                            [--server-workers 2] [--threads 2] [--json OUT]

For a measurement on exactly two cores (server and clients together), prefix `taskset -c 0,1`.

Everything runs in a temporary data directory that is deleted afterwards; the request count and
the run time are both bounded.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TOKEN = "bench-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
MAX_REQUESTS_PER_CLIENT = 200_000


def _percentile(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def prepare_database(data_dir: Path, jobs: int) -> list[str]:
    """Migrate, seed the templates and bulk-insert `jobs` render jobs; return some job ids."""
    from sqlalchemy import insert

    from shared.jobs import JobSource, JobStatus
    from shared.presets import PRESET_IDS
    from sync_service.config import sqlite_url
    from sync_service.db import Database
    from sync_service.ids import JOB_PREFIX, new_ulid
    from sync_service.migrate import upgrade_and_seed
    from sync_service.models import RenderJob, RenderJobPrint

    url = os.environ.get("DATABASE_URL") or sqlite_url(data_dir)
    database = Database(url, pool_size=1)
    upgrade_and_seed(database)
    rng = random.Random(42)
    statuses = [s.value for s in JobStatus]
    weights = [5, 2, 3, 70, 12, 8]
    sources = [s.value for s in JobSource]
    start = datetime.now(UTC) - timedelta(days=90)
    step_ms = 90 * 24 * 3600 * 1000 // max(jobs, 1)
    ids: list[str] = []
    rows: list[dict[str, Any]] = []
    prints: list[dict[str, Any]] = []  # one a job, as every job made before several prints
    started = time.perf_counter()
    with database.engine.begin() as connection:
        for index in range(jobs):
            created = start + timedelta(milliseconds=index * step_ms)
            job_id = JOB_PREFIX + new_ulid(int(created.timestamp() * 1000))
            status = rng.choices(statuses, weights)[0]
            rows.append(dict(
                id=job_id, product_id=f"prod_{rng.randrange(1000):04d}",
                preset=rng.choice(PRESET_IDS), color="#1f2a44", template_id="classic-tee",
                quality="standard", animation=True, background="transparent",
                source=rng.choices(sources, [80, 15, 5])[0], status=status,
                progress=100 if status == "completed" else 0, stage="",
                images_done=6 if status == "completed" else 0, images_total=6,
                frames_done=0, frames_total=48,
                design_path=f"jobs/{job_id}/design.png", design_name="design.png",
                design_type="image/png", design_size=1234, design_sha256="0" * 64,
                design_width=1000, design_height=1000, attempts=1,
                media_sync_status="not_configured", created_at=created, updated_at=created,
                meta={},
            ))
            prints.append(dict(
                job_id=job_id, position=0, preset=rows[-1]["preset"], offset_x_cm=0.0,
                offset_y_cm=0.0, scale=1.0, rotation_deg=0.0,
                **{key: value for key, value in rows[-1].items() if key.startswith("design_")}))
            if index % 997 == 0:
                ids.append(job_id)
            if len(rows) == 5000:
                connection.execute(insert(RenderJob), rows)
                connection.execute(insert(RenderJobPrint), prints)
                rows.clear()
                prints.clear()
        if rows:
            connection.execute(insert(RenderJob), rows)
            connection.execute(insert(RenderJobPrint), prints)
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("ANALYZE")
        else:
            connection.exec_driver_sql("ANALYZE render_jobs")
            connection.exec_driver_sql("ANALYZE render_job_prints")
    print(f"inserted {jobs} jobs in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    database.dispose()
    return ids


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(data_dir: Path, port: int, threads: int, workers: int) -> subprocess.Popen:
    python_path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "TSHIRT_DATA_DIR": str(data_dir), "TSHIRT_API_TOKENS": TOKEN,
           "PYTHONPATH": python_path}
    command = [sys.executable, "-m", "sync_service.cli", "serve", "--host", "127.0.0.1",
               "--port", str(port), "--threads", str(threads), "--no-migrate"]
    if workers > 1:
        command += ["--workers", str(workers)]
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(command, env=env, cwd=data_dir, stdout=log,
                               stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            connection.getresponse().read()
            connection.close()
            return process
        except OSError:
            if process.poll() is not None:
                tail = (data_dir / "server.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the server exited during start-up:\n{tail}") from None
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not start")


def _request_bytes(port: int, path: str) -> bytes:
    """The request `http.client` would send, headers included."""
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept-Encoding: identity\r\n"
            f"Authorization: Bearer {TOKEN}\r\n\r\n").encode("ascii")


class _KeepAliveClient:
    """A minimal HTTP/1.1 keep-alive client: the request bytes are built once per path and the
    response is read by its Content-Length. `http.client` parses every response's headers
    with the `email` package, which cost about as much CPU as the server's own handling of a
    poll; on a 2-core machine shared by the clients and the server that overhead came out of
    the server's share and understated its throughput. Same requests on the wire, real token,
    full round trip timed."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def fetch(self, request: bytes) -> int:
        """Send one request and read its whole response; return the status code."""
        self.sock.sendall(request)
        buffer = self.buffer
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            buffer += self._recv()
        head = buffer[:end].decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        length = None
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length is None:
            raise ValueError("response without Content-Length")
        buffer = buffer[end + 4:]
        while len(buffer) < length:
            buffer += self._recv()
        self.buffer = buffer[length:]
        return status

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        return data

    def close(self) -> None:
        self.sock.close()


def _client_process(port: int, paths: list[str], threads: int, seconds: float,
                    queue: Any) -> None:
    """Keep-alive clients in threads; each sends requests back to back until time is up."""
    deadline = time.perf_counter() + seconds
    results: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads

    def run(slot: int) -> None:
        rng = random.Random(slot)
        connection = _KeepAliveClient(port)
        latencies = results[slot]
        requests = {path: _request_bytes(port, path) for path in paths}
        for _ in range(MAX_REQUESTS_PER_CLIENT):
            if time.perf_counter() >= deadline:
                break
            request = requests[rng.choice(paths)]
            began = time.perf_counter()
            try:
                status = connection.fetch(request)
                if status != 200:
                    errors[slot] += 1
            except (OSError, ValueError):
                errors[slot] += 1
                connection.close()
                connection = _KeepAliveClient(port)
                continue
            latencies.append(time.perf_counter() - began)
        connection.close()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put(([x for r in results for x in r], sum(errors)))


def load(port: int, paths: list[str], clients: int, seconds: float,
         processes: int) -> dict[str, float]:
    """`clients` concurrent keep-alive connections over `processes` client processes."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    per_process = [clients // processes + (1 if i < clients % processes else 0)
                   for i in range(processes)]
    procs = [context.Process(target=_client_process, args=(port, paths, n, seconds, queue))
             for n in per_process if n]
    began = time.perf_counter()
    for proc in procs:
        proc.start()
    latencies: list[float] = []
    errors = 0
    for _ in procs:
        got, failed = queue.get(timeout=seconds + 60)
        latencies += got
        errors += failed
    elapsed = time.perf_counter() - began
    for proc in procs:
        proc.join(10)
    # Throughput over the measured window (client start-up excluded).
    return {
        "requests": len(latencies), "errors": errors, "seconds": round(seconds, 2),
        "requests_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(_percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 99) * 1000, 2),
        "max_ms": round(max(latencies, default=float("nan")) * 1000, 2),
        "wall_s": round(elapsed, 2),
    }


def list_paths() -> list[str]:
    recent = (datetime.now(UTC) - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        "/admin/render-jobs?limit=20",
        "/admin/render-jobs?limit=20&status=completed",
        "/admin/render-jobs?limit=20&status=failed,cancelled",
        "/admin/render-jobs?limit=20&status=pending,compositing,rendering&order=asc",
        "/admin/render-jobs?limit=20&preset=chest-medium",
        "/admin/render-jobs?limit=20&preset=back-large&status=completed",
        "/admin/render-jobs?limit=20&source=blender",
        "/admin/render-jobs?limit=20&product_id=prod_0042",
        "/admin/products/prod_0777/render-jobs?limit=20&status=completed",
        f"/admin/render-jobs?limit=20&created_after={recent}",
        f"/admin/render-jobs?limit=20&created_after={recent}&status=completed",
        "/admin/render-jobs?limit=20&offset=200",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--list-clients", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2, help="app threads per serving process")
    parser.add_argument("--server-workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    results: dict[str, Any] = {"cpus": len(os.sched_getaffinity(0)), "jobs": args.jobs,
                               "server_workers": args.server_workers,
                               "threads": args.threads, "clients": args.clients}
    with tempfile.TemporaryDirectory(prefix="tshirt-bench-") as tmp:
        data_dir = Path(tmp)
        ids = prepare_database(data_dir, args.jobs)
        port = _free_port()
        server = start_server(data_dir, port, args.threads, args.server_workers)
        try:
            poll_paths = [f"/admin/render-jobs/{job_id}" for job_id in ids]
            load(port, poll_paths, 2, 1.0, 1)  # warm-up
            results["poll"] = load(port, poll_paths, args.clients, args.seconds,
                                   args.client_processes)
            print("poll", results["poll"], file=sys.stderr)
            results["list"] = load(port, list_paths(), args.list_clients, args.seconds,
                                   min(args.client_processes, args.list_clients))
            print("list", results["list"], file=sys.stderr)
        finally:
            server.terminate()
            server.wait(10)
    poll, listing = results["poll"], results["list"]
    results["targets_met"] = {
        "poll_rps>=2000": poll["requests_per_s"] >= 2000,
        "poll_p99<=20ms": poll["p99_ms"] <= 20,
        "list_p99<=50ms": listing["p99_ms"] <= 50,
    }
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
