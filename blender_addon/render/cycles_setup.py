"""Cycles settings for a job: quality level to samples, denoiser and light paths, and the device.

The GPU is used only when Cycles lists a real device for a backend *and* a tiny test render on it
succeeds; a driver that is installed but broken must not fail a product render, so anything
short of a working render falls back to the CPU.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import bpy

from ..core.planning import RenderSettings

# Diffuse cloth needs few bounces: the studio's light paths, capped by a pass's max_bounces.
DIFFUSE_BOUNCES = 2
GLOSSY_BOUNCES = 1

_log = logging.getLogger(__name__)

# Preferred order: OptiX is fastest on NVIDIA, then CUDA, HIP (AMD), Metal (Apple), oneAPI.
GPU_BACKENDS = ("OPTIX", "CUDA", "HIP", "METAL", "ONEAPI")


@dataclass(frozen=True)
class Device:
    kind: str  # "CPU" or a backend name
    name: str

    @property
    def label(self) -> str:
        return "CPU" if self.kind == "CPU" else f"{self.kind} ({self.name})"


CPU = Device("CPU", "CPU")
_detected: Device | None = None


def _cycles_prefs():
    addon = bpy.context.preferences.addons.get("cycles")
    return addon.preferences if addon else None


def _gpu_candidates() -> list[tuple[str, list]]:
    prefs = _cycles_prefs()
    if prefs is None:
        return []
    allowed = prefs.bl_rna.properties["compute_device_type"].enum_items.keys()
    found = []
    for backend in GPU_BACKENDS:
        if backend not in allowed:
            continue
        try:
            prefs.compute_device_type = backend
            devices = prefs.get_devices_for_type(backend)
        except (TypeError, ValueError, RuntimeError) as exc:
            _log.debug("Cycles backend %s unavailable: %s", backend, exc)
            continue
        gpus = [d for d in devices if d.type == backend]
        if gpus:
            found.append((backend, gpus))
    return found


def _enable(backend: str, gpus: list) -> None:
    prefs = _cycles_prefs()
    prefs.compute_device_type = backend
    prefs.get_devices_for_type(backend)
    for device in prefs.devices:
        # the CPU joins GPU renders poorly on small jobs; GPUs only
        device.use = device.type == backend and any(device.id == g.id for g in gpus)


def _smoke_test(scene: bpy.types.Scene) -> bool:
    """Render a 16 x 16 frame on the GPU; any failure means 'do not use it'."""
    render = scene.render
    saved = (render.resolution_x, render.resolution_y, render.resolution_percentage,
             scene.cycles.samples, scene.cycles.device, scene.cycles.use_denoising)
    try:
        render.resolution_x = render.resolution_y = 16
        render.resolution_percentage = 100
        scene.cycles.samples = 1
        scene.cycles.use_denoising = False
        scene.cycles.device = "GPU"
        bpy.ops.render.render(write_still=False, scene=scene.name)
        return True
    except RuntimeError as exc:
        _log.warning("GPU test render failed, using the CPU: %s", exc)
        return False
    finally:
        (render.resolution_x, render.resolution_y, render.resolution_percentage,
         scene.cycles.samples, scene.cycles.device, scene.cycles.use_denoising) = saved


def detect_device(scene: bpy.types.Scene, *, allow_gpu: bool = True) -> Device:
    """The device to render on, decided once per process."""
    global _detected
    if _detected is not None:
        return _detected
    device = CPU
    if allow_gpu:
        for backend, gpus in _gpu_candidates():
            _enable(backend, gpus)
            if _smoke_test(scene):
                device = Device(backend, ", ".join(g.name for g in gpus))
                break
    if device is CPU and _cycles_prefs() is not None:
        with contextlib.suppress(TypeError):
            _cycles_prefs().compute_device_type = "NONE"
    _log.info("rendering on %s", device.label)
    _detected = device
    return device


def _texture_limit(resolution: int) -> str:
    """The smallest `texture_limit_render` step that is at least the frame size."""
    for size in (512, 1024, 2048, 4096, 8192):
        if size >= resolution:
            return str(size)
    return "OFF"


def configure(scene: bpy.types.Scene, settings: RenderSettings, device: Device, *,
              box_filter: bool = False, texture_size: int | None = None) -> None:
    """Apply one pass's settings; everything else about the look stays the scene builder's.

    `box_filter` keeps each sample inside its own pixel, for a pass of a few samples and no
    denoiser (the baked turntable's frames): Blackman-Harris's 1.5 px lets each of 4 samples
    land up to 0.75 px outside its pixel, so the silhouette and the print's outline come out
    ragged; a box of 1 px takes them as a 2 x 2 grid and the edge as a clean coverage ramp.
    `texture_size`: a texture the pass must see in full, larger than its frame (the baked
    colours of the turntable).
    """
    render = scene.render
    render.engine = "CYCLES"
    render.resolution_x = render.resolution_y = settings.resolution
    render.resolution_percentage = 100
    render.threads_mode = "AUTO"
    render.use_border = False  # a view crops itself afterwards (studio.crop_to_subject)
    # Keep the synced scene (BVH, shaders, images) between the six stills and between turntable
    # frames: only the rig or the shirt's rotation changes. Measured on 2 cores: -15 % per
    # turntable frame (1.96 -> 1.65 CPU s at 720^2); each still skips the same re-sync.
    render.use_persistent_data = True
    cycles = scene.cycles
    # Four big area lights and a world: the light tree's traversal costs more than it saves.
    # Converged images are identical; per-sample cost -15 % (A/B, same process, 2 cores).
    cycles.use_light_tree = False
    # Cycles has no texture mip-maps: a 2400^2 design seen through ~400 pixels costs memory
    # traffic and aliases into noise the denoiser must then hide. A texture never needs more
    # texels than the frame has pixels; never below 512 (the baked turntable lighting's size).
    cycles.texture_limit_render = _texture_limit(max(settings.resolution, texture_size or 0))
    cycles.device = "CPU" if device.kind == "CPU" else "GPU"
    cycles.samples = settings.samples
    cycles.use_adaptive_sampling = settings.adaptive_threshold > 0
    if settings.adaptive_threshold > 0:
        cycles.adaptive_threshold = settings.adaptive_threshold
        cycles.adaptive_min_samples = 0
    cycles.use_denoising = settings.denoise
    if settings.denoise:
        cycles.denoiser = "OPENIMAGEDENOISE"
        # the level's quality (`shared.quality`): BALANCED looks the same as HIGH on cloth at
        # half the cost on a small CPU, FAST as BALANCED on a standard still. The FAST
        # prefilter trusts the albedo and normal passes as they are: fine now that the fabric
        # has no sub-pixel bump (SSIM 0.9976 vs 0.9978 with ACCURATE), and ACCURATE's two extra
        # filter runs cost 3.4 s of a 1024^2 still on 2 cores.
        cycles.denoising_quality = settings.denoise_quality
        cycles.denoising_prefilter = "FAST"
        cycles.denoising_input_passes = "RGB_ALBEDO_NORMAL"
        cycles.denoising_use_gpu = device.kind != "CPU"
    # from the studio's light paths each time, never from the scene's current ones: a pass
    # with none (the turntable's emission frames) must not leave the next stills without
    cycles.max_bounces = settings.max_bounces
    cycles.diffuse_bounces = min(DIFFUSE_BOUNCES, settings.max_bounces)
    cycles.glossy_bounces = min(GLOSSY_BOUNCES, settings.max_bounces)
    cycles.pixel_filter_type = "BOX" if box_filter else "BLACKMAN_HARRIS"
    cycles.filter_width = 1.0 if box_filter else 1.5
    # stratified, so a few samples cover each pixel evenly: 5.0's default, and on 4.2 too,
    # whose AUTOMATIC picks blue noise (that spreads them between pixels and left the
    # turntable's sides rougher) and would make the same job look different on the two
    cycles.sampling_pattern = "TABULATED_SOBOL"
    cycles.seed = 0
    cycles.use_animated_seed = False
