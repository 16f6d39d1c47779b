"""The three JSON contracts between the parts: RenderSpec, progress events and the Manifest.

Each is a frozen dataclass with `to_dict()` / `from_dict()` and JSON helpers. Parsing is strict:
an unknown field, a missing required field, a wrong type or an invalid value is an
`InvalidInput` with code `invalid_spec` naming the field, so a client mistake is reported as one
sentence instead of a KeyError deep inside Blender. Every document carries `spec_version`; a
newer major version than this code understands is refused rather than half-read (the field
checks are `shared.spec_fields`; several colours in one job, `shared.job_colors`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from .angles import ANGLE_IDS, STILL_IDS, parse_angles
from .colors import parse_color
from .errors import InvalidInput
from .job_colors import check_output_name, parse_spec_colors
from .prints import PrintSpec, read_spec_prints
from .quality import DEFAULT_QUALITY, get_quality
from .spec_fields import (
    SPEC_VERSION,
    check_fields,
    check_version,
    int_in,
    load_json,
    revalidate,
    spec_error,
    typed,
)
from .templates import check_template_ref
from .validation import check_safe_id, file_sha256

DEFAULT_TEMPLATE = "classic-tee"
ANIMATION_FORMATS = ("mp4", "png")
BACKGROUND_KINDS = ("transparent", "studio")
MAX_RESOLUTION = 8192
MAX_SAMPLES = 4096
MAX_FRAMES = 1000
MANIFEST_NAME = "manifest.json"


def normalize_background(value: str) -> str:
    """`transparent`, `studio` or a colour (stored as `#rrggbb`)."""
    if not isinstance(value, str):
        raise spec_error(f"The background must be text, not {value!r}.")
    lowered = value.strip().lower()
    if lowered in BACKGROUND_KINDS:
        return lowered
    try:
        return parse_color(value).hex
    except InvalidInput:
        raise InvalidInput(
            f"Unknown background {value!r}; use 'transparent', 'studio' or a colour.",
            code="invalid_color",
        ) from None


@dataclass(frozen=True)
class AnimationSpec:
    """The turntable: a full 360° turn of the shirt."""

    enabled: bool = True
    frames: int = 120  # one turn in 5 s at 24 fps: slow enough to look at the print
    fps: int = 24
    format: Literal["mp4", "png"] = "mp4"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> AnimationSpec:
        what = "animation"
        values = check_fields(what, data, {f.name for f in fields(cls)}, set())
        spec = cls(**values)
        typed(what, "enabled", spec.enabled, bool)
        int_in(what, "frames", spec.frames, 2, MAX_FRAMES)
        int_in(what, "fps", spec.fps, 1, 120)
        if spec.format not in ANIMATION_FORMATS:
            raise spec_error(
                f"animation format must be one of {', '.join(ANIMATION_FORMATS)}, "
                f"not {spec.format!r}."
            )
        return spec


@dataclass(frozen=True)
class RenderSpec:
    """Everything the renderer needs for one job. The panel, the CLI and the worker build one;
    the renderer takes nothing else."""

    #: What prints where (version 1's `design` and `preset` read as one print).
    prints: tuple[PrintSpec, ...]
    #: The shirt colour; with several, the first of `colors`.
    color: str
    output_dir: str
    template: str = DEFAULT_TEMPLATE
    angles: tuple[str, ...] = ANGLE_IDS
    animation: AnimationSpec = field(default_factory=AnimationSpec)
    quality: str = DEFAULT_QUALITY
    #: Overrides of the quality level's still size and samples.
    resolution: int | None = None
    samples: int | None = None
    background: str = "transparent"
    job_id: str | None = None
    spec_version: int = SPEC_VERSION
    #: Every colour of a several-colour job, `color` first; each renders into its
    #: `color_dir` below `output_dir`. Empty for one colour (as version 1 specs are).
    colors: tuple[str, ...] = ()

    @property
    def all_colors(self) -> tuple[str, ...]:
        return self.colors or (self.color,)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["prints"] = [p.to_dict() for p in self.prints]
        data["angles"] = list(self.angles)
        if self.colors:
            data["colors"] = list(self.colors)
        else:  # one colour: the document a version-1 reader takes
            del data["colors"]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: object) -> RenderSpec:
        """Parse and validate; values come back normalised (colour as `#rrggbb`, angles in
        media order)."""
        what = "render spec"
        allowed = {f.name for f in fields(cls)} | {"design", "preset"}
        values = check_fields(what, data, allowed, {"color", "output_dir"})
        check_version(what, values)
        values["prints"] = read_spec_prints(what, values)
        for name in ("color", "output_dir", "template", "quality", "background"):
            if name in values:
                typed(what, name, values[name], str)
        if not values["output_dir"].strip():
            raise spec_error(f"{what} field 'output_dir' must not be empty.")
        angles = values.get("angles")
        if angles is not None:
            typed(what, "angles", angles, (list, tuple))
            if not all(isinstance(a, str) for a in angles):
                raise spec_error(f"{what} field 'angles' must be a list of angle ids.")
        try:
            values["color"] = parse_color(values["color"]).hex
            get_quality(values.get("quality", DEFAULT_QUALITY))
            values["angles"] = parse_angles(angles)
            check_template_ref(values.get("template", DEFAULT_TEMPLATE))
            if values.get("job_id") is not None:
                check_safe_id(values["job_id"], "job id")
        except InvalidInput as error:
            raise revalidate(what, error) from None
        values["colors"] = parse_spec_colors(what, values.get("colors"), values["color"])
        values["animation"] = AnimationSpec.from_dict(values.get("animation", {}))
        values["background"] = normalize_background(values.get("background", "transparent"))
        if values.get("resolution") is not None:
            int_in(what, "resolution", values["resolution"], 16, MAX_RESOLUTION)
        if values.get("samples") is not None:
            int_in(what, "samples", values["samples"], 1, MAX_SAMPLES)
        values["spec_version"] = SPEC_VERSION
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> RenderSpec:
        return cls.from_dict(load_json(text, "render spec"))


# ---------------------------------------------------------------------------------------------
# Progress events

STAGES = ("starting", "compositing", "rendering", "animating", "encoding", "done", "failed",
          "cancelled")
EVENT_TAG = "tshirt.progress"


@dataclass(frozen=True)
class ProgressEvent:
    """One line of JSON the renderer prints on stdout while it works.

    Blender prints its own lines on stdout too; readers pick ours by the `event` tag.
    """

    stage: str
    images_done: int = 0
    images_total: int = 0
    frames_done: int = 0
    frames_total: int = 0
    message: str = ""
    #: The still or file this event is about, if any (an angle id, `manifest.json`, ...).
    item: str | None = None
    job_id: str | None = None
    elapsed_s: float = 0.0
    spec_version: int = SPEC_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {"event": EVENT_TAG, **asdict(self)}

    def to_json_line(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":")) + "\n"

    @classmethod
    def from_dict(cls, data: object) -> ProgressEvent:
        what = "progress event"
        values = check_fields(what, data, {f.name for f in fields(cls)} | {"event"}, {"stage"})
        if values.pop("event", EVENT_TAG) != EVENT_TAG:
            raise spec_error("This is not a progress event.")
        check_version(what, values)
        if values["stage"] not in STAGES:
            raise spec_error(f"Unknown progress stage {values['stage']!r}.")
        for name in ("images_done", "images_total", "frames_done", "frames_total"):
            if name in values:
                int_in(what, name, values[name], 0, 1_000_000)
        for name in ("message",):
            if name in values:
                typed(what, name, values[name], str)
        for name in ("item", "job_id"):
            if values.get(name) is not None:
                typed(what, name, values[name], str)
        if "elapsed_s" in values:
            typed(what, "elapsed_s", values["elapsed_s"], float)
        values["spec_version"] = SPEC_VERSION
        return cls(**values)


def parse_event_line(line: str | bytes) -> ProgressEvent | None:
    """The progress event on a line of a renderer's stdout, or None for any other line."""
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    text = text.strip()
    if not text.startswith("{") or EVENT_TAG not in text:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or data.get("event") != EVENT_TAG:
        return None
    return ProgressEvent.from_dict(data)


# ---------------------------------------------------------------------------------------------
# Manifest

OUTPUT_KINDS = ("still", "animation", "frame")


@dataclass(frozen=True)
class OutputFile:
    kind: Literal["still", "animation", "frame"]
    #: A plain file name inside the output directory; in a several-colour job
    #: `<color_dir>/<name>`, in the folder of its `color`.
    file: str
    width: int
    height: int
    sha256: str
    size_bytes: int
    angle: str | None = None
    frame: int | None = None
    #: The shirt colour it shows (`#rrggbb`); None in a one-colour job.
    color: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.color is None:  # as a version-1 reader takes it
            del data["color"]
        return data

    @classmethod
    def from_dict(cls, data: object) -> OutputFile:
        what = "manifest output"
        values = check_fields(what, data, {f.name for f in fields(cls)},
                               {"kind", "file", "width", "height", "sha256", "size_bytes"})
        if values["kind"] not in OUTPUT_KINDS:
            raise spec_error(f"Unknown output kind {values['kind']!r}.")
        name = typed(what, "file", values["file"], str)
        if values.get("color") is not None:
            values["color"] = typed(what, "color", values["color"], str)
        check_output_name(name, values.get("color"))
        for key in ("width", "height"):
            int_in(what, key, values[key], 1, 100_000)
        int_in(what, "size_bytes", values["size_bytes"], 0, 1 << 40)
        digest = typed(what, "sha256", values["sha256"], str)
        if len(digest) != 64 or any(ch not in "0123456789abcdef" for ch in digest):
            raise spec_error(f"Output {name!r} has an invalid sha256.")
        if values.get("angle") is not None and values["angle"] not in STILL_IDS:
            raise spec_error(f"Output {name!r} has an unknown angle {values['angle']!r}.")
        if values.get("frame") is not None:
            int_in(what, "frame", values["frame"], 0, 1_000_000)
        return cls(**values)


@dataclass(frozen=True)
class PrintedDesign:
    """A design as it printed: the upright image's size, its DPI at its final size, and (from
    version 2) its preset and final box in cm (`shared.prints.PrintBox.to_dict`)."""

    width: int
    height: int
    dpi: float
    preset: str | None = None
    box: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("preset", "box"):
            if data[name] is None:
                del data[name]
        return data

    @classmethod
    def from_dict(cls, data: object) -> PrintedDesign:
        what = "manifest design"
        values = check_fields(what, data, {"width", "height", "dpi", "preset", "box"},
                              {"width", "height", "dpi"})
        preset = values.get("preset")
        box = values.get("box")
        return cls(width=int_in(what, "width", values["width"], 1, 100_000),
                   height=int_in(what, "height", values["height"], 1, 100_000),
                   dpi=typed(what, "dpi", values["dpi"], float),
                   preset=None if preset is None else typed(what, "preset", preset, str),
                   box=None if box is None else typed(what, "box", box, dict))


@dataclass(frozen=True)
class Manifest:
    """What a render produced, written as `manifest.json` beside the files it describes."""

    spec: RenderSpec
    blender_version: str
    outputs: tuple[OutputFile, ...]
    #: Seconds per stage (e.g. compositing, stills, animation, encoding, total).
    timings: dict[str, float]
    created_at: str
    device: str = "CPU"
    spec_version: int = SPEC_VERSION
    #: The first print's design (what a version-1 reader takes); all of them in `prints`.
    design: PrintedDesign | None = None
    #: Sentences for the people who print it (`prints.print_warnings`).
    warnings: tuple[str, ...] = ()
    #: Every print, in the spec's order, with its final box.
    prints: tuple[PrintedDesign, ...] = ()

    @property
    def stills(self) -> dict[str, OutputFile]:
        """The stills of the first colour (the only one, in most jobs), by angle."""
        return self.stills_of(self.spec.color)

    @property
    def animation(self) -> OutputFile | None:
        return self.animation_of(self.spec.color)

    def outputs_of(self, color: str) -> tuple[OutputFile, ...]:
        return tuple(o for o in self.outputs if (o.color or self.spec.color) == color)

    def stills_of(self, color: str) -> dict[str, OutputFile]:
        return {o.angle: o for o in self.outputs_of(color) if o.kind == "still" and o.angle}

    def animation_of(self, color: str) -> OutputFile | None:
        return next((o for o in self.outputs_of(color) if o.kind == "animation"), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec_version": self.spec_version,
            "spec": self.spec.to_dict(),
            "blender_version": self.blender_version,
            "device": self.device,
            "created_at": self.created_at,
            "outputs": [o.to_dict() for o in self.outputs],
            "timings": dict(self.timings),
            "design": self.design.to_dict() if self.design else None,
            "warnings": list(self.warnings),
            "prints": [p.to_dict() for p in self.prints],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: object) -> Manifest:
        what = "manifest"
        values = check_fields(what, data, {f.name for f in fields(cls)},
                               {"spec", "blender_version", "outputs", "timings", "created_at"})
        check_version(what, values)
        spec = RenderSpec.from_dict(values["spec"])
        outputs = tuple(OutputFile.from_dict(o)
                        for o in typed(what, "outputs", values["outputs"], list))
        names = [o.file for o in outputs]
        if len(set(names)) != len(names):
            raise spec_error("The manifest lists the same file twice.")
        for output in outputs:
            if (output.color is None) != (not spec.colors) or (
                    output.color is not None and output.color not in spec.colors):
                raise spec_error(f"Output {output.file!r} must name one of the spec's colours "
                                  f"exactly when the spec has several.")
        timings = typed(what, "timings", values["timings"], dict)
        for key, seconds in timings.items():
            typed(what, f"timings.{key}", seconds, float)
        design = values.get("design")
        warnings = typed(what, "warnings", values.get("warnings", []), list)
        for index, warning in enumerate(warnings):
            typed(what, f"warnings[{index}]", warning, str)
        return cls(
            spec=spec,
            blender_version=typed(what, "blender_version", values["blender_version"], str),
            outputs=outputs,
            timings=dict(timings),
            created_at=typed(what, "created_at", values["created_at"], str),
            device=typed(what, "device", values.get("device", "CPU"), str),
            design=None if design is None else PrintedDesign.from_dict(design),
            warnings=tuple(warnings),
            prints=tuple(PrintedDesign.from_dict(p)
                         for p in typed(what, "prints", values.get("prints", []), list)),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        return cls.from_dict(load_json(text, "manifest"))

    @classmethod
    def load(cls, directory: str | Path) -> Manifest:
        path = Path(directory) / MANIFEST_NAME
        try:
            text = path.read_bytes()
        except OSError:
            raise InvalidInput(f"No readable manifest at {path}.", code="manifest_mismatch") \
                from None
        return cls.from_json(text)

    def verify(self, directory: str | Path) -> None:
        """Check that every listed file is present in `directory` with its size and sha256."""
        directory = Path(directory)
        problems = []
        for output in self.outputs:
            path = directory / output.file
            if not path.is_file():
                problems.append(f"{output.file} is missing")
            elif path.stat().st_size != output.size_bytes:
                problems.append(f"{output.file} has the wrong size")
            elif file_sha256(path) != output.sha256:
                problems.append(f"{output.file} does not match its sha256")
        if problems:
            raise InvalidInput(
                "The outputs do not match the manifest: " + "; ".join(problems) + ".",
                code="manifest_mismatch",
            )
