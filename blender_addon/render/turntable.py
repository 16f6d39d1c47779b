"""The turntable: a full 360° turn rendered as frames, then encoded to MP4 (Blender's FFmpeg,
H.264) or kept as a numbered PNG sequence.

Frames always go to a hidden temporary folder first; only complete files get their real names.
Two ways to make frames:

- ``path``: the straightforward one, every frame path-traced like a still (the shirt turns in
  front of the camera and lights).
- ``baked`` (see `bake.py`): the lighting is baked onto the shirt's vertices once, its colours
  (cotton and prints) into a texture per job, and the frames are rendered from an emission-only
  copy of the fabric that reads both (the lighting turns with the shirt). Several times faster
  on a CPU; what ``auto`` uses.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import bpy

from .._shared import colors, contracts, errors
from ..core import manifest_writer
from ..core.jobfiles import JobFiles
from ..core.planning import RenderSettings
from . import bake, compat, cycles_setup, shots
from .shots import FRAME_NAME

_log = logging.getLogger(__name__)
VIDEO_NAME = "turntable.mp4"


def render_turntable(shirt, spec: contracts.RenderSpec, settings: RenderSettings,
                     device: cycles_setup.Device, files: JobFiles, reporter,
                     timings: dict[str, float],
                     method: str = "auto") -> list[contracts.OutputFile]:
    anim = spec.animation
    frame_dir = files.temp("turntable.d")
    frame_dir.mkdir()
    if anim.format != "png":
        # the frames only feed the encoder: unpacked PNGs write in 38 ms instead of 68 (720^2)
        shots.use_png(shirt.scene, compression=0)
    reporter.emit("animating", f"rendering a {anim.frames}-frame turntable")
    t = time.monotonic()

    def frame_done(index: int) -> None:
        reporter.frames_done = index
        reporter.emit("animating", f"frame {index}/{anim.frames}", item=FRAME_NAME.format(index))

    # baking works on every Cycles device, so "auto" always bakes
    if method in ("auto", "baked"):
        bake.render_frames(shirt, settings, device, anim.frames, frame_dir, frame_done, timings)
    else:
        _path_frames(shirt, settings, device, anim.frames, frame_dir, frame_done)
    timings["animation"] = time.monotonic() - t

    outputs: list[contracts.OutputFile] = []
    t = time.monotonic()
    frames = [frame_dir / FRAME_NAME.format(i) for i in range(1, anim.frames + 1)]
    if anim.format == "png":
        for index, frame in enumerate(frames, start=1):
            path = files.commit(frame, frame.name)
            outputs.append(manifest_writer.describe(path, "frame", frame=index))
    else:
        reporter.emit("encoding", "encoding the turntable to MP4", item=VIDEO_NAME)
        background = _video_background(spec.background)
        video = encode_mp4(frames, settings.resolution, anim.fps, frame_dir, background)
        path = files.commit(video, VIDEO_NAME)
        outputs.append(manifest_writer.describe(
            path, "animation", size=(settings.resolution, settings.resolution)))
    shutil.rmtree(frame_dir, ignore_errors=True)
    timings["encoding"] = time.monotonic() - t
    return outputs


def _video_background(background: str) -> tuple[float, float, float]:
    """H.264 has no alpha: a transparent turntable goes on white, the product-page colour."""
    if background.startswith("#"):
        return colors.parse_color(background).linear
    return (1.0, 1.0, 1.0)


def _path_frames(shirt, settings: RenderSettings, device: cycles_setup.Device, frames: int,
                 frame_dir: Path, frame_done: Callable[[int], None]) -> None:
    cycles_setup.configure(shirt.scene, settings, device)
    shots.render_turning_frames(shirt, frames, frame_dir, frame_done)


def encode_mp4(frames: list[Path], resolution: int, fps: int, work_dir: Path,
               background: tuple[float, float, float]) -> Path:
    """Encode PNG frames to H.264 MP4 through the sequencer of a throwaway scene."""
    scene = bpy.data.scenes.new("TShirt_Encode")
    try:
        editor = scene.sequence_editor_create()
        color = compat.new_color_strip(editor, "bg", 1, 1, len(frames))
        color.color = background
        strip = compat.new_image_strip(editor, "frames", frames, 2, 1)
        strip.blend_type = "ALPHA_OVER"
        render = scene.render
        render.resolution_x = render.resolution_y = resolution
        render.resolution_percentage = 100
        render.fps = fps
        render.fps_base = 1.0
        render.use_sequencer = True
        render.use_compositing = False
        scene.frame_start = 1
        scene.frame_end = len(frames)
        scene.view_settings.view_transform = "Standard"
        settings = render.image_settings
        compat.set_image_output(settings, "FFMPEG")
        settings.color_mode = "RGB"
        ffmpeg = render.ffmpeg
        ffmpeg.format = "MPEG4"
        ffmpeg.codec = "H264"
        ffmpeg.constant_rate_factor = "HIGH"
        ffmpeg.ffmpeg_preset = "GOOD"
        ffmpeg.gopsize = 12
        ffmpeg.audio_codec = "NONE"
        out_dir = work_dir / "video"
        out_dir.mkdir()
        render.filepath = str(out_dir / "turntable_")
        try:
            bpy.ops.render.render(animation=True, scene=scene.name)
        except RuntimeError as exc:
            raise errors.RenderFailed(f"Blender could not encode the turntable: {exc}") from None
        produced = sorted(out_dir.glob("*.mp4"))
        if not produced:
            raise errors.RenderFailed("Blender's FFmpeg wrote no MP4 file.")
        return produced[0]
    finally:
        bpy.data.scenes.remove(scene)
