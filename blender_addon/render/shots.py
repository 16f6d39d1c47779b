"""Low-level shots: one still of the scene's camera, or a turning shirt as numbered frames.

Everything above (the renderer's stills, both turntable methods) renders through these, with the
Cycles settings already configured; nothing here decides quality, device or file names of a job.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import bpy

from .._shared import errors
from . import alpha_edge, compat, studio

FRAME_NAME = "turntable_{:04d}.png"


def use_png(scene: bpy.types.Scene, compression: int = 15) -> None:
    """Save renders as 8-bit RGBA PNG; `compression` 0 writes fastest (frames for an encoder)."""
    settings = scene.render.image_settings
    compat.set_image_output(settings, "PNG")
    settings.color_mode = "RGBA"
    settings.color_depth = "8"
    settings.compression = compression


def render_still(scene: bpy.types.Scene, path: Path) -> None:
    """Render the scene's camera and save the result (view transform applied) to `path`."""
    try:
        bpy.ops.render.render(write_still=False, scene=scene.name)
        result = bpy.data.images.get("Render Result")
        if result is None:
            raise errors.RenderFailed("Blender produced no render result.")
        result.save_render(filepath=str(path), scene=scene)
    except RuntimeError as exc:
        raise errors.RenderFailed(f"Blender could not render: {exc}".strip()) from None
    if not path.is_file():
        raise errors.RenderFailed(f"Blender did not write {path.name}.")
    if scene.render.film_transparent and scene.cycles.use_denoising:
        alpha_edge.clean_png(path)  # the denoiser's dark fringe (frames have no denoiser)


def render_turning_frames(shirt, frames: int, frame_dir: Path,
                          frame_done: Callable[[int], None]) -> None:
    """Turn the shirt once over `frames` frames and render each into `frame_dir` (named by
    `FRAME_NAME`); the shirt faces front again afterwards."""
    scene = shirt.scene
    shirt.set_turntable(frames)
    try:
        for index in range(1, frames + 1):
            scene.frame_set(index)
            studio.crop_to_subject(scene, shirt.shirt)
            render_still(scene, frame_dir / FRAME_NAME.format(index))
            frame_done(index)
    finally:
        shirt.clear_turntable()
        scene.frame_set(1)
