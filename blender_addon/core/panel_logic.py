"""What the panel shows and asks for, decided in plain Python (no ``bpy``).

Enum items come from ``shared`` so a preset, quality level or template added there shows up in
the panel without touching the add-on; the checks on each print's design (its DPI at its final
size, whether it stays printable) and the RenderSpec a render button sends are built here too,
so they are unit-tested without Blender.
"""

from __future__ import annotations

import datetime as _dt
import tempfile
import textwrap
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .._shared import (
    angles,
    colors,
    contracts,
    errors,
    presets,
    prints,
    quality,
    templates,
    validation,
)

EnumItem = tuple[str, str, str, int]

COLOR_BACKGROUND = "color"


# ---------------------------------------------------------------------------------------------
# enum items


#: The number a placement keeps in every (filtered) list: a saved print keeps its placement
#: whatever the template offers.
PRESET_NUMBERS = {preset_id: i for i, preset_id in enumerate(presets.PRESET_IDS)}
MORE_PLACEMENTS = "More"


def preset_items(supported: Collection[str] | None = None) -> list[EnumItem]:
    """The placements (those of ``supported`` only, when given), numbered as in ``shared``."""
    return [
        (p.id, p.label, f"{p.label}: {p.side} print, {p.width_cm:g} x {p.height_cm:g} cm",
         PRESET_NUMBERS[p.id])
        for p in presets.PRESETS.values() if supported is None or p.id in supported
    ]


def area_label(area: str) -> str:
    return area.replace("-", " ").capitalize()


def preset_grid(supported: Collection[str] | None = None
                ) -> list[tuple[str, list[tuple[str, str]]]]:
    """Rows of (label, [(preset id, button label), ...]) in the order ``shared`` lists them:
    one row per area of the nine sized placements, then the others (left chest, the sleeves,
    the neck label) in one row under their own names."""
    rows: dict[str, list[tuple[str, str]]] = {}
    for p in presets.PRESETS.values():
        if supported is not None and p.id not in supported:
            continue
        if p.id == f"{p.area}-{p.size}":
            rows.setdefault(area_label(p.area), []).append((p.id, p.size.capitalize()))
        else:
            rows.setdefault(MORE_PLACEMENTS, []).append((p.id, p.label.split(" (")[0]))
    more = rows.pop(MORE_PLACEMENTS, None)
    return [*rows.items(), *([(MORE_PLACEMENTS, more)] if more else [])]


def next_preset(used: Sequence[str], supported: Collection[str] | None = None) -> str:
    """The placement a new print starts at: the default while its side is free, then the
    first placement on a side no print uses yet (a back print after a chest one), else the
    default again."""
    offered = [p for p in presets.PRESETS.values() if supported is None or p.id in supported]
    if not offered:
        return presets.DEFAULT_PRESET
    default = next((p for p in offered if p.id == presets.DEFAULT_PRESET), offered[0])
    sides = {presets.PRESETS[u].side for u in used if u in presets.PRESETS}
    free = [p for p in offered if p.side not in sides]
    return (default if default in free else free[0] if free else default).id


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
    #: Why the print cannot go where it is: it leaves its side's printable area ("" if not).
    outside: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and self.width > 0

    def size_text(self) -> str:
        return f"{self.width} x {self.height} px" if self.ok else ""

    def dpi_text(self) -> str:
        return f"{self.dpi:.0f} DPI at this size" if self.ok else ""

    def notes(self, width: int = 40) -> list[tuple[list[str], bool]]:
        """The warning and the out-of-area sentence, each in lines a sidebar shows whole (a
        label is cut, never wrapped), with whether it is an alert."""
        return [(textwrap.wrap(text, width), alert)
                for text, alert in ((self.warning, self.blurry), (self.outside, True)) if text]


def inspect_design(path: str) -> DesignStatus:
    """Upright pixel size of a design file, or the one-sentence reason it cannot be used."""
    if not path:
        return DesignStatus()
    try:
        info = validation.inspect_design_file(path)
    except errors.TshirtError as exc:
        return DesignStatus(error=exc.message)
    return DesignStatus(width=info.width, height=info.height)


def at_print(status: DesignStatus, spec: prints.PrintSpec) -> DesignStatus:
    """The same design as ``spec`` prints it: its resolution at its final size (offset, scale
    and turn applied), and the sentence that says it leaves its side's printable area."""
    if not status.ok:
        return status
    try:
        placed = prints.fit_print(spec, status.width, status.height)
        prints.check_inside(placed, 1)
    except errors.InvalidInput as exc:
        if exc.code != "print_out_of_area":
            return replace(status, error=exc.message)
        outside = exc.message.replace("Print 1 ", "The print ", 1)
    else:
        outside = ""
    warning = " ".join(prints.print_warnings([placed]))
    return DesignStatus(status.width, status.height, placed.dpi,
                        blurry=placed.dpi < presets.MIN_PRINT_DPI, warning=warning,
                        outside=outside)


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
    job_prints: Sequence[prints.PrintSpec],
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

    Every problem is an ``InvalidInput`` whose message is the one sentence the user sees; with
    several prints it starts with the print's number.
    """
    if not job_prints:
        raise errors.InvalidInput("Add a print and choose its design first.")
    checked, sizes = [], []
    for index, item in enumerate(job_prints, start=1):
        label = f"Print {index}: " if len(job_prints) > 1 else ""
        if not item.design:
            raise errors.InvalidInput(f"{label}Choose a design image first.")
        design_path = Path(item.design).resolve()
        try:
            info = validation.inspect_design_file(design_path)
        except errors.InvalidInput as exc:
            raise errors.InvalidInput(label + exc.message, code=exc.code) from None
        checked.append(replace(item, design=str(design_path)))
        sizes.append((info.width, info.height))
    prints.place_prints(tuple(checked), sizes)  # print_out_of_area, naming the print
    if product_id:
        validation.check_safe_id(product_id, "product id")
    chosen = tuple(a for a, on in zip(angles.ANGLE_IDS, angle_flags, strict=False) if on)
    if not chosen:
        raise errors.InvalidInput("Choose at least one angle to render.")
    return contracts.RenderSpec.from_dict({
        "prints": [item.to_dict() for item in checked],
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


def legacy_print(design_path: object, preset_number: object) -> tuple[str, str] | None:
    """A scene saved before prints came as a list kept its one design and its placement's
    number in the old settings: the (design, preset) of the print it becomes, or None."""
    design = design_path if isinstance(design_path, str) else ""
    number = preset_number if isinstance(preset_number, int) else None
    if not design and number is None:
        return None
    preset = presets.PRESET_IDS[number] if number is not None \
        and 0 <= number < len(presets.PRESET_IDS) else presets.DEFAULT_PRESET
    return design, preset
