"""The manifest of a finished job: what each output file is, its pixel size and checksum, the
design as it printed and the warnings for whoever prints it.

Plain Python (no `bpy`): pixel sizes come from the PNG header, file facts from the bytes on disk,
so what the manifest says is what the service will find.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from .._shared import contracts, validation


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
                   device: str, design: validation.DesignInfo | None = None) -> contracts.Manifest:
    """The manifest of ``outputs``; with the ``design`` (upright size), its DPI at the spec's
    preset and the print-resolution warning."""
    printed, warnings = None, ()
    if design is not None:
        dpi = validation.resolution_at(spec.preset, design.width, design.height).dpi
        printed = contracts.PrintedDesign(design.width, design.height, round(dpi, 1))
        warnings = tuple(validation.print_warnings(spec.preset, design.width, design.height))
    return contracts.Manifest(
        spec=spec,
        blender_version=blender_version,
        outputs=tuple(outputs),
        timings={k: round(v, 3) for k, v in timings.items()},
        created_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        device=device,
        design=printed,
        warnings=warnings,
    )

