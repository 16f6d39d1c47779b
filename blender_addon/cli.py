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
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from ._shared import contracts, errors
from .core import colour_run, output_folder
from .core.cli_specs import (
    PROG,
    build_parser,
    check_sources,
    read_batch,
    spec_from_row,
    specs_from_args,
)

_log = logging.getLogger("blender_addon.cli")
# exit status of a batch in which at least one row failed (the rows say why)
BATCH_FAILED_EXIT = 1


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
        "prints": [asdict(p) for p in manifest.prints],
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
        if args.batch:
            check_sources(args)
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
