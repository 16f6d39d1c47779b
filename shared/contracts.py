"""The three JSON contracts between the parts: RenderSpec, progress events and the Manifest.

Each is a frozen dataclass with `to_dict()` / `from_dict()` and JSON helpers. Parsing is strict:
an unknown field, a missing required field, a wrong type or an invalid value is an
`InvalidInput` with code `invalid_spec` naming the field, so a client mistake is reported as one
sentence instead of a KeyError deep inside Blender. Every document carries `spec_version`; a
newer major version than this code understands is refused rather than half-read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from .angles import ANGLE_IDS, parse_angles
from .colors import parse_color
from .errors import InvalidInput, TshirtError
from .presets import get_preset
from .quality import DEFAULT_QUALITY, get_quality
from .validation import check_safe_id, file_sha256

SPEC_VERSION = 1
DEFAULT_TEMPLATE = "classic-tee"
ANIMATION_FORMATS = ("mp4", "png")
BACKGROUND_KINDS = ("transparent", "studio")
MAX_RESOLUTION = 8192
MAX_SAMPLES = 4096
MAX_FRAMES = 1000
MANIFEST_NAME = "manifest.json"
#: The most shirt colours one job renders (one Blender process, one scene build).
MAX_COLORS = 12


def _spec_error(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_spec")


def _check_fields(what: str, data: object, allowed: set[str], required: set[str]) -> dict:
    if not isinstance(data, Mapping):
        raise _spec_error(f"A {what} must be a JSON object, not {type(data).__name__}.")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise _spec_error(f"Unknown field(s) in {what}: {', '.join(map(str, unknown))}.")
    missing = sorted(required - set(data))
    if missing:
        raise _spec_error(f"Missing field(s) in {what}: {', '.join(missing)}.")
    return dict(data)


def _check_version(what: str, data: dict) -> None:
    version = data.get("spec_version", SPEC_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _spec_error(f"{what} spec_version must be a positive integer.")
    if version > SPEC_VERSION:
        raise _spec_error(
            f"This {what} is version {version}; this program reads up to {SPEC_VERSION}."
        )


def _typed(what: str, name: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    # bool is an int in Python; a JSON `true` must not pass for a count.
    if isinstance(value, bool) and kind is not bool:
        ok = False
    elif kind is float:
        ok = isinstance(value, int | float) and math.isfinite(value)
    else:
        ok = isinstance(value, kind)
    if not ok:
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise _spec_error(f"{what} field {name!r} must be {names}, not {value!r}.")
    return value


def _int_in(what: str, name: str, value: Any, low: int, high: int) -> int:
    _typed(what, name, value, int)
    if not low <= value <= high:
        raise _spec_error(f"{what} field {name!r} must be between {low} and {high}, not {value}.")
    return value


def _revalidate(what: str, error: TshirtError) -> InvalidInput:
    """Keep the specific code of a value error (unknown_preset, invalid_color) but say where."""
    return InvalidInput(f"{what}: {error.message}", code=error.code)


def normalize_background(value: str) -> str:
    """`transparent`, `studio` or a colour (stored as `#rrggbb`)."""
    if not isinstance(value, str):
        raise _spec_error(f"The background must be text, not {value!r}.")
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
        values = _check_fields(what, data, {f.name for f in fields(cls)}, set())
        spec = cls(**values)
        _typed(what, "enabled", spec.enabled, bool)
        _int_in(what, "frames", spec.frames, 2, MAX_FRAMES)
        _int_in(what, "fps", spec.fps, 1, 120)
        if spec.format not in ANIMATION_FORMATS:
            raise _spec_error(
                f"animation format must be one of {', '.join(ANIMATION_FORMATS)}, "
                f"not {spec.format!r}."
            )
        return spec


@dataclass(frozen=True)
class RenderSpec:
    """Everything the renderer needs for one job. The panel, the CLI and the worker build one;
    the renderer takes nothing else."""

    design: str
    preset: str
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
        allowed = {f.name for f in fields(cls)}
        values = _check_fields(what, data, allowed, {"design", "preset", "color", "output_dir"})
        _check_version(what, values)
        for name in ("design", "preset", "color", "output_dir", "template", "quality",
                     "background"):
            if name in values:
                _typed(what, name, values[name], str)
        for name in ("design", "output_dir"):
            if not values[name].strip():
                raise _spec_error(f"{what} field {name!r} must not be empty.")
        angles = values.get("angles")
        if angles is not None:
            _typed(what, "angles", angles, (list, tuple))
            if not all(isinstance(a, str) for a in angles):
                raise _spec_error(f"{what} field 'angles' must be a list of angle ids.")
        try:
            get_preset(values["preset"])
            values["color"] = parse_color(values["color"]).hex
            get_quality(values.get("quality", DEFAULT_QUALITY))
            values["angles"] = parse_angles(angles)
            check_safe_id(values.get("template", DEFAULT_TEMPLATE), "template id")
            if values.get("job_id") is not None:
                check_safe_id(values["job_id"], "job id")
        except InvalidInput as error:
            raise _revalidate(what, error) from None
        values["colors"] = _spec_colors(what, values.get("colors"), values["color"])
        values["animation"] = AnimationSpec.from_dict(values.get("animation", {}))
        values["background"] = normalize_background(values.get("background", "transparent"))
        if values.get("resolution") is not None:
            _int_in(what, "resolution", values["resolution"], 16, MAX_RESOLUTION)
        if values.get("samples") is not None:
            _int_in(what, "samples", values["samples"], 1, MAX_SAMPLES)
        values["spec_version"] = SPEC_VERSION
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> RenderSpec:
        return cls.from_dict(_load_json(text, "render spec"))


def _spec_colors(what: str, value: Any, color: str) -> tuple[str, ...]:
    """`colors` normalised (`#rrggbb`, duplicates dropped); one colour is stored as none."""
    if value is None:
        return ()
    _typed(what, "colors", value, (list, tuple))
    if not value or not all(isinstance(c, str) for c in value):
        raise _spec_error(f"{what} field 'colors' must be a list of colours.")
    try:
        parsed = list(dict.fromkeys(parse_color(c).hex for c in value))
    except InvalidInput as error:
        raise _revalidate(what, error) from None
    if len(parsed) > MAX_COLORS:
        raise _spec_error(f"{what} field 'colors' holds {len(parsed)} colours; at most "
                          f"{MAX_COLORS} render in one job.")
    if parsed[0] != color:
        raise _spec_error(f"{what} field 'color' must be the first of 'colors'.")
    return tuple(parsed) if len(parsed) > 1 else ()


def color_dir(color: str) -> str:
    """The folder of one colour's outputs in a several-colour job: its hex digits."""
    return color.lstrip("#").lower()


def _load_json(text: str | bytes, what: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise _spec_error(f"The {what} is not valid JSON: {error}.") from None


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
        values = _check_fields(what, data, {f.name for f in fields(cls)} | {"event"}, {"stage"})
        if values.pop("event", EVENT_TAG) != EVENT_TAG:
            raise _spec_error("This is not a progress event.")
        _check_version(what, values)
        if values["stage"] not in STAGES:
            raise _spec_error(f"Unknown progress stage {values['stage']!r}.")
        for name in ("images_done", "images_total", "frames_done", "frames_total"):
            if name in values:
                _int_in(what, name, values[name], 0, 1_000_000)
        for name in ("message",):
            if name in values:
                _typed(what, name, values[name], str)
        for name in ("item", "job_id"):
            if values.get(name) is not None:
                _typed(what, name, values[name], str)
        if "elapsed_s" in values:
            _typed(what, "elapsed_s", values["elapsed_s"], float)
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
        values = _check_fields(what, data, {f.name for f in fields(cls)},
                               {"kind", "file", "width", "height", "sha256", "size_bytes"})
        if values["kind"] not in OUTPUT_KINDS:
            raise _spec_error(f"Unknown output kind {values['kind']!r}.")
        name = _typed(what, "file", values["file"], str)
        if values.get("color") is not None:
            values["color"] = _typed(what, "color", values["color"], str)
        check_output_name(name, values.get("color"))
        for key in ("width", "height"):
            _int_in(what, key, values[key], 1, 100_000)
        _int_in(what, "size_bytes", values["size_bytes"], 0, 1 << 40)
        digest = _typed(what, "sha256", values["sha256"], str)
        if len(digest) != 64 or any(ch not in "0123456789abcdef" for ch in digest):
            raise _spec_error(f"Output {name!r} has an invalid sha256.")
        if values.get("angle") is not None and values["angle"] not in ANGLE_IDS:
            raise _spec_error(f"Output {name!r} has an unknown angle {values['angle']!r}.")
        if values.get("frame") is not None:
            _int_in(what, "frame", values["frame"], 0, 1_000_000)
        return cls(**values)


def _plain_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and not any(ch in name for ch in "/\\\0")


def check_output_name(name: str, color: str | None) -> None:
    """An output's name: a plain file name, or `<color_dir>/<name>` for an output of colour
    `color` in a several-colour job; never any other path."""
    folder, _, rest = name.rpartition("/")
    ok = _plain_name(rest) and (not folder or (
        color is not None and _plain_name(folder) and folder == color_dir(color)))
    if not ok:
        raise _spec_error(f"Output file {name!r} must be a plain file name, or one in its "
                          f"colour's folder.")


@dataclass(frozen=True)
class PrintedDesign:
    """The design as it printed: the upright image's pixel size and its resolution (design
    pixels per printed inch) at the placement."""

    width: int
    height: int
    dpi: float

    @classmethod
    def from_dict(cls, data: object) -> PrintedDesign:
        what = "manifest design"
        values = _check_fields(what, data, {"width", "height", "dpi"}, {"width", "height", "dpi"})
        return cls(width=_int_in(what, "width", values["width"], 1, 100_000),
                   height=_int_in(what, "height", values["height"], 1, 100_000),
                   dpi=_typed(what, "dpi", values["dpi"], float))


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
    design: PrintedDesign | None = None
    #: Sentences for the people who print it (`validation.print_warnings`).
    warnings: tuple[str, ...] = ()

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
            "design": asdict(self.design) if self.design else None,
            "warnings": list(self.warnings),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: object) -> Manifest:
        what = "manifest"
        values = _check_fields(what, data, {f.name for f in fields(cls)},
                               {"spec", "blender_version", "outputs", "timings", "created_at"})
        _check_version(what, values)
        spec = RenderSpec.from_dict(values["spec"])
        outputs = tuple(OutputFile.from_dict(o)
                        for o in _typed(what, "outputs", values["outputs"], list))
        names = [o.file for o in outputs]
        if len(set(names)) != len(names):
            raise _spec_error("The manifest lists the same file twice.")
        for output in outputs:
            if (output.color is None) != (not spec.colors) or (
                    output.color is not None and output.color not in spec.colors):
                raise _spec_error(f"Output {output.file!r} must name one of the spec's colours "
                                  f"exactly when the spec has several.")
        timings = _typed(what, "timings", values["timings"], dict)
        for key, seconds in timings.items():
            _typed(what, f"timings.{key}", seconds, float)
        design = values.get("design")
        warnings = _typed(what, "warnings", values.get("warnings", []), list)
        for index, warning in enumerate(warnings):
            _typed(what, f"warnings[{index}]", warning, str)
        return cls(
            spec=spec,
            blender_version=_typed(what, "blender_version", values["blender_version"], str),
            outputs=outputs,
            timings=dict(timings),
            created_at=_typed(what, "created_at", values["created_at"], str),
            device=_typed(what, "device", values.get("device", "CPU"), str),
            design=None if design is None else PrintedDesign.from_dict(design),
            warnings=tuple(warnings),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        return cls.from_dict(_load_json(text, "manifest"))

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
