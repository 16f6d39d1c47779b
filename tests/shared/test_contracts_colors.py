"""Several colours in one RenderSpec and its Manifest (issue 15 part 1): `colors` normalised and
bounded, version-1 documents (one colour, no `colors`) read and written as before, and outputs
in their colour's folder listed by colour."""

import json

import pytest

from shared.contracts import Manifest, OutputFile, RenderSpec
from shared.errors import InvalidInput
from shared.job_colors import MAX_COLORS, color_dir
from shared.validation import file_sha256

V1 = {"design": "d.png", "preset": "chest-small", "color": "#ff0000", "output_dir": "out",
      "spec_version": 1}


def test_a_version_1_spec_reads_and_writes_as_before():
    spec = RenderSpec.from_dict(V1)
    assert spec.colors == () and spec.all_colors == ("#ff0000",)
    assert "colors" not in spec.to_dict()
    assert RenderSpec.from_json(spec.to_json()) == spec


def test_colors_are_normalised_and_the_first_is_color():
    spec = RenderSpec.from_dict({**V1, "colors": ["#FF0000", "#1B2A4A", "#f00", "#fff"]})
    assert spec.colors == ("#ff0000", "#1b2a4a", "#ffffff") == spec.all_colors
    assert spec.to_dict()["colors"] == ["#ff0000", "#1b2a4a", "#ffffff"]
    assert RenderSpec.from_json(spec.to_json()) == spec
    assert RenderSpec.from_dict({**V1, "colors": ["#f00"]}).colors == ()
    assert color_dir("#1B2A4A") == "1b2a4a"


@pytest.mark.parametrize("colors,fragment", [
    (["navy", "#ff0000"], "first of 'colors'"),
    ([], "list of colours"),
    ("red,navy", "must be list or tuple"),
    (["#ff0000", 3], "list of colours"),
    (["#ff0000", "nope"], "not a colour"),
    (["#ff0000"] + [f"#{i:06x}" for i in range(1, MAX_COLORS + 1)], "at most 12"),
])
def test_bad_colors(colors, fragment):
    with pytest.raises(InvalidInput, match=fragment):
        RenderSpec.from_dict({**V1, "colors": colors})


def several_colour_outputs(directory):
    spec = RenderSpec.from_dict({**V1, "output_dir": str(directory), "colors": ["#ff0000", "navy"],
                                 "angles": ["front_0deg"]})
    outputs = []
    for color in spec.colors:
        folder = directory / color_dir(color)
        folder.mkdir(parents=True)
        for name, kind, angle in (("front_0deg.png", "still", "front_0deg"),
                                  ("turntable.mp4", "animation", None)):
            path = folder / name
            path.write_bytes(color.encode() + name.encode())
            outputs.append(OutputFile(kind=kind, file=f"{folder.name}/{name}", width=8,
                                      height=8, sha256=file_sha256(path),
                                      size_bytes=path.stat().st_size, angle=angle,
                                      color=color))
    return Manifest(spec=spec, blender_version="5.0.1", outputs=tuple(outputs),
                    timings={"total": 1.0}, created_at="2026-12-01T00:00:00Z")


def test_a_several_colour_manifest_lists_outputs_by_colour(tmp_path):
    manifest = several_colour_outputs(tmp_path)
    loaded = Manifest.from_json(manifest.to_json())
    assert loaded == manifest
    loaded.verify(tmp_path)
    assert loaded.stills_of("#1f2a44")["front_0deg"].file == "1f2a44/front_0deg.png"
    assert loaded.stills["front_0deg"].file == "ff0000/front_0deg.png"  # the first colour
    assert loaded.animation_of("#1f2a44").file == "1f2a44/turntable.mp4"
    assert loaded.outputs_of("#ffffff") == ()


@pytest.mark.parametrize("mutate,fragment", [
    (lambda m: m["outputs"][0].update(file="1f2a44/front_0deg.png"), "colour's folder"),
    (lambda m: m["outputs"][0].update(file="../ff0000/front_0deg.png"), "colour's folder"),
    (lambda m: m["outputs"][0].update(file="ff0000/x/front_0deg.png"), "colour's folder"),
    (lambda m: m["outputs"][0].update(file="ff0000/.."), "colour's folder"),
    (lambda m: m["outputs"][0].update(color="#ffffff", file="ffffff/a.png"), "spec's colours"),
    (lambda m: m["outputs"][0].pop("color"), "colour's folder"),
    (lambda m: m["spec"].pop("colors"), "spec's colours"),
])
def test_malformed_several_colour_manifests(tmp_path, mutate, fragment):
    data = several_colour_outputs(tmp_path).to_dict()
    mutate(data)
    with pytest.raises(InvalidInput, match=fragment):
        Manifest.from_json(json.dumps(data))


def test_a_one_colour_output_has_no_color_field():
    output = OutputFile(kind="still", file="a.png", width=1, height=1, sha256="0" * 64,
                        size_bytes=1, angle="front_0deg")
    assert "color" not in output.to_dict()
