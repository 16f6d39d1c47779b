"""Planning a job: everything derived from a RenderSpec before Blender does any work.

Plain Python, no `bpy`: the design's type and size from its bytes, the template, the placement,
and the Cycles settings of the stills and of the turntable frames. The render layer takes a
`JobPlan` and only executes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .._shared import contracts, errors, presets, quality, templates, validation

# How turntable frames are made (see render/turntable.py); "auto" picks the fastest.
TURNTABLE_METHODS = ("auto", "path", "baked")
# Turntable frames are square with an even side (H.264 needs even sizes) and never tiny.
MIN_FRAME_SIZE = 16


@dataclass(frozen=True)
class RenderSettings:
    """What one render pass (stills or turntable frames) uses."""

    resolution: int
    samples: int
    adaptive_threshold: float
    denoise: bool
    max_bounces: int


@dataclass(frozen=True)
class JobPlan:
    """A validated job, ready to render."""

    spec: contracts.RenderSpec
    design: validation.DesignInfo
    placement: presets.Placement
    template: templates.Template
    still: RenderSettings
    frames: RenderSettings


def _even(value: float) -> int:
    return max(MIN_FRAME_SIZE, int(round(value / 2.0)) * 2)


def render_settings(spec: contracts.RenderSpec) -> tuple[RenderSettings, RenderSettings]:
    """Stills and turntable settings: the quality level, with the spec's overrides applied to
    the stills and scaled in proportion for the frames."""
    level = quality.get_quality(spec.quality)
    res = spec.resolution or level.resolution
    spp = spec.samples or level.samples
    still = RenderSettings(res, spp, level.adaptive_threshold, level.denoise, level.max_bounces)
    frame_res = _even(res * level.animation_resolution / level.resolution)
    frame_spp = max(1, round(spp * level.animation_samples / level.samples))
    frames = RenderSettings(frame_res, frame_spp, level.adaptive_threshold, level.denoise,
                            level.max_bounces)
    return still, frames


def find_template(template_id: str, root: Path | None = None) -> templates.Template:
    found = templates.discover_templates(root or templates.default_templates_root())
    try:
        return found[template_id]
    except KeyError:
        raise errors.InvalidInput(
            f"Unknown template {template_id!r}; available: {', '.join(sorted(found)) or 'none'}.",
            code="unknown_template") from None


def plan_job(spec: contracts.RenderSpec, templates_root: Path | None = None) -> JobPlan:
    """Validate the inputs in the order a user fixes them: design, template, preset."""
    design = validation.inspect_design_file(spec.design)
    template = find_template(spec.template, templates_root)
    if spec.preset not in template.supported_presets:
        raise errors.InvalidInput(
            f"Template {template.id!r} does not support preset {spec.preset!r}.",
            code="unknown_preset")
    placement = presets.fit_design(spec.preset, design.width, design.height)
    still, frames = render_settings(spec)
    return JobPlan(spec, design, placement, template, still, frames)
