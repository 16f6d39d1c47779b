"""The worker's side of the renderer child: the RenderSpec of a job, the command that renders it
and the environment it gets. Running it is `shared.child_process`, the runner the add-on uses
too: an argument list (no shell), `--spec spec.json` as the only thing that says what to render,
a time limit and a cancel that stop the whole process group, a child that dies with its worker.

The service never imports `bpy`: the child is a Blender binary (`--factory-startup`, auto-run
scripts disabled) or a Python that has the `bpy` module.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shared.child_process import Command, renderer_command, write_spec
from shared.contracts import RenderSpec
from shared.errors import InvalidInput

from ..config import QueueSettings
from ..jobs.prints import spec_of
from ..models import RenderJob

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = REPO_ROOT / "blender_addon"
#: Variables a render may need from the worker's environment; nothing else is passed on.
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT",
              "CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "OCIO")
#: `TSHIRT_RENDER_OVERRIDES` keys (tests and benchmarks use them for tiny renders): those that
#: are fields of the spec, and those that are run options of the CLI.
SPEC_OVERRIDES: Mapping[str, tuple[str, ...]] = {
    "resolution": ("resolution",),
    "samples": ("samples",),
    "frames": ("animation", "frames"),
    "fps": ("animation", "fps"),
    "animation_format": ("animation", "format"),
}
OPTION_OVERRIDES: Mapping[str, str] = {"turntable_method": "--turntable-method"}


def child_environment() -> dict[str, str]:
    env = {key: os.environ[key] for key in PASSED_ENV if key in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.setdefault("LANG", "C.UTF-8")
    return env


def _check_overrides(overrides: Mapping[str, Any]) -> None:
    unknown = sorted(set(overrides) - set(SPEC_OVERRIDES) - set(OPTION_OVERRIDES))
    if unknown:
        allowed = ", ".join([*SPEC_OVERRIDES, *OPTION_OVERRIDES])
        raise InvalidInput(f"Unknown render override {unknown[0]!r}; allowed: {allowed}.")


def job_spec(job: RenderJob, designs: Sequence[Path], out: Path,
             overrides: Mapping[str, Any] | None = None, *,
             template: str | None = None) -> RenderSpec:
    """What to render for `job`: each of its prints with the design file in `designs` at its
    position, and its options, into `out`, validated like any spec (raises InvalidInput).
    `template` is what the spec names (`template_cache`: a registered template's folder); the
    job's template id by default."""
    overrides = overrides or {}
    _check_overrides(overrides)
    data: dict[str, Any] = {
        "prints": [spec_of(row, str(design)).to_dict()
                   for row, design in zip(job.prints, designs, strict=True)],
        "color": job.color,
        "output_dir": str(out), "template": template or job.template_id, "quality": job.quality,
        "background": job.background, "job_id": job.id,
        "animation": {"enabled": bool(job.animation)},
    }
    if job.colors:  # several colours: one Blender process renders them all
        data["colors"] = list(job.colors)
    for key, path in SPEC_OVERRIDES.items():
        if key in overrides:
            target = data
            for name in path[:-1]:
                target = target[name]
            target[path[-1]] = overrides[key]
    return RenderSpec.from_dict(data)


def job_command(settings: QueueSettings, spec: RenderSpec, work: Path) -> Command:
    """Write `spec` into the job's work folder and return the command that renders it."""
    _check_overrides(settings.render_overrides)
    options = [item for key, flag in OPTION_OVERRIDES.items()
               if key in settings.render_overrides
               for item in (flag, str(settings.render_overrides[key]))]
    return renderer_command(write_spec(spec, work), package_dir=PACKAGE_DIR,
                            blender_binary=settings.blender_bin or "",
                            python=settings.blender_python or sys.executable,
                            env=child_environment(), options=options)
