"""Processes for `chaos_bench`: service commands with their output in log files, a throwaway
Redis with persistence, the renderers (the tests' fake, or the real one) wrapped so that every
finished render is counted, a fake store that counts uploads per job, and the sweep that ends
every process the bench started."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "medusa"), str(REPO)]

from fake_medusa import FakeMedusa  # noqa: E402
from fake_renderer import FakeRenderer  # noqa: E402
from werkzeug.wrappers import Request, Response  # noqa: E402

#: Appended to by the renderer wrappers: one job id per render that exited 0.
FINISHED_LOG = "finished.jsonl"

# Runs the tests' fake in this process and records a finished render (fake_renderer.main reads
# behaviour.json and writes runs.jsonl beside the script it is given).
_FAKE_LAUNCHER = """\
#!{python}
import json, sys
sys.path[:0] = [{tests!r}, {repo!r}]
import fake_renderer
code = fake_renderer.main(__file__)
if code == 0 and "--spec" in sys.argv:
    spec = json.load(open(sys.argv[sys.argv.index("--spec") + 1]))
    with open({finished!r}, "a") as log:
        log.write(json.dumps(spec["job_id"]) + "\\n")
sys.exit(code)
"""

# Stands in for the Python with `bpy` (TSHIRT_BLENDER_PYTHON): runs it with the same arguments
# in the same process group, so that a kill of the group reaches the render too.
_REAL_LAUNCHER = """\
#!{python}
import json, subprocess, sys
args = sys.argv[1:]
code = subprocess.call([{python!r}, *args])
if code == 0 and "--spec" in args:
    spec = json.load(open(args[args.index("--spec") + 1]))
    with open({finished!r}, "a") as log:
        log.write(json.dumps(spec["job_id"]) + "\\n")
sys.exit(code)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Renderer:
    """What the workers start for a render; `finished()` counts renders that exited 0 per job.
    `marker` is a command-line fragment only this bench's renders carry (kill targets)."""

    def __init__(self, root: Path, real: bool, render_s: float) -> None:
        self.folder = root / "renderer"
        self.real = real
        fake = FakeRenderer(self.folder)  # writes behaviour.json, which the fake reads
        # A render: 6 stills and the 4 turntable frames of TINY, one event delay each.
        fake.set("ok", event_delay_s=render_s / 10)
        finished = str(self.folder / FINISHED_LOG)
        launcher = self.folder / ("render-python" if real else "blender-counted")
        template = _REAL_LAUNCHER if real else _FAKE_LAUNCHER
        launcher.write_text(template.format(python=sys.executable, tests=str(REPO / "tests"),
                                            repo=str(REPO), finished=finished))
        launcher.chmod(0o755)
        self.launcher = launcher
        self.marker = "blender_addon.cli" if real else str(launcher)

    def env(self) -> dict[str, str]:
        return ({"TSHIRT_BLENDER_PYTHON": str(self.launcher)} if self.real
                else {"TSHIRT_BLENDER_BIN": str(self.launcher)})

    def finished(self) -> Counter[str]:
        log = self.folder / FINISHED_LOG
        lines = log.read_text().splitlines() if log.exists() else []
        return Counter(json.loads(line) for line in lines)

    def pids(self, root: Path) -> list[int]:
        """Live render processes of this bench: the fake, or the real one under its wrapper
        (killing the wrapper would leave the render running)."""
        launcher = str(self.launcher)
        return [pid for pid, cmd in processes_with(str(root))
                if (launcher in cmd) != self.real and (not self.real or self.marker in cmd)]


class CountingMedusa(FakeMedusa):
    """The tests' fake Medusa, counting how often each job's files were uploaded (the upload
    names are `tshirt-<job>-<role>.<ext>`)."""

    def __post_init__(self) -> None:
        self.uploads_by_job: Counter[str] = Counter()
        super().__post_init__()

    def handle(self, request: Request) -> Response:
        if request.path == "/admin/uploads" and request.method == "POST":
            jobs = {f.filename.split("-")[1] for f in request.files.getlist("files")
                    if f.filename and f.filename.startswith("tshirt-")}
            self.uploads_by_job.update(jobs)
        return super().handle(request)

    def duplicate_images(self) -> int:
        """Images beyond the first of the same file role, over every product."""
        extra = 0
        for product in self.products.values():
            roles = Counter(image["url"].rsplit("/", 1)[1].split("-", 1)[1]
                            for image in product["images"])
            extra += sum(n - 1 for n in roles.values())
        return extra


class Proc:
    """A command in a session of its own, its output in `log`."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log = log_dir / f"{name}.log"
        self.starts = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as handle:
            handle.write(f"--- start {self.starts} at {time.time():.1f}\n".encode())
            self.process = subprocess.Popen(self.args, env=self.env, cwd=self.log.parent,
                                            stdout=handle, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(sig)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM, then SIGKILL of its whole session after `timeout`."""
        if self.process is None:
            return
        if self.alive():
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # whatever of its session is left
        self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def service_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "sync_service.cli", *args]


def redis_proc(root: Path, port: int, env: dict[str, str]) -> Proc:
    """A Redis of the bench's own (it is stopped and restarted), persisting every write."""
    folder = root / "redis"
    folder.mkdir(exist_ok=True)
    return Proc("redis", ["redis-server", "--bind", "127.0.0.1", "--port", str(port),
                          "--dir", str(folder), "--appendonly", "yes",
                          "--appendfsync", "always", "--save", "", "--protected-mode", "yes"],
                env, root)


def processes_with(text: str) -> list[tuple[int, str]]:
    """(pid, command line) of live processes whose command line contains `text`; with the
    bench's root folder, only what this bench started (its data, renderer and logs are under
    it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmd and state != "Z":
            found.append((int(entry.name), cmd))
    return found


def kill_pid(pid: int, sig: int = signal.SIGKILL) -> bool:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True


def end_all(procs: list[Proc], root: Path) -> None:
    """Stop every process the bench started: its own, then any child left over (a render
    or a queue process whose parent was killed), found by `root` in its command line."""
    for proc in reversed(procs):
        proc.stop(timeout=10)
    for pid, _cmd in processes_with(str(root)):
        kill_pid(pid)


def env_for(base: dict[str, Any]) -> dict[str, str]:
    """This environment without the settings the bench chooses, plus `base`."""
    drop = ("DATABASE_URL", "REDIS_URL", "TSHIRT_SERVICE_URL", "TSHIRT_SERVICE_TOKEN",
            "MEDUSA_URL", "MEDUSA_API_KEY", "MEDUSA_EMAIL", "MEDUSA_PASSWORD",
            "TSHIRT_RENDER_WORKERS", "TSHIRT_DATA_DIR", "TSHIRT_BLENDER_BIN",
            "TSHIRT_BLENDER_PYTHON", "TSHIRT_WORKER_NAME")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update({k: str(v) for k, v in base.items()})
    return env
