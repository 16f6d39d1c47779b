"""`tshirt-service`: serve the API (with its embedded render queue), run a render worker,
migrate the database, make a token, clean up files.

Every command reads the same environment as the app (every variable is listed in `config`).
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shared.errors import TshirtError

from .auth import new_token
from .config import ConfigError, Settings

if TYPE_CHECKING:
    from flask import Flask

    from .queue.supervisor import Supervisor

_log = logging.getLogger(__name__)

# Two processes saturate the 2-core target machine (the app's Python runs under one GIL each).
DEFAULT_WORKERS = 2
# Threads that run the app in each process. Granian reads requests (bodies too) in Rust and
# hands them over whole, so few are needed: on the 2-core bench (16 clients, 100k jobs) 2
# served 2,935 polls/s at p99 11.8 ms, 4 served 3,192/s at p99 16.3 ms.
DEFAULT_THREADS = 2
WORKER_STOP_TIMEOUT_S = 5


def _prepare_database(settings: Settings) -> None:
    """Migrate to head and add the bundled templates the database lacks."""
    from .db import Database
    from .jobs.storage import Storage
    from .migrate import upgrade_and_seed

    Storage(settings.data_dir).ensure()
    database = Database(settings.database_url, pool_size=1)
    try:
        upgrade_and_seed(database)
    finally:
        database.dispose()


def _check_port_free(host: str, port: int) -> None:
    """Fail with one clear line before anything starts if the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None


#: Set by `serve` for its HTTP processes: the pid they end with.
SERVE_PID_ENV = "TSHIRT_SERVE_PID"


def http_app() -> Flask:
    """The app of one HTTP process of `serve` (Granian's factory), in a process that ends with
    `serve`: one killed with -9 leaves no HTTP process behind, holding its port and taking
    jobs that no queue process renders."""
    from .app import create_app
    from .queue.supervisor import die_with_parent

    die_with_parent(int(os.environ[SERVE_PID_ENV]))
    return create_app()


def _serve_http(args: argparse.Namespace) -> None:
    """Serve the app under Granian (HTTP in Rust, the app in `--workers` processes) until
    SIGINT or SIGTERM. Granian restarts an HTTP process that dies, and exits 1 when one dies
    again within seconds of its restart."""
    import multiprocessing

    from granian import Granian
    from granian.constants import Interfaces

    # Granian starts its HTTP processes with multiprocessing's default, a fork on Linux. A fork
    # copies SQLite's in-process lock bookkeeping of the database file, and this process's
    # supervisor threads write to that file (the queue process's heartbeat row, its exits and
    # requeues): a process forked in one of their transactions could never write ("database is
    # locked" on every write, for its whole life). Spawned processes start clean.
    multiprocessing.set_start_method("spawn", force=True)
    os.environ[SERVE_PID_ENV] = str(os.getpid())
    Granian("sync_service.cli:http_app", factory=True, interface=Interfaces.WSGI,
            address=args.host, port=args.port, workers=args.workers,
            blocking_threads=args.threads, backpressure=args.connection_limit,
            websockets=False, log_access=False, respawn_failed_workers=True,
            # a process still starting when the stop came has not got its own signal handlers
            # yet and would be waited for forever; the others finish their requests first
            workers_kill_timeout=WORKER_STOP_TIMEOUT_S).serve()


class _Stopped(Exception):
    """SIGINT or SIGTERM came before the HTTP server took those signals over."""


def _stop_early(_signum: int, _frame: object) -> None:
    raise _Stopped


def _supervise_queue(settings: Settings) -> tuple[Supervisor, list[str]]:
    """Start the supervised queue process of `serve` (render threads, the scheduled cleanup,
    the store push: renders are taken exactly once per machine) and the stall check. The list
    receives the supervisor's sentence if it gives up; it then stops the HTTP server."""
    from .queue.supervisor import Supervisor

    name = settings.queue.worker_name
    # Read by the HTTP processes, started next: /health reports this queue process.
    os.environ["TSHIRT_CONSUMER_NAME"] = name
    failures: list[str] = []

    def give_up(message: str) -> None:
        failures.append(message)
        os.kill(os.getpid(), signal.SIGTERM)  # the server stops serving, then serve exits

    command = [sys.executable, "-m", "sync_service.cli", "serve", "--queue-of",
               str(os.getpid())]
    supervisor = Supervisor(settings, name, command, on_give_up=give_up)
    supervisor.start()
    return supervisor, failures


def _run_queue_process(parent_pid: int) -> int:
    """The queue process that `serve`'s supervisor starts (`serve --queue-of PID`)."""
    from .queue.supervisor import die_with_parent

    die_with_parent(parent_pid)
    return run_worker(maintenance=True)


def cmd_serve(args: argparse.Namespace) -> int:
    if args.queue_of is not None:
        return _run_queue_process(args.queue_of)
    settings = Settings.load()
    settings.check()
    if not args.no_migrate:
        _prepare_database(settings)
    if settings.dev_mode:
        print("tshirt-service: DEVELOPMENT MODE" +
              (" - admin routes are open, no token needed" if not settings.api_tokens else ""),
              file=sys.stderr)
    if args.workers < 1:
        raise ConfigError("--workers must be at least 1.")
    _check_port_free(args.host, args.port)
    print(f"tshirt-service: serving on http://{args.host}:{args.port} with {args.workers} "
          f"worker(s) x {args.threads} threads (data: {settings.data_dir})",
          file=sys.stderr, flush=True)
    if args.submit_sample:
        _submit_sample(args, settings)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop_early)
    supervisor, failures = _supervise_queue(settings)
    try:
        _serve_http(args)
    except _Stopped:
        pass
    except SystemExit as stop:  # Granian gave up: an HTTP process kept dying
        failures.append(f"An HTTP process kept dying (server exit status {stop.code}); "
                        "stopping so that the service manager can restart the service.")
    finally:
        queue_code = supervisor.stop()
    if failures:
        print(f"tshirt-service: {failures[0]}", file=sys.stderr, flush=True)
        return 1
    return 0 if queue_code in (None, 0, -signal.SIGTERM) else 1


def _submit_sample(args: argparse.Namespace, settings: Settings) -> None:
    """Submit the bundled sample over HTTP once the service answers (see `demo`)."""
    import subprocess

    host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
    host = f"[{host}]" if ":" in host else host
    env = dict(os.environ)
    if settings.api_tokens:
        env["TSHIRT_SERVICE_TOKEN"] = settings.api_tokens[0]
    subprocess.Popen([sys.executable, "-m", "sync_service.demo", f"http://{host}:{args.port}",
                      str(settings.data_dir)], env=env)


def run_worker(threads: int | None = None, *, maintenance: bool = False) -> int:
    """`tshirt-service worker` (and the queue process of `serve`): render jobs from the queue
    until SIGINT or SIGTERM; running renders are then stopped and their jobs requeued for
    another worker. `maintenance` also runs the scheduled cleanup and the store push (only
    where the data directory lives).

    A worker first checks its configuration (`queue.preflight`: one line and exit 1 for what
    is wrong), then delivers the finished renders an earlier run left on its disk, and only then
    takes jobs. The service's own queue process publishes the marker the workers look for."""
    from .app import create_app
    from .queue import broker, preflight
    from .queue.runtime import get_queue

    settings = Settings.load()
    # The worker says in one line per try what it cannot reach; urllib3's own retry warnings
    # would repeat that several times a try.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    if not maintenance:
        preflight.check_worker(settings)
    broker.log_broker_errors_in_one_line()
    config: dict[str, Any] = {}
    if settings.queue.service_token:
        # Named explicitly, so that the stand-in below can never be sent to the service.
        config["TSHIRT_SERVICE_TOKEN"] = settings.queue.service_token
    if not settings.api_tokens and not settings.dev_mode:
        # A worker answers no HTTP; this only satisfies the app's refusal to start without one.
        config["TSHIRT_API_TOKENS"] = "worker-" + secrets.token_urlsafe(16)
    app = create_app(config)
    runtime = get_queue(app)
    workers = runtime.settings.workers if threads is None else threads
    if not maintenance:
        workers = max(1, workers)
    stop = threading.Event()
    if maintenance:
        preflight.publish(settings, runtime.render_huey, app.extensions["tshirt"].storage, stop)

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        runtime.worker.resume_uploads(stop.is_set)
        if runtime.worker.client is not None and not stop.is_set():
            preflight.check_service(runtime.worker.client)
        if not stop.is_set():
            runtime.start(render_workers=workers, maintenance=maintenance)
            _log.info("worker %s: %d render thread(s), %s files", runtime.settings.worker_name,
                      workers, "remote" if runtime.settings.remote else "local")
        while not stop.wait(0.5):
            pass
    finally:
        runtime.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        app.extensions["tshirt"].db.dispose()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    return run_worker(args.threads)


def cmd_db_upgrade(_args: argparse.Namespace) -> int:
    from .migrate import current_revision, head_revision

    settings = Settings.load()
    _prepare_database(settings)
    from .db import Database

    database = Database(settings.database_url, pool_size=1)
    try:
        revision = current_revision(database.engine)
    finally:
        database.dispose()
    print(f"database at revision {revision} (head {head_revision()})")
    return 0


def cmd_create_token(_args: argparse.Namespace) -> int:
    token = new_token()
    print(token)
    print("Add it to TSHIRT_API_TOKENS (comma-separated) where the service runs, and send it as "
          "'Authorization: Bearer <token>'.", file=sys.stderr)
    return 0


def cmd_cleanup(args: argparse.Namespace) -> int:
    from .db import Database
    from .jobs.cleanup import plan_cleanup, run_cleanup
    from .jobs.storage import Storage

    settings = Settings.load()
    storage = Storage(settings.data_dir)
    database = Database(settings.database_url, pool_size=1)
    try:
        with database.session() as session:
            plan = plan_cleanup(session, storage)
    finally:
        database.dispose()
    for removal in plan:
        verb = "would delete" if args.dry_run else "deleting"
        print(f"{verb} {removal.path.relative_to(storage.root)}  ({removal.reason})")
    if not args.dry_run:
        run_cleanup(plan)
    print(f"{len(plan)} item(s) {'to delete' if args.dry_run else 'deleted'}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tshirt-service", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API under Granian, with the queue")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                       help=f"app threads per process (default {DEFAULT_THREADS})")
    serve.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                       help="serving processes sharing the port; one Python process uses one "
                            f"core (default {DEFAULT_WORKERS})")
    serve.add_argument("--connection-limit", type=int, default=200,
                       help="requests a process takes at once before new ones wait")
    serve.add_argument("--no-migrate", action="store_true",
                       help="do not migrate the database before starting")
    serve.add_argument("--submit-sample", action="store_true",
                       help="once started, render the bundled sample design through the API "
                            "and print where its images are")
    # How serve starts its own queue process (see queue.supervisor); not for people.
    serve.add_argument("--queue-of", type=int, metavar="PID", help=argparse.SUPPRESS)
    serve.set_defaults(func=cmd_serve)

    database = commands.add_parser("db", help="database commands")
    db_commands = database.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="migrate to the newest schema").set_defaults(
        func=cmd_db_upgrade)

    commands.add_parser("create-token", help="print a new random API token").set_defaults(
        func=cmd_create_token)

    worker = commands.add_parser(
        "worker", help="render jobs from the queue (one per render machine; see README)")
    worker.add_argument("--threads", type=int, default=None,
                        help="jobs rendered at once (default: TSHIRT_RENDER_WORKERS, 1)")
    worker.set_defaults(func=cmd_worker)

    cleanup = commands.add_parser("cleanup", help="delete files no job references")
    cleanup.add_argument("--dry-run", action="store_true", help="only list what would go")
    cleanup.set_defaults(func=cmd_cleanup)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    try:
        return args.func(args)
    except TshirtError as error:
        print(f"tshirt-service: {error.message}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
