"""What the panel shows and asks for, decided in plain Python (no ``bpy``).

Enum items come from ``shared`` so a preset, quality level or template added there shows up in
the panel without touching the add-on; the checks on a design and the RenderSpec a render
button sends are built here too, so they are unit-tested without Blender.
"""

from __future__ import annotations

import datetime as _dt
import tempfile
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .._shared import angles, colors, contracts, errors, presets, quality, templates, validation

EnumItem = tuple[str, str, str, int]

COLOR_BACKGROUND = "color"


# ---------------------------------------------------------------------------------------------
# enum items


def preset_items() -> list[EnumItem]:
    return [
        (p.id, p.label, f"{p.label}: {p.side} print, {p.width_cm:g} x {p.height_cm:g} cm", i)
        for i, p in enumerate(presets.PRESETS.values())
    ]


def area_label(area: str) -> str:
    return area.replace("-", " ").capitalize()


def preset_grid() -> list[tuple[str, list[tuple[str, str]]]]:
    """Rows of (area label, [(preset id, size label), ...]) in the order ``shared`` lists them."""
    rows: dict[str, list[tuple[str, str]]] = {}
    for p in presets.PRESETS.values():
        rows.setdefault(p.area, []).append((p.id, p.size.capitalize()))
    return [(area_label(area), cells) for area, cells in rows.items()]


def quality_items() -> list[EnumItem]:
    return [
        (q.name, q.name.capitalize(),
         f"{q.label} ({q.resolution} px stills, {q.samples} samples)", i)
        for i, q in enumerate(quality.QUALITY_LEVELS.values())
    ]


def template_items(found: Mapping[str, templates.Template]) -> list[EnumItem]:
    if not found:
        return [(contracts.DEFAULT_TEMPLATE, contracts.DEFAULT_TEMPLATE,
                 "Bundled template (not found on disk)", 0)]
    return [(t.id, t.name, t.description or t.name, i) for i, t in enumerate(found.values())]


def background_items() -> list[EnumItem]:
    described = {
        "transparent": ("Transparent", "No background: PNGs with alpha, for any shop theme"),
        "studio": ("Studio", "A soft grey studio backdrop"),
    }
    items = [
        (kind, *described.get(kind, (kind.capitalize(), kind.capitalize())), i)
        for i, kind in enumerate(contracts.BACKGROUND_KINDS)
    ]
    items.append((COLOR_BACKGROUND, "Colour", "A plain colour behind the shirt", len(items)))
    return items


def angle_choices() -> list[tuple[str, str]]:
    return [(a.id, a.label) for a in angles.ANGLES]


# ---------------------------------------------------------------------------------------------
# colour


def hex_from_srgb(rgb: Sequence[float]) -> str:
    """``#rrggbb`` from display (sRGB) floats 0..1, as the colour picker holds them."""
    return "#" + "".join(f"{round(min(1.0, max(0.0, float(c))) * 255):02x}" for c in rgb[:3])


def srgb_from_text(text: str) -> tuple[float, float, float]:
    """Display floats from ``#RGB``, ``#RRGGBB`` or a CSS name; ``InvalidInput`` otherwise."""
    return colors.parse_color(text).srgb


def swatches() -> list[tuple[str, str]]:
    return list(colors.COMMON_SHIRT_COLORS)


# ---------------------------------------------------------------------------------------------
# the design


@dataclass(frozen=True)
class DesignStatus:
    """What the panel says about the chosen design at the chosen placement."""

    width: int = 0
    height: int = 0
    dpi: float = 0.0
    blurry: bool = False
    error: str = ""
    #: The print-resolution sentence the CLI, the manifest and the API carry ("" when sharp).
    warning: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and self.width > 0

    def size_text(self) -> str:
        return f"{self.width} x {self.height} px" if self.ok else ""

    def dpi_text(self) -> str:
        return f"{self.dpi:.0f} DPI at this size" if self.ok else ""

    def warning_lines(self, width: int = 40) -> list[str]:
        """The warning in lines a sidebar shows whole (a label is cut, never wrapped)."""
        return textwrap.wrap(self.warning, width)


def inspect_design(path: str) -> DesignStatus:
    """Upright pixel size of a design file, or the one-sentence reason it cannot be used."""
    if not path:
        return DesignStatus()
    try:
        info = validation.inspect_design_file(path)
    except errors.TshirtError as exc:
        return DesignStatus(error=exc.message)
    return DesignStatus(width=info.width, height=info.height)


def at_preset(status: DesignStatus, preset_id: str) -> DesignStatus:
    """The same design with its effective print resolution at ``preset_id``."""
    if not status.ok:
        return status
    resolution = validation.resolution_at(preset_id, status.width, status.height)
    return DesignStatus(status.width, status.height, resolution.dpi,
                        blurry=resolution.quality == "blurry", warning=resolution.warning)


# ---------------------------------------------------------------------------------------------
# the render spec


def default_output_root() -> Path:
    return Path(tempfile.gettempdir()) / "tshirt_renders"


def output_folder(base: str, product_id: str, design: str,
                  now: _dt.datetime | None = None) -> Path:
    """A fresh folder per render: ``<base>/<product or design name>-<UTC time>``."""
    root = Path(base) if base else default_output_root()
    name = product_id or validation.ascii_filename(Path(design).stem or "render")
    stamp = (now or _dt.datetime.now(_dt.UTC)).strftime("%Y%m%d-%H%M%S")
    folder = root / f"{name}-{stamp}"
    counter = 2
    while folder.exists():  # two renders in the same second never share a folder
        folder = root / f"{name}-{stamp}-{counter}"
        counter += 1
    return folder


def background_value(kind: str, srgb: Sequence[float]) -> str:
    return hex_from_srgb(srgb) if kind == COLOR_BACKGROUND else kind


def build_spec(
    *,
    design: str,
    preset: str,
    color: str,
    template: str,
    quality_name: str,
    angle_flags: Sequence[bool],
    animation: bool,
    frames: int,
    background: str,
    output_dir: str | Path,
    product_id: str = "",
    resolution: int = 0,
    samples: int = 0,
) -> contracts.RenderSpec:
    """Check what the panel holds and turn it into the spec the renderer takes.

    Every problem is an ``InvalidInput`` whose message is the one sentence the user sees.
    """
    if not design:
        raise errors.InvalidInput("Choose a design image first.")
    design_path = Path(design).resolve()
    validation.inspect_design_file(design_path)
    if product_id:
        validation.check_safe_id(product_id, "product id")
    chosen = tuple(a for a, on in zip(angles.ANGLE_IDS, angle_flags, strict=False) if on)
    if not chosen:
        raise errors.InvalidInput("Choose at least one angle to render.")
    return contracts.RenderSpec.from_dict({
        "design": str(design_path),
        "preset": preset,
        "color": color,
        "template": template,
        "quality": quality_name,
        "angles": list(chosen),
        "background": background,
        "output_dir": str(output_dir),
        "resolution": resolution or None,
        "samples": samples or None,
        "animation": {"enabled": bool(animation), "frames": int(frames)},
    })
