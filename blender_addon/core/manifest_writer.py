"""The manifest of a finished job: what each output file is, its pixel size and checksum, every
print as it printed (its design's size, its DPI and its final box) and the warnings for whoever
prints it.

Plain Python (no `bpy`): pixel sizes come from the PNG header, file facts from the bytes on disk,
so what the manifest says is what the service will find.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from .._shared import contracts, validation
from .planning import JobPlan


def png_size(path: Path) -> tuple[int, int]:
    with path.open("rb") as handle:
        _kind, width, height = validation.image_dimensions(handle.read(64))
    return width, height


def describe(path: Path, kind: str, *, angle: str | None = None, frame: int | None = None,
             size: tuple[int, int] | None = None) -> contracts.OutputFile:
    """An OutputFile for a file already in its final place."""
    width, height = size if size is not None else png_size(path)
    return contracts.OutputFile(
        kind=kind, file=path.name, width=width, height=height,
        sha256=validation.file_sha256(path), size_bytes=path.stat().st_size,
        angle=angle, frame=frame,
    )


def build_manifest(spec: contracts.RenderSpec, blender_version: str,
                   outputs: list[contracts.OutputFile], timings: dict[str, float],
                   device: str, plan: JobPlan | None = None) -> contracts.Manifest:
    """The manifest of ``outputs``; with the job's ``plan``, every print (its design's upright
    size, its DPI at its final size, its preset and box), the first as `design` for version-1
    readers, and the plan's print-resolution warnings."""
    printed: tuple[contracts.PrintedDesign, ...] = ()
    if plan is not None:
        printed = tuple(
            contracts.PrintedDesign(design.width, design.height, round(placed.dpi, 1),
                                    preset=placed.spec.preset, box=placed.box.to_dict())
            for design, placed in zip(plan.designs, plan.prints, strict=True))
    return contracts.Manifest(
        spec=spec,
        blender_version=blender_version,
        outputs=tuple(outputs),
        timings={k: round(v, 3) for k, v in timings.items()},
        created_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        device=device,
        design=printed[0] if printed else None,
        warnings=plan.warnings if plan is not None else (),
        prints=printed,
    )
