"""RenderSpec, progress events and the Manifest: JSON round trips and strict parsing."""

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.angles import ANGLE_IDS
from shared.contracts import (
    MANIFEST_NAME,
    SPEC_VERSION,
    AnimationSpec,
    Manifest,
    OutputFile,
    ProgressEvent,
    RenderSpec,
    parse_event_line,
)
from shared.errors import InvalidInput
from shared.presets import PRESET_IDS
from shared.validation import file_sha256

MINIMAL = {"design": "d.png", "preset": "chest-small", "color": "navy", "output_dir": "out"}


def spec_error(data) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        RenderSpec.from_dict(data)
    return info.value


def test_minimal_spec_gets_the_documented_defaults():
    spec = RenderSpec.from_dict(MINIMAL)
    assert spec.color == "#1f2a44"
    assert spec.angles == ANGLE_IDS
    assert spec.animation == AnimationSpec(enabled=True, frames=120, fps=24, format="mp4")
    assert (spec.quality, spec.background, spec.template) == ("standard", "transparent",
                                                              "classic-tee")
    assert spec.spec_version == SPEC_VERSION and spec.job_id is None


def test_round_trip_through_json():
    spec = RenderSpec.from_dict({
        **MINIMAL, "angles": ["back_180deg", "front_0deg"], "quality": "preview",
        "background": "#EEE", "resolution": 64, "samples": 2, "job_id": "rjob_01ABC",
        "animation": {"enabled": False, "frames": 12, "fps": 12, "format": "png"},
    })
    assert spec.angles == ("front_0deg", "back_180deg") and spec.background == "#eeeeee"
    assert RenderSpec.from_json(spec.to_json()) == spec
    assert json.loads(spec.to_json())["animation"]["format"] == "png"


@pytest.mark.parametrize("background,expected", [
    ("transparent", "transparent"), ("Studio", "studio"), ("white", "#ffffff"),
])
def test_backgrounds(background, expected):
    assert RenderSpec.from_dict({**MINIMAL, "background": background}).background == expected


@pytest.mark.parametrize("change,code,fragment", [
    ({"colour": "red"}, "invalid_spec", "Unknown field(s) in render spec: colour"),
    ({"preset": "chest-huge"}, "unknown_preset", "chest-huge"),
    ({"color": "#12"}, "invalid_color", "'#12'"),
    ({"angles": ["top"]}, "invalid_input", "'top'"),
    ({"angles": "front_0deg"}, "invalid_spec", "'angles'"),
    ({"angles": [1]}, "invalid_spec", "angle ids"),
    ({"quality": "ultra"}, "invalid_input", "ultra"),
    ({"background": "plaid"}, "invalid_color", "plaid"),
    ({"resolution": 0}, "invalid_spec", "between 16"),
    ({"resolution": True}, "invalid_spec", "'resolution' must be int"),
    ({"samples": "16"}, "invalid_spec", "'samples' must be int"),
    ({"design": 5}, "invalid_spec", "'design' must be str"),
    ({"design": "  "}, "invalid_spec", "must not be empty"),
    ({"job_id": "../x"}, "invalid_id", "job id"),
    ({"template": "a/b"}, "invalid_id", "template id"),
    ({"animation": {"frames": 1}}, "invalid_spec", "'frames'"),
    ({"animation": {"format": "gif"}}, "invalid_spec", "gif"),
    ({"animation": {"loop": True}}, "invalid_spec", "loop"),
    ({"animation": []}, "invalid_spec", "JSON object"),
    ({"spec_version": 3}, "invalid_spec", "version 3"),
    ({"spec_version": "1"}, "invalid_spec", "spec_version"),
])
def test_bad_specs_name_the_problem(change, code, fragment):
    error = spec_error({**MINIMAL, **change})
    assert error.code == code
    assert fragment in error.message


@pytest.mark.parametrize("field", sorted(MINIMAL))
def test_missing_required_field(field):
    data = dict(MINIMAL)
    del data[field]
    error = spec_error(data)
    suffix = " (or 'prints')" if field in ("design", "preset") else ""
    assert error.message == f"Missing field(s) in render spec: {field}{suffix}."


@pytest.mark.parametrize("text", ["", "{", "[]", "null", "\"spec\""])
def test_not_json_or_not_an_object(text):
    with pytest.raises(InvalidInput) as info:
        RenderSpec.from_json(text)
    assert info.value.code == "invalid_spec"


@given(st.dictionaries(st.text(max_size=12), st.one_of(st.none(), st.integers(), st.text()),
                       max_size=6))
def test_arbitrary_objects_never_raise_anything_but_invalid_input(data):
    with contextlib.suppress(InvalidInput):
        RenderSpec.from_dict(data)


@given(st.sampled_from(PRESET_IDS), st.lists(st.sampled_from(ANGLE_IDS), min_size=1),
       st.integers(2, 200), st.sampled_from(["mp4", "png"]))
def test_valid_specs_round_trip(preset, angles, frames, fmt):
    spec = RenderSpec.from_dict({**MINIMAL, "preset": preset, "angles": angles,
                                 "animation": {"frames": frames, "format": fmt}})
    assert RenderSpec.from_json(spec.to_json()) == spec


def test_progress_event_lines():
    event = ProgressEvent("rendering", images_done=2, images_total=6, item="left_90deg",
                          message="Rendered left_90deg", elapsed_s=3.5)
    line = event.to_json_line()
    assert line.endswith("\n") and "\n" not in line[:-1]
    assert parse_event_line(line) == event
    assert parse_event_line(line.encode()) == event


@pytest.mark.parametrize("line", [
    "Fra:1 Mem:12.00M | Sample 1/16", "", "{not json", '{"event": "other"}', "[1, 2]",
    'Saved: "/tmp/front.png"',
])
def test_other_stdout_lines_are_ignored(line):
    assert parse_event_line(line) is None


def test_malformed_progress_events_are_errors():
    with pytest.raises(InvalidInput, match="stage"):
        parse_event_line('{"event": "tshirt.progress", "stage": "dancing"}')
    with pytest.raises(InvalidInput, match="images_done"):
        parse_event_line('{"event": "tshirt.progress", "stage": "rendering", "images_done": -1}')


def write_outputs(directory):
    outputs = []
    for angle in ("front_0deg", "back_180deg"):
        path = directory / f"{angle}.png"
        path.write_bytes(angle.encode() * 10)
        outputs.append(OutputFile(kind="still", file=path.name, width=64, height=64,
                                  sha256=file_sha256(path), size_bytes=path.stat().st_size,
                                  angle=angle))
    video = directory / "turntable.mp4"
    video.write_bytes(b"\0\0\0\x18ftypmp42")
    outputs.append(OutputFile(kind="animation", file=video.name, width=48, height=48,
                              sha256=file_sha256(video), size_bytes=video.stat().st_size))
    spec = RenderSpec.from_dict({**MINIMAL, "output_dir": str(directory),
                                 "angles": ["front_0deg", "back_180deg"]})
    manifest = Manifest(spec=spec, blender_version="5.0.1", outputs=tuple(outputs),
                        timings={"compositing": 0.5, "stills": 2.0, "total": 3.25},
                        created_at="2026-11-28T12:00:00Z")
    (directory / MANIFEST_NAME).write_text(manifest.to_json())
    return manifest


def test_manifest_round_trip_and_verify(tmp_path):
    manifest = write_outputs(tmp_path)
    loaded = Manifest.load(tmp_path)
    assert loaded == manifest
    assert set(loaded.stills) == {"front_0deg", "back_180deg"}
    assert loaded.animation.file == "turntable.mp4"
    loaded.verify(tmp_path)


def test_manifest_verify_finds_missing_and_changed_files(tmp_path):
    manifest = write_outputs(tmp_path)
    (tmp_path / "front_0deg.png").write_bytes(b"front_0degX" * 10)
    (tmp_path / "turntable.mp4").unlink()
    with pytest.raises(InvalidInput) as info:
        manifest.verify(tmp_path)
    assert info.value.code == "manifest_mismatch"
    assert "front_0deg.png has the wrong size" in info.value.message
    assert "turntable.mp4 is missing" in info.value.message
    (tmp_path / "front_0deg.png").write_bytes(b"X" * 100)  # same size, other bytes
    with pytest.raises(InvalidInput, match="does not match its sha256"):
        manifest.verify(tmp_path)


@pytest.mark.parametrize("mutate,fragment", [
    (lambda m: m["outputs"][0].update(file="../../etc/passwd"), "plain file name"),
    (lambda m: m["outputs"][0].update(file="a/b.png"), "plain file name"),
    (lambda m: m["outputs"][0].update(sha256="abc"), "invalid sha256"),
    (lambda m: m["outputs"][0].update(kind="thumbnail"), "thumbnail"),
    (lambda m: m["outputs"][0].update(angle="top"), "unknown angle"),
    (lambda m: m["outputs"].append(dict(m["outputs"][0])), "same file twice"),
    (lambda m: m.pop("outputs"), "Missing field(s) in manifest: outputs"),
    (lambda m: m.update(extra=1), "Unknown field(s) in manifest: extra"),
    (lambda m: m["timings"].update(total="3s"), "timings.total"),
])
def test_malformed_manifests(tmp_path, mutate, fragment):
    data = write_outputs(tmp_path).to_dict()
    mutate(data)
    with pytest.raises(InvalidInput) as info:
        Manifest.from_json(json.dumps(data))
    assert fragment in info.value.message


def test_missing_manifest(tmp_path):
    with pytest.raises(InvalidInput, match="No readable manifest"):
        Manifest.load(tmp_path)
