"""One render from the panel, as a child process (plain Python, no ``bpy``).

The panel never renders inside Blender's own process: it writes the RenderSpec as
``spec.json`` into the job's work folder and starts the headless CLI on it with
``shared.child_process``; the add-on's modal timer polls the run. What the panel shows of its
progress and where the finished stills are is decided here too, testable without Blender.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .._shared import child_process, contracts, errors

_log = logging.getLogger(__name__)

#: The add-on package, which holds ``cli.py``.
PACKAGE_DIR = Path(__file__).resolve().parents[1]
WORK_PREFIX = "tshirt-job-"


class RenderJob:
    """A spec being rendered by a child: the run, and the work folder that holds its spec."""

    def __init__(self, spec: contracts.RenderSpec, run: child_process.ChildRun,
                 work_dir: Path) -> None:
        self.spec = spec
        self.run = run
        self.work_dir = work_dir

    def close(self) -> None:
        """Stop the child if it still runs and forget the work folder."""
        self.run.close()
        shutil.rmtree(self.work_dir, ignore_errors=True)


def start(spec: contracts.RenderSpec, *, blender_binary: str = "") -> RenderJob:
    """Write the spec into a fresh work folder and start the renderer on it.

    ``blender_binary`` empty: this Python renders with the ``bpy`` module.
    """
    work_dir = Path(tempfile.mkdtemp(prefix=WORK_PREFIX))
    try:
        spec_path = child_process.write_spec(spec, work_dir)
        command = child_process.renderer_command(spec_path, package_dir=PACKAGE_DIR,
                                                 blender_binary=blender_binary)
        run = child_process.ChildRun(command, cwd=work_dir).start()
    except BaseException:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise
    return RenderJob(spec, run, work_dir)


def progress_fraction(event: contracts.ProgressEvent) -> float:
    """Overall progress 0..1: every still and every turntable frame counts the same."""
    total = event.images_total + event.frames_total
    if event.stage == "done":
        return 1.0
    if total <= 0:
        return 0.0
    return min(1.0, (event.images_done + event.frames_done) / total)


def stage_text(event: contracts.ProgressEvent) -> str:
    """One short line for the panel, e.g. ``Rendering stills 2/6``."""
    if event.stage == "rendering" and event.images_total:
        text = f"Rendering stills {event.images_done}/{event.images_total}"
    elif event.stage == "animating" and event.frames_total:
        text = f"Turntable frame {event.frames_done}/{event.frames_total}"
    else:
        text = event.stage.capitalize()
    return f"{text}: {event.message}" if event.message else text


def still_files(output_dir: str | Path, angles: Iterable[str]) -> dict[str, Path]:
    """The stills a finished render left, by angle, read from its manifest when it has one."""
    output_dir = Path(output_dir)
    manifest_path = output_dir / contracts.MANIFEST_NAME
    found: dict[str, Path] = {}
    if manifest_path.is_file():
        try:
            manifest = contracts.Manifest.from_json(manifest_path.read_text(encoding="utf-8"))
        except (OSError, errors.TshirtError) as exc:
            _log.warning("could not read %s: %s", manifest_path, exc)
        else:
            for angle, output in manifest.stills.items():
                found[angle] = output_dir / output.file
            return found
    for angle in angles:
        path = output_dir / f"{angle}.png"
        if path.is_file():
            found[angle] = path
    return found
