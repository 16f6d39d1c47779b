"""Planning a job: everything derived from a RenderSpec before Blender does any work.

Plain Python, no `bpy`: each design's type and size from its bytes, the template, where each
print lands (and that it stays printable), the print-resolution warnings, the stills to render
(the spec's views, then the close-ups its prints add), and the Cycles settings of the stills and
of the turntable frames. The render layer takes a `JobPlan` and only executes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .._shared import angles, contracts, errors, prints, quality, templates, validation

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
    denoise_quality: str = "BALANCED"


@dataclass(frozen=True)
class JobPlan:
    """A validated job, ready to render."""

    spec: contracts.RenderSpec
    #: each print's design file as inspected, in the spec's order
    designs: list[validation.DesignInfo]
    #: each print fitted to its design, in the spec's order (later prints over earlier)
    prints: list[prints.PlacedPrint]
    template: templates.Template
    #: the stills to render, in media order: the spec's views, then the close-ups of the
    #: sides it prints on (the neck label's), which nobody asks for
    angles: tuple[str, ...]
    still: RenderSettings
    frames: RenderSettings
    #: each print's resolution sentence at its final size (naming it when there are several)
    warnings: tuple[str, ...] = ()


def _even(value: float) -> int:
    return max(MIN_FRAME_SIZE, int(round(value / 2.0)) * 2)


def render_settings(spec: contracts.RenderSpec) -> tuple[RenderSettings, RenderSettings]:
    """Stills and turntable settings: the quality level, with the spec's overrides applied to
    the stills and scaled in proportion for the frames."""
    level = quality.get_quality(spec.quality)
    res = spec.resolution or level.resolution
    spp = spec.samples or level.samples
    still = RenderSettings(res, spp, level.adaptive_threshold, level.denoise, level.max_bounces,
                           level.denoise_quality)
    frame_res = _even(res * level.animation_resolution / level.resolution)
    frame_spp = max(1, round(spp * level.animation_samples / level.samples))
    frames = RenderSettings(frame_res, frame_spp, level.adaptive_threshold, level.denoise,
                            level.max_bounces, level.denoise_quality)
    return still, frames


def find_template(template: str, root: Path | None = None) -> templates.Template:
    """A template by id (under ``root``, default the bundled ones) or by its folder's
    absolute path."""
    if Path(template).is_absolute():
        return templates.load_template(template)
    found = templates.discover_templates(root or templates.default_templates_root())
    try:
        return found[template]
    except KeyError:
        raise errors.InvalidInput(
            f"Unknown template {template!r}; available: {', '.join(sorted(found)) or 'none'}.",
            code="unknown_template") from None


def plan_job(spec: contracts.RenderSpec, templates_root: Path | None = None) -> JobPlan:
    """Validate the inputs in the order a user fixes them: designs, template, presets, then
    where each print lands (one that leaves its printable area is refused before any render:
    `print_out_of_area`)."""
    designs = [validation.inspect_design_file(p.design) for p in spec.prints]
    template = find_template(spec.template, templates_root)
    for print_spec in spec.prints:
        if print_spec.preset not in template.supported_presets:
            raise errors.InvalidInput(
                f"Template {template.id!r} does not support preset {print_spec.preset!r}.",
                code="unknown_preset")
    placed = prints.place_prints(spec.prints, [(d.width, d.height) for d in designs])
    still, frames = render_settings(spec)
    closeups = angles.closeups_for(p.box.side for p in placed)
    return JobPlan(spec, designs, placed, template, tuple(spec.angles) + closeups, still, frames,
                   tuple(prints.print_warnings(placed)))
