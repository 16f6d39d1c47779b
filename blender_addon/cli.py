"""Headless command line: render one job, several colours, a spec file or a batch.

Runs three ways with the same arguments:

    python -m blender_addon.cli ARGS            (the `bpy` wheel)
    tshirt-render ARGS                          (console script)
    blender -b --factory-startup --python-exit-code 1 --python blender_addon/cli.py -- ARGS

stdout carries only progress events (JSON lines) and the result (one line, or JSON with
`--json`); Blender's own chatter goes to /dev/null (to stderr with `--verbose`). Every failure
is one line on stderr and an exit code from `shared.errors.EXIT_CODES`; a design that will not
print sharp is one warning line on stderr too (and `warnings` in the result).
"""

from __future__ import annotations

import sys

if __name__ == "__main__" and not __package__:
    # Run by Blender as a plain script: import this file's package by its folder name, which is
    # `blender_addon` in the repository and the extension's id inside an installed extension.
    import importlib
    from pathlib import Path as _Path

    _here = _Path(__file__).resolve().parent
    sys.path.insert(0, str(_here.parent))
    raise SystemExit(importlib.import_module(f"{_here.name}.cli").main())

import argparse
import contextlib
import csv
import io
import json
import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from ._shared import angles, colors, contracts, errors, presets, quality
from .core import colour_run, output_folder, planning

_log = logging.getLogger("blender_addon.cli")
PROG = "tshirt-render"
BATCH_FIELDS = ("design", "preset", "color", "template", "out", "quality", "angles",
                "background", "job_id")
# exit status of a batch in which at least one row failed (the rows say why)
BATCH_FAILED_EXIT = 1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + message
        raise errors.InvalidInput(f"{message} (see {PROG} --help)", code="invalid_input")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Render T-shirt product images with Blender.")
    job = p.add_argument_group("job")
    job.add_argument("--design", help="design image (PNG or JPEG)")
    job.add_argument("--preset", default=presets.DEFAULT_PRESET,
                     help=f"print placement: {', '.join(presets.PRESET_IDS)} "
                          f"(default {presets.DEFAULT_PRESET})")
    job.add_argument("--color", help="shirt colour(s): #RGB, #RRGGBB or a CSS name; several "
                                     "separated by commas render one subfolder each "
                                     "(default: the template's colour)")
    job.add_argument("--template", default=contracts.DEFAULT_TEMPLATE,
                     help=f"shirt template id (default {contracts.DEFAULT_TEMPLATE})")
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
    src.add_argument("--spec", metavar="FILE", help="a RenderSpec JSON file (--out overrides "
                                                    "its output_dir)")
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


# ------------------------------------------------------------------------------------------
# output plumbing


@dataclass
class Streams:
    out: TextIO
    err: TextIO


def _redirect_blender_output(verbose: bool) -> Streams:
    """Keep stdout for events and results: Blender's C-level prints go elsewhere."""
    sys.stdout.flush()
    sys.stderr.flush()
    out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    err = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8")
    if verbose:
        os.dup2(2, 1)
    else:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.close(devnull)
    sys.stdout, sys.stderr = out, err
    return Streams(out, err)


def _setup_logging(streams: Streams, verbose: bool, log_file: str | None) -> None:
    root = logging.getLogger()
    root.handlers.clear()
    console = logging.StreamHandler(streams.err)
    console.setLevel(logging.DEBUG if verbose else logging.CRITICAL + 1)
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(console)
    if log_file:
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if (verbose or log_file) else logging.WARNING)


def _fail_line(error: errors.TshirtError) -> str:
    return f"{PROG}: error ({error.code}): {error.message}".replace("\n", " ")


# ------------------------------------------------------------------------------------------
# specs


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


def _template_default_color(template_id: str) -> str:
    from ._shared import templates

    try:
        return templates.get_template(template_id).default_color
    except errors.TshirtError:
        return "#ffffff"


def _spec_dict(args: argparse.Namespace, *, design: str | None, preset: str, color: str,
               template: str, out: str | None, **extra: Any) -> dict[str, Any]:
    if not design:
        raise errors.InvalidInput("--design is required.", code="invalid_input")
    if not out:
        raise errors.InvalidInput("--out is required.", code="invalid_input")
    data: dict[str, Any] = {
        "design": str(Path(design).expanduser().absolute()),
        "preset": preset,
        "color": color,
        "template": template,
        "output_dir": str(Path(out).expanduser().absolute()),
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


def specs_from_args(args: argparse.Namespace) -> list[contracts.RenderSpec]:
    """One spec per requested colour (subfolders named by colour when there are several)."""
    if args.spec:
        try:
            text = Path(args.spec).read_text(encoding="utf-8")
        except OSError as exc:
            raise errors.InvalidInput(f"Cannot read the spec file {args.spec}: "
                                      f"{exc.strerror}.", code="file_not_found") from None
        spec = contracts.RenderSpec.from_json(text)
        if args.out:
            spec = contracts.RenderSpec.from_dict(
                {**spec.to_dict(), "output_dir": str(Path(args.out).absolute())})
        return [spec]
    if args.preset not in presets.PRESETS:
        presets.get_preset(args.preset)  # raises unknown_preset with the list
    picked = _split_colors(args.color)
    if not picked:
        default = _template_default_color(args.template)
        picked = [(default[1:], colors.parse_color(default))]
    specs = []
    for folder, color in picked:
        out = args.out if len(picked) == 1 or not args.out else str(Path(args.out) / folder)
        job_id = args.job_id if len(picked) == 1 or not args.job_id else f"{args.job_id}-{folder}"
        specs.append(contracts.RenderSpec.from_dict(_spec_dict(
            args, design=args.design, preset=args.preset, color=color.hex,
            template=args.template, out=out, job_id=job_id)))
    return specs


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
        yield number, clean


def spec_from_row(args: argparse.Namespace, row: dict[str, str]) -> contracts.RenderSpec:
    template = row.get("template") or args.template
    color = row.get("color") or _template_default_color(template)
    data = _spec_dict(args, design=row.get("design"), preset=row.get("preset") or args.preset,
                      color=color, template=template, out=row.get("out"),
                      quality=row.get("quality"), angles=row.get("angles"),
                      background=row.get("background"), job_id=row.get("job_id"))
    return contracts.RenderSpec.from_dict(data)


# ------------------------------------------------------------------------------------------
# running


def _summary(manifest: contracts.Manifest, seconds: float) -> str:
    stills = sum(1 for o in manifest.outputs if o.kind == "still")
    anim = manifest.animation
    frames = sum(1 for o in manifest.outputs if o.kind == "frame")
    extra = f" + {anim.file}" if anim else (f" + {frames} turntable frames" if frames else "")
    return (f"Rendered {stills} image{'s' if stills != 1 else ''}{extra} in {seconds:.1f} s on "
            f"{manifest.device}: {manifest.spec.output_dir} ({contracts.MANIFEST_NAME})")


def _result(manifest: contracts.Manifest, seconds: float) -> dict[str, Any]:
    return {
        "ok": True,
        "output_dir": manifest.spec.output_dir,
        "manifest": str(Path(manifest.spec.output_dir) / contracts.MANIFEST_NAME),
        "color": manifest.spec.color, "colors": list(manifest.spec.all_colors),
        "files": [o.file for o in manifest.outputs],
        "device": manifest.device,
        "timings": manifest.timings,
        "seconds": round(seconds, 3),
        "job_id": manifest.spec.job_id,
        "design": asdict(manifest.design) if manifest.design else None,
        "warnings": list(manifest.warnings),
    }


def _warn(streams: Streams, warnings: Sequence[str], where: str = "") -> None:
    for warning in warnings:
        streams.err.write(f"{PROG}: warning: {where}{warning}\n")


def _run_specs(renderer, specs: Sequence[contracts.RenderSpec], args, streams: Streams) -> int:
    if len(specs) > 1:  # colour subfolders: the folder above is no render's, clear it here
        output_folder.remove_earlier_renders(Path(args.out))
    results: list[dict[str, Any]] = []
    for spec in specs:
        t = time.monotonic()
        manifest = colour_run.render_colours(renderer, spec)  # a spec's colours: one scene
        # every colour has the same design and placement: say it once
        _warn(streams, [] if results else manifest.warnings)
        results.append(_result(manifest, time.monotonic() - t))
        if not args.json:
            streams.out.write(_summary(manifest, time.monotonic() - t) + "\n")
    if args.json:
        streams.out.write(json.dumps(results[0] if len(results) == 1 else
                                     {"ok": True, "jobs": results}) + "\n")
    return 0


def _run_batch(renderer, args, streams: Streams) -> int:
    ok = failed = 0
    for number, row in read_batch(args.batch):
        t = time.monotonic()
        try:
            if isinstance(row, errors.TshirtError):
                raise row
            manifest = renderer.render(spec_from_row(args, row))
        except errors.RenderCancelled:
            raise
        except errors.TshirtError as error:
            failed += 1
            line: dict[str, Any] = {"row": number, "ok": False, **error.to_dict()}
            text = f"row {number}: failed ({error.code}): {error.message}"
        except Exception as error:  # noqa: BLE001 - one bad row must not stop the batch
            _log.exception("batch row %d crashed", number)
            failed += 1
            line = {"row": number, "ok": False, "code": "render_failed", "message": str(error)}
            text = f"row {number}: failed (render_failed): {type(error).__name__}: {error}"
        else:
            ok += 1
            _warn(streams, manifest.warnings, f"row {number}: ")
            line = {"row": number, **_result(manifest, time.monotonic() - t)}
            text = f"row {number}: ok: " + _summary(manifest, time.monotonic() - t)
        streams.out.write((json.dumps(line) if args.json else text) + "\n")
        streams.out.flush()
    summary = {"batch": args.batch, "rows": ok + failed, "ok": ok, "failed": failed}
    streams.out.write((json.dumps(summary) if args.json else
                       f"batch: {ok + failed} rows, {ok} ok, {failed} failed") + "\n")
    return BATCH_FAILED_EXIT if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    verbose = "--verbose" in argv
    want_json = "--json" in argv
    streams = Streams(sys.stdout, sys.stderr)
    try:
        args = build_parser().parse_args(list(argv))
        if args.batch and (args.spec or args.design):
            raise errors.InvalidInput("--batch cannot be combined with --spec or --design.",
                                      code="invalid_input")
        specs = [] if args.batch else specs_from_args(args)
        streams = _redirect_blender_output(verbose)
        _setup_logging(streams, verbose, args.log_file)
        return _render(args, specs, streams)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except errors.TshirtError as error:
        return _report(error, streams, want_json)
    except KeyboardInterrupt:
        return _report(errors.RenderCancelled("Cancelled."), streams, want_json)
    except Exception as error:  # noqa: BLE001 - the one place that turns crashes into a line
        _log.exception("unexpected error")
        return _report(errors.RenderFailed(f"unexpected {type(error).__name__}: {error}"),
                       streams, want_json)


def _report(error: errors.TshirtError, streams: Streams, want_json: bool) -> int:
    with contextlib.suppress(Exception):
        if want_json:
            streams.out.write(json.dumps({"ok": False, **error.to_dict()}) + "\n")
        streams.err.write(_fail_line(error) + "\n")
        streams.out.flush()
        streams.err.flush()
    return error.exit_code


def _render(args: argparse.Namespace, specs: list[contracts.RenderSpec], streams: Streams) -> int:
    from .core.jobfiles import Cancellation
    from .render.renderer import Renderer

    renderer = Renderer(allow_gpu=not args.cpu, events=streams.out,
                        turntable_method=args.turntable_method)

    def on_cancel() -> None:
        reporter = renderer.current_reporter
        if reporter is not None:
            with contextlib.suppress(Exception):
                reporter.emit("cancelled", "cancelled by a signal")
        streams.err.write(f"{PROG}: error (cancelled): the render was cancelled.\n")

    # left before Python shuts down (see Cancellation): Blender 4.2 crashes on exit otherwise
    with Cancellation(on_cancel) as cancellation:
        cancellation.current = _FilesProxy(renderer)  # type: ignore[assignment]
        if args.batch:
            return _run_batch(renderer, args, streams)
        return _run_specs(renderer, specs, args, streams)


class _FilesProxy:
    """The cancel watcher's view of whichever job is running now."""

    def __init__(self, renderer) -> None:
        self._renderer = renderer

    @property
    def lock(self):
        files = self._renderer.current_files
        return files.lock if files is not None else threading.Lock()  # one nobody holds

    def remove_all(self) -> None:
        files = self._renderer.current_files
        if files is not None:
            files.remove_all()


if __name__ == "__main__":
    raise SystemExit(main())
