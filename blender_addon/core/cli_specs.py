"""The CLI's arguments and the RenderSpecs they ask for (plain Python, no ``bpy``).

A job's prints come from a repeatable ``--print DESIGN:PRESET[:offset=X,Y][:scale=S]
[:rotate=D]``, from ``--design``/``--preset`` (one print, as before) or from a ``--spec`` file
(version 1 or 2); a batch file's rows keep their ``design`` and ``preset`` columns. Every mistake
is an ``InvalidInput`` whose message names the argument (and, for ``--print``, the part) the
user has to fix.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._shared import angles, colors, contracts, errors, presets, prints, quality, templates
from . import output_folder, planning

PROG = "tshirt-render"
BATCH_FIELDS = ("design", "preset", "color", "template", "out", "quality", "angles",
                "background", "job_id")
PRINT_SYNTAX = "DESIGN:PRESET[:offset=X,Y][:scale=S][:rotate=D]"
# A Windows drive letter is the one ':' a design path may hold (`C:\designs\logo.png`).
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_PRINT_OPTIONS = {"offset": "offset_cm", "scale": "scale", "rotate": "rotation_deg"}
_OPTION_SHAPES = {"offset": "offset=X,Y", "scale": "scale=S", "rotate": "rotate=D"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + message
        raise errors.InvalidInput(f"{message} (see {PROG} --help)", code="invalid_input")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Render T-shirt product images with Blender.")
    job = p.add_argument_group("job")
    job.add_argument("--print", action="append", metavar=PRINT_SYNTAX, dest="prints",
                     help="one print, repeatable: a design at a placement, optionally moved "
                          "X cm right and Y cm down, scaled (1 = as large as the placement "
                          "fits) and turned D degrees clockwise; e.g. logo.png:chest-left "
                          "back.png:back-large:offset=0,5:scale=0.8:rotate=10")
    job.add_argument("--design", help="design image (PNG or JPEG), for one print")
    job.add_argument("--preset", help=f"its placement: {', '.join(presets.PRESET_IDS)} "
                                      f"(default {presets.DEFAULT_PRESET})")
    job.add_argument("--color", help="shirt colour(s): #RGB, #RRGGBB or a CSS name; several "
                                     "separated by commas render one subfolder each "
                                     "(default: the template's colour)")
    job.add_argument("--template", default=contracts.DEFAULT_TEMPLATE,
                     help=f"shirt template: an id (default {contracts.DEFAULT_TEMPLATE}) or "
                          f"the path of a template folder")
    job.add_argument("--quality", default=quality.DEFAULT_QUALITY, choices=quality.QUALITY_NAMES)
    job.add_argument("--angles", default="all",
                     help=f"comma list of {', '.join(angles.ANGLE_IDS)} or 'all'")
    job.add_argument("--no-animation", action="store_true", help="stills only, no turntable")
    job.add_argument("--background", default="transparent",
                     help="transparent (default), studio, or a colour")
    job.add_argument("--out", help="output directory")
    job.add_argument("--resolution", type=int, help="still size in pixels (overrides quality)")
    job.add_argument("--samples", type=int, help="Cycles samples per still (overrides quality)")
    anim = contracts.AnimationSpec()
    job.add_argument("--frames", type=int, default=anim.frames,
                     help=f"turntable frames (default {anim.frames})")
    job.add_argument("--fps", type=int, default=anim.fps,
                     help=f"turntable frame rate (default {anim.fps})")
    job.add_argument("--animation-format", choices=contracts.ANIMATION_FORMATS, default="mp4",
                     help="mp4 (H.264, default) or png (numbered frames)")
    job.add_argument("--job-id", help="id carried into progress events and the manifest")
    src = p.add_argument_group("other sources")
    src.add_argument("--spec", metavar="FILE", help="a RenderSpec JSON file, version 1 or 2 "
                                                    "(--out overrides its output_dir)")
    src.add_argument("--batch", metavar="FILE",
                     help="CSV with a header or JSON lines: design, preset, color, template, "
                          "out (+ quality, angles, background, job_id); relative paths are "
                          "relative to the batch file")
    run = p.add_argument_group("run")
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    run.add_argument("--cpu", action="store_true", help="never use a GPU")
    run.add_argument("--turntable-method", choices=planning.TURNTABLE_METHODS, default="auto",
                     help=argparse.SUPPRESS)
    run.add_argument("--verbose", action="store_true",
                     help="show Blender's output and tracebacks on stderr")
    run.add_argument("--log-file", metavar="FILE", help="also write a detailed log here")
    return p


def check_sources(args: argparse.Namespace) -> None:
    """Refuse arguments that name the prints twice, each way a user may write them."""
    one_print = args.design is not None or args.preset is not None
    if args.batch and (args.spec or one_print or args.prints):
        raise errors.InvalidInput("--batch cannot be combined with --spec, --print or --design.",
                                  code="invalid_input")
    if args.spec and (one_print or args.prints):
        raise errors.InvalidInput("--spec carries its own prints; drop --print, --design and "
                                  "--preset.", code="invalid_input")
    if args.prints and one_print:
        raise errors.InvalidInput("Give the prints either with --print or with --design and "
                                  "--preset, not both.", code="invalid_input")


# ------------------------------------------------------------------------------------------
# --print


def _print_error(text: str, problem: str) -> errors.InvalidInput:
    return errors.InvalidInput(f"--print {text!r}: {problem}", code="invalid_input")


def _numbers(text: str, name: str, value: str, count: int) -> list[float]:
    shape = "two numbers X,Y in cm" if count == 2 else "a number"
    try:
        numbers = [float(part) for part in value.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) != count or not all(math.isfinite(n) for n in numbers):
        raise _print_error(text, f"{name} must be {shape}, not {value!r}.")
    return numbers


def parse_print(text: str) -> prints.PrintSpec:
    """One ``--print`` value as the print it asks for (the design path as written)."""
    drive = text[:2] if _DRIVE.match(text) else ""
    design, _, rest = text[len(drive):].partition(":")
    design = drive + design
    preset, *options = rest.split(":") if rest else [""]
    if not design.strip():
        raise _print_error(text, f"the design file is missing ({PRINT_SYNTAX}).")
    if not preset.strip():
        raise _print_error(text, f"the placement is missing after the design ({PRINT_SYNTAX}).")
    values: dict[str, Any] = {"design": design, "preset": preset.strip()}
    for option in options:
        name, equals, value = (part.strip() for part in option.partition("="))
        if name not in _PRINT_OPTIONS:
            raise _print_error(text, f"unknown part {option!r}; use offset=X,Y, scale=S or "
                                     f"rotate=D.")
        if not equals:
            raise _print_error(text, f"{name} needs a value ({_OPTION_SHAPES[name]}).")
        field = _PRINT_OPTIONS[name]
        if field in values:
            raise _print_error(text, f"{name} is given twice.")
        numbers = _numbers(text, name, value, 2 if name == "offset" else 1)
        values[field] = numbers if name == "offset" else numbers[0]
    return prints.PrintSpec.from_dict(values, f"--print {text!r}")


def _absolute(path: str) -> str:
    return str(Path(path).expanduser().absolute())


def _job_prints(args: argparse.Namespace) -> list[prints.PrintSpec]:
    if args.prints:
        return [parse_print(text) for text in args.prints]
    preset = args.preset or presets.DEFAULT_PRESET
    presets.get_preset(preset)  # raises unknown_preset with the list
    if not args.design:
        raise errors.InvalidInput("--design or --print is required.", code="invalid_input")
    return [prints.PrintSpec(design=args.design, preset=preset)]


# ------------------------------------------------------------------------------------------
# templates and colours


def template_ref(value: str, base: Path | None = None) -> str:
    """A template id as given, or a template folder (a value that reads as a path) as its
    absolute path, checked to hold a template."""
    if not re.search(r"[\\/]", value) and not value.startswith((".", "~")):
        return value
    folder = Path(value).expanduser()
    if base is not None and not folder.is_absolute():
        folder = base / folder
    folder = folder.absolute()
    templates.load_template(folder)  # unknown_template / invalid_template, naming the folder
    return templates.check_template_ref(str(folder))


def _template_default_color(template: str) -> str:
    try:
        if Path(template).is_absolute():
            return templates.load_template(template).default_color
        return templates.get_template(template).default_color
    except errors.TshirtError:
        return "#ffffff"


def _split_colors(value: str | None) -> list[tuple[str, colors.Color]]:
    if value is None:
        return []
    tokens = [t.strip() for t in value.split(",") if t.strip()]
    if not tokens:
        raise errors.InvalidInput("Give at least one colour.", code="invalid_color")
    seen: dict[str, tuple[str, colors.Color]] = {}
    for token in tokens:
        color = colors.parse_color(token)
        seen.setdefault(color.hex, (output_folder.colour_folder(token, color), color))
    return list(seen.values())


# ------------------------------------------------------------------------------------------
# specs


def _spec_dict(args: argparse.Namespace, *, job_prints: list[dict[str, Any]], color: str,
               template: str, out: str | None, **extra: Any) -> dict[str, Any]:
    if not out:
        raise errors.InvalidInput("--out is required.", code="invalid_input")
    data: dict[str, Any] = {
        "prints": [{**p, "design": _absolute(p["design"])} for p in job_prints],
        "color": color,
        "template": template,
        "output_dir": _absolute(out),
        "quality": args.quality,
        "angles": list(angles.parse_angles(args.angles)),
        "background": args.background,
        "animation": {"enabled": not args.no_animation, "frames": args.frames,
                      "fps": args.fps, "format": args.animation_format},
        "resolution": args.resolution,
        "samples": args.samples,
        "job_id": args.job_id,
    }
    for key, value in extra.items():
        if value not in (None, ""):
            data[key] = value
    if isinstance(data["angles"], str):
        data["angles"] = list(angles.parse_angles(data["angles"]))
    return data


def _spec_file(args: argparse.Namespace) -> contracts.RenderSpec:
    try:
        text = Path(args.spec).read_text(encoding="utf-8")
    except OSError as exc:
        raise errors.InvalidInput(f"Cannot read the spec file {args.spec}: {exc.strerror}.",
                                  code="file_not_found") from None
    spec = contracts.RenderSpec.from_json(text)
    if args.out:
        spec = contracts.RenderSpec.from_dict({**spec.to_dict(), "output_dir": _absolute(args.out)})
    return spec


def specs_from_args(args: argparse.Namespace) -> list[contracts.RenderSpec]:
    """One spec per requested colour (subfolders named by colour when there are several)."""
    check_sources(args)
    if args.spec:
        return [_spec_file(args)]
    job_prints = [p.to_dict() for p in _job_prints(args)]
    template = template_ref(args.template)
    picked = _split_colors(args.color)
    if not picked:
        default = _template_default_color(template)
        picked = [(default[1:], colors.parse_color(default))]
    specs = []
    for folder, color in picked:
        out = args.out if len(picked) == 1 or not args.out else str(Path(args.out) / folder)
        job_id = args.job_id if len(picked) == 1 or not args.job_id else f"{args.job_id}-{folder}"
        specs.append(contracts.RenderSpec.from_dict(_spec_dict(
            args, job_prints=job_prints, color=color.hex, template=template, out=out,
            job_id=job_id)))
    return specs


# ------------------------------------------------------------------------------------------
# batch files


def read_batch(path: str) -> Iterator[tuple[int, dict[str, str] | errors.TshirtError]]:
    """Rows of a batch file as dicts (or the error that row has), numbered from 1."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise errors.InvalidInput(f"Cannot read the batch file {path}: {exc.strerror}.",
                                  code="file_not_found") from None
    base = Path(path).absolute().parent
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and lines[0].lstrip().startswith("{"):
        rows: list[Any] = []
        for line in lines:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                rows.append(errors.InvalidInput(f"not valid JSON ({exc.msg})",
                                                code="invalid_spec"))
    else:
        reader = csv.DictReader(io.StringIO("\n".join(lines)))
        if not reader.fieldnames or "design" not in reader.fieldnames:
            raise errors.InvalidInput("The batch CSV needs a header row with at least "
                                      "design and out.", code="invalid_spec")
        rows = list(reader)
    for number, row in enumerate(rows, start=1):
        if isinstance(row, errors.TshirtError):
            yield number, row
            continue
        if not isinstance(row, dict):
            yield number, errors.InvalidInput("a row must be an object", code="invalid_spec")
            continue
        unknown = sorted(set(row) - set(BATCH_FIELDS) - {"colour"})
        if unknown:
            yield number, errors.InvalidInput(f"unknown column(s) {', '.join(map(str, unknown))}",
                                              code="invalid_spec")
            continue
        clean = {k: ("" if v is None else str(v)).strip() for k, v in row.items()}
        if "colour" in clean and not clean.get("color"):
            clean["color"] = clean.pop("colour")
        for key in ("design", "out"):
            if clean.get(key) and not Path(clean[key]).expanduser().is_absolute():
                clean[key] = str(base / clean[key])
        try:
            if clean.get("template"):
                clean["template"] = template_ref(clean["template"], base)
        except errors.TshirtError as error:
            yield number, error
            continue
        yield number, clean


def spec_from_row(args: argparse.Namespace, row: dict[str, str]) -> contracts.RenderSpec:
    template = row.get("template") or template_ref(args.template)
    color = row.get("color") or _template_default_color(template)
    preset = row.get("preset") or args.preset or presets.DEFAULT_PRESET
    if not row.get("design"):
        raise errors.InvalidInput("the row has no design.", code="invalid_input")
    data = _spec_dict(args, job_prints=[{"design": row["design"], "preset": preset}],
                      color=color, template=template, out=row.get("out"),
                      quality=row.get("quality"), angles=row.get("angles"),
                      background=row.get("background"), job_id=row.get("job_id"))
    return contracts.RenderSpec.from_dict(data)
