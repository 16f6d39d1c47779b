"""An output folder belongs to its job: a render removes the files an earlier render left there
(the files its manifest lists, the manifest, the colour subfolders of a several-colour run)
and nothing else; a manifest it cannot read is refused with the output folder's exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from render_helpers import FAST, run_cli

from blender_addon.core import manifest_writer
from blender_addon.core.output_folder import remove_earlier_renders
from shared.contracts import MANIFEST_NAME, Manifest, RenderSpec
from shared.errors import EXIT_CODES, InvalidInput


def _fake_render(folder: Path, *names: str) -> None:
    """What a render leaves: its files and a manifest that lists them."""
    folder.mkdir(parents=True, exist_ok=True)
    outputs = []
    for name in names:
        (folder / name).write_bytes(b"png " + name.encode())
        outputs.append(manifest_writer.describe(folder / name, "still", size=(8, 8)))
    spec = RenderSpec.from_dict({"design": str(folder / "d.png"), "preset": "chest-small",
                                 "color": "#123456", "output_dir": str(folder)})
    manifest = manifest_writer.build_manifest(spec, "5.0.1", outputs, {}, "CPU")
    (folder / MANIFEST_NAME).write_text(manifest.to_json())


def test_only_the_earlier_renders_files_go(tmp_path):
    out = tmp_path / "out"
    _fake_render(out, "front_0deg.png", "back_180deg.png")
    _fake_render(out / "navy", "front_0deg.png")
    _fake_render(out / "c8102e", "front_0deg.png")
    (out / "c8102e" / "notes.txt").write_text("mine")
    _fake_render(out / "my-other-job", "front_0deg.png")  # not named like a colour: not ours
    (out / "design.png").write_bytes(b"the artist's own file")
    (out / "left_90deg.png").write_bytes(b"not in the manifest")
    remove_earlier_renders(out)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "c8102e", "c8102e/notes.txt", "design.png", "left_90deg.png", "my-other-job",
        "my-other-job/front_0deg.png", f"my-other-job/{MANIFEST_NAME}"]
    remove_earlier_renders(tmp_path / "missing")  # nothing there: nothing to do


def test_a_manifest_it_cannot_read_is_refused_and_nothing_removed(tmp_path):
    (tmp_path / "front_0deg.png").write_bytes(b"x")
    (tmp_path / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(InvalidInput) as caught:
        remove_earlier_renders(tmp_path)
    assert caught.value.code == "output_not_writable" and "remove it" in caught.value.message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["front_0deg.png", MANIFEST_NAME]


def _cli(design: Path, out: Path, *extra: str):
    result = run_cli("--design", str(design), "--preset", "chest-large", "--out", str(out),
                     *FAST, "--no-animation", *extra)
    assert result.returncode == 0, result.stderr
    return result


def _tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


@pytest.mark.bpy42
def test_rendering_again_into_a_folder_replaces_the_earlier_render(designs, tmp_path):
    """Fewer angles, then several colours, then one colour again: each time the folder holds
    the new render and the artist's own file, never an earlier render's angles."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("the artist's own file")
    design = designs["magenta"]
    _cli(design, out, "--angles", "front_0deg,back_180deg")
    _cli(design, out, "--angles", "front_0deg", "--color", "red,navy")
    assert _tree(out) == ["navy", "navy/front_0deg.png", f"navy/{MANIFEST_NAME}", "notes.txt",
                          "red", "red/front_0deg.png", f"red/{MANIFEST_NAME}"]
    # a 200 px design across a 12 in print: 17 DPI, and the CLI says so
    result = _cli(design, out, "--angles", "left_90deg", "--json")
    assert _tree(out) == ["left_90deg.png", MANIFEST_NAME, "notes.txt"]
    Manifest.load(out).verify(out)
    warning = ("The design is 17 DPI at its printed size and will print blurry: 150 DPI is the "
               "minimum, 300 ideal.")
    assert result.stderr.splitlines() == [f"tshirt-render: warning: {warning}"]
    payload = json.loads(result.stdout.splitlines()[-1])
    assert payload["warnings"] == [warning] == list(Manifest.load(out).warnings)
    design = {"width": 200, "height": 200, "dpi": 16.7, "preset": "chest-large"}
    assert {k: payload["design"][k] for k in design} == design
    assert payload["prints"] == [payload["design"]]


@pytest.mark.bpy42
def test_an_unreadable_manifest_stops_the_render_with_one_line(designs, tmp_path):
    (tmp_path / MANIFEST_NAME).write_text("{}")
    result = run_cli("--design", str(designs["magenta"]), "--out", str(tmp_path), *FAST,
                     "--no-animation", "--angles", "front_0deg")
    assert result.returncode == EXIT_CODES["output_not_writable"], result.stderr
    assert len(result.stderr.splitlines()) == 1 and "(output_not_writable)" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST_NAME]
