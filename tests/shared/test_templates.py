"""The template registry that the renderer, the add-on and the service all read, and the checks
a foreign model file passes before Blender opens it."""

import gzip
import json
import struct

import pytest

from shared import template_files
from shared.errors import EXIT_CODES, FileTooLarge, InvalidInput
from shared.presets import PRESET_IDS
from shared.templates import (
    GENERATORS,
    default_templates_root,
    discover_templates,
    get_template,
    load_template,
)

VALID = {
    "id": "my-tee", "name": "My tee", "model": {"kind": "blend", "file": "shirt.blend",
                                                "object": "Shirt"},
    "uv_map": "Print", "material_slot": "Fabric", "supported_presets": ["chest-small"],
    "default_color": "Navy",
}
#: What a foreign model needs and nothing more.
MINIMAL_GLTF = {
    "id": "my-tee", "name": "My tee", "model": {"kind": "gltf", "file": "shirt.glb"},
    "supported_presets": ["chest-medium", "back-medium"], "default_color": "#ffffff",
}


def glb(document=None, *, version=2, length_delta=0) -> bytes:
    """A binary glTF: header and one JSON chunk (padded to 4 bytes as the format wants)."""
    body = json.dumps(document or {"asset": {"version": "2.0"}}).encode()
    body += b" " * (-len(body) % 4)
    total = 12 + 8 + len(body)
    return (struct.pack("<4sII", b"glTF", version, total + length_delta)
            + struct.pack("<II", len(body), 0x4E4F534A) + body)


def zstd_like(frames: int = 1) -> bytes:
    """A zstd frame's magic and Blender's seek table at the end (the structure check's view)."""
    table = struct.pack("<II", 10, 100) * frames + struct.pack("<IBI", frames, 0, 0x8F92EAB1)
    return b"\x28\xb5\x2f\xfd" + b"\0" * 10 + struct.pack("<II", 0x184D2A5E, len(table)) + table


def write_template(root, data, folder="my-tee", files=None):
    directory = root / folder
    directory.mkdir(parents=True)
    (directory / "template.json").write_text(json.dumps(data))
    for name, content in (files if files is not None else {"shirt.blend": b"BLENDER"}).items():
        (directory / name).write_bytes(content)
    return directory


def refusal(directory) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        load_template(directory)
    return info.value


def test_bundled_classic_tee():
    templates = discover_templates()
    assert "classic-tee" in templates
    tee = templates["classic-tee"]
    assert (tee.model_kind, tee.generator, tee.uv_map, tee.material_slot) == (
        "procedural", "classic_tee", "Print", "Fabric")
    assert set(tee.supported_presets) <= set(PRESET_IDS)
    assert tee.directory == default_templates_root() / "classic-tee"
    assert tee.model_file is None and tee.landmarks == {} and tee.reference_size == "L"
    assert "directory" not in tee.to_dict() and tee.to_dict()["id"] == "classic-tee"


def test_the_long_sleeve_generator_is_known(tmp_path):
    assert GENERATORS == ("classic_tee", "long_sleeve_tee")
    write_template(tmp_path, {**VALID, "model": {"kind": "procedural",
                                                 "generator": "long_sleeve_tee"}}, files={})
    assert get_template("my-tee", tmp_path).generator == "long_sleeve_tee"


def test_a_template_says_its_fabric(tmp_path):
    assert get_template("classic-tee").fabric == "jersey"
    write_template(tmp_path, {**VALID, "fabric": "heather"})
    assert get_template("my-tee", tmp_path).fabric == "heather"


def test_an_unknown_fabric_is_refused(tmp_path):
    write_template(tmp_path, {**VALID, "fabric": "velvet"})
    with pytest.raises(InvalidInput, match="'fabric' must be one of jersey, heather"):
        get_template("my-tee", tmp_path)


def test_an_artists_blend_template(tmp_path):
    write_template(tmp_path, VALID)
    template = get_template("my-tee", tmp_path)
    assert template.model_file == tmp_path / "my-tee" / "shirt.blend"
    assert template.object_name == "Shirt" and template.default_color == "#1f2a44"


def test_a_minimal_gltf_template(tmp_path):
    write_template(tmp_path, MINIMAL_GLTF, files={"shirt.glb": glb()})
    template = get_template("my-tee", tmp_path)
    assert (template.model_kind, template.model_file) == ("gltf", tmp_path / "my-tee/shirt.glb")
    assert (template.uv_map, template.material_slot, template.object_name) == (None, None, None)
    assert template.landmarks == {} and template.reference_size == "L"
    assert template.to_dict()["material_slot"] is None


def test_a_minimal_blend_template(tmp_path):
    data = {**MINIMAL_GLTF, "model": {"kind": "blend", "file": "g.blend", "object": "Tee"}}
    write_template(tmp_path, data, files={"g.blend": b"BLENDER17-01v0500REND"})
    template = load_template(tmp_path / "my-tee")
    assert (template.model_kind, template.object_name, template.uv_map) == ("blend", "Tee", None)


def test_a_gltf_may_name_its_one_mesh_and_a_fabric_slot(tmp_path):
    data = {**MINIMAL_GLTF, "model": {"kind": "gltf", "file": "shirt.glb", "object": "Body"},
            "material_slot": "Cotton"}
    write_template(tmp_path, data, files={"shirt.glb": glb()})
    template = load_template(tmp_path / "my-tee")
    assert (template.object_name, template.material_slot) == ("Body", "Cotton")


def test_landmarks_and_size(tmp_path):
    landmarks = {"collar_front": [0, -0.1, 1.5], "collar_back": [0.0, 0.08, 1.56],
                 "hem": [0, -0.12, 0.8], "sleeve_left": [0.3, 0, 1.4],
                 "sleeve_right": [-0.3, 0.0, 1.4]}
    write_template(tmp_path, {**MINIMAL_GLTF, "landmarks": landmarks, "size": "XL"},
                   files={"shirt.glb": glb()})
    template = load_template(tmp_path / "my-tee")
    assert template.landmarks == {k: tuple(float(c) for c in v) for k, v in landmarks.items()}
    assert all(type(c) is float for point in template.landmarks.values() for c in point)
    assert template.reference_size == "XL"


def test_reference_size_stays_accepted_but_not_both(tmp_path):
    write_template(tmp_path, {**VALID, "reference_size": "M"})
    assert load_template(tmp_path / "my-tee").reference_size == "M"
    (tmp_path / "my-tee" / "template.json").write_text(
        json.dumps({**VALID, "reference_size": "M", "size": "L"}))
    assert "give one" in refusal(tmp_path / "my-tee").message


@pytest.mark.parametrize("landmarks,fragment", [
    ({"collar_front": [0, 0]}, "three finite numbers"),
    ({"hem": [0, 0, "1"]}, "three finite numbers"),
    ({"hem": [0, True, 1]}, "three finite numbers"),
    ({"hem": [0, float("nan"), 1]}, "three finite numbers"),
    ({"hem": [0, float("inf"), 1]}, "three finite numbers"),
    ({"hem": [0, 0, 1e6]}, "at most 100"),
    ({"hem": {"x": 0}}, "three finite numbers"),
    ({"shoulder": [0, 0, 1]}, "unknown landmark(s) shoulder"),
    ([[0, 0, 1]], "'landmarks' must map"),
])
def test_bad_landmarks_are_refused(tmp_path, landmarks, fragment):
    # json.dumps writes NaN and Infinity, and json.loads reads them back: the check must not
    write_template(tmp_path, {**MINIMAL_GLTF, "landmarks": landmarks},
                   files={"shirt.glb": glb()})
    error = refusal(tmp_path / "my-tee")
    assert error.code == "invalid_template" and fragment in error.message


def test_unknown_template_names_the_known_ones():
    with pytest.raises(InvalidInput) as info:
        get_template("hoodie")
    assert info.value.code == "unknown_template" and "classic-tee" in info.value.message


@pytest.mark.parametrize("change,fragment", [
    ({"uv_map": ""}, "'uv_map' must be a non-empty string"),
    ({"material_slot": 3}, "'material_slot' must be a non-empty string"),
    ({"supported_presets": ["chest-huge"]}, "unknown preset(s) chest-huge"),
    ({"supported_presets": []}, "non-empty list"),
    ({"default_color": "plaid"}, "'default_color'"),
    ({"model": {"kind": "obj"}}, "model.kind"),
    ({"model": {"kind": "blend", "file": "../escape.blend", "object": "Shirt"}},
     "inside the template folder"),
    ({"model": {"kind": "blend", "file": "/etc/escape.blend", "object": "Shirt"}},
     "inside the template folder"),
    ({"model": {"kind": "blend", "file": "missing.blend", "object": "Shirt"}}, "does not exist"),
    ({"model": {"kind": "blend", "file": "shirt.blend"}}, "'object' must be a non-empty"),
    ({"model": {"kind": "gltf", "file": "shirt.blend"}}, "must be a .glb or .gltf file"),
    ({"model": {"kind": "blend", "file": "shirt.glb", "object": "Shirt"}},
     "must be a .blend file"),
    ({"model": {"kind": "procedural", "generator": "hoodie"}}, "unknown generator"),
    ({"extra": 1}, "unknown field(s): extra"),
    ({"id": "other"}, "must match the folder name"),
])
def test_invalid_templates_are_clear_errors(tmp_path, change, fragment):
    write_template(tmp_path, {**VALID, **change})
    with pytest.raises(InvalidInput) as info:
        discover_templates(tmp_path)
    assert info.value.code == "invalid_template" and fragment in info.value.message
    assert info.value.exit_code == EXIT_CODES["invalid_template"] == 9


def test_missing_fields_and_broken_json(tmp_path):
    data = dict(VALID)
    del data["supported_presets"]
    write_template(tmp_path, data)
    with pytest.raises(InvalidInput, match="missing field"):
        discover_templates(tmp_path)
    (tmp_path / "my-tee" / "template.json").write_text("{")
    with pytest.raises(InvalidInput, match="not readable JSON"):
        discover_templates(tmp_path)


def test_an_empty_or_missing_root_has_no_templates(tmp_path):
    assert discover_templates(tmp_path) == {}
    assert discover_templates(tmp_path / "nowhere") == {}


# ------------------------------------------------------------------------------------------
# the model file: magic bytes, size, confinement


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


@pytest.mark.parametrize("name,content,fragment", [
    ("shirt.glb", PNG, "not a binary glTF"),
    ("shirt.glb", b"glT", "not a binary glTF"),
    ("shirt.glb", glb(version=1), "glTF version 1"),
    ("shirt.glb", glb(length_delta=4), "says it has"),
    ("shirt.glb", glb({"scenes": []}), "no 'asset'"),
    ("shirt.glb", glb({"asset": {"version": "1.0"}}), "2.0 is needed"),
    ("shirt.gltf", PNG, "not glTF JSON"),
    ("shirt.gltf", b"[1, 2]", "no 'asset'"),
    ("shirt.gltf", b"[" * 100_000, "not glTF JSON"),
    ("shirt.blend", PNG, "not a .blend file"),
    ("shirt.blend", gzip.compress(PNG), "not a .blend file"),
    ("shirt.blend", b"\x1f\x8b broken gzip", "not a .blend file"),
    ("shirt.blend", b"\x28\xb5\x2f\xfd no seek table here", "not a .blend file"),
])
def test_a_file_that_is_not_what_its_name_says_is_refused(tmp_path, name, content, fragment):
    kind = "blend" if name.endswith(".blend") else "gltf"
    data = {**MINIMAL_GLTF, "model": {"kind": kind, "file": name, "object": "Shirt"}}
    write_template(tmp_path, data, files={name: content})
    error = refusal(tmp_path / "my-tee")
    assert error.code == "invalid_template" and fragment in error.message, error.message
    assert str(tmp_path / "my-tee" / "template.json") in error.message


@pytest.mark.parametrize("content", [
    b"BLENDER-v279RENDH", gzip.compress(b"BLENDER-v279REND" + b"\0" * 64), zstd_like(),
    zstd_like(frames=3),
])
def test_plain_and_compressed_blend_files_are_accepted(tmp_path, content):
    write_template(tmp_path, VALID, files={"shirt.blend": content})
    assert load_template(tmp_path / "my-tee").model_file.name == "shirt.blend"


def test_the_size_limit(tmp_path, monkeypatch):
    write_template(tmp_path, MINIMAL_GLTF, files={"shirt.glb": glb()})
    monkeypatch.setattr(template_files, "MAX_MODEL_BYTES", 40)
    with pytest.raises(FileTooLarge) as info:
        load_template(tmp_path / "my-tee")
    error = info.value
    assert error.code == "model_too_large" and error.exit_code == 14 and error.http_status == 413
    assert "shirt.glb" in error.message and "at most" in error.message


def test_the_size_limit_counts_the_files_a_gltf_refers_to(tmp_path, monkeypatch):
    document = {"asset": {"version": "2.0"}, "buffers": [{"uri": "shirt.bin", "byteLength": 64}]}
    write_template(tmp_path, MINIMAL_GLTF | {"model": {"kind": "gltf", "file": "shirt.gltf"}},
                   files={"shirt.gltf": json.dumps(document).encode(), "shirt.bin": b"\0" * 64})
    assert load_template(tmp_path / "my-tee").model_file.name == "shirt.gltf"
    monkeypatch.setattr(template_files, "MAX_MODEL_BYTES", 100)
    assert refusal(tmp_path / "my-tee").code == "model_too_large"


@pytest.mark.parametrize("uri,fragment", [
    ("../outside.bin", "outside the template folder"),
    ("/etc/passwd", "outside the template folder"),
    ("sub/../../outside.bin", "outside the template folder"),
    ("%2E%2E/outside.bin", "outside the template folder"),
    ("file:///etc/passwd", "only data: URIs"),
    ("https://example.com/shirt.bin", "only data: URIs"),
    ("missing.bin", "does not exist"),
    (7, "only data: URIs"),
])
def test_a_gltf_may_not_reach_outside_its_folder(tmp_path, uri, fragment):
    (tmp_path / "outside.bin").write_bytes(b"\0" * 8)
    document = {"asset": {"version": "2.0"}, "buffers": [{"uri": "data:;base64,AAAA"}],
                "images": [{"uri": uri}]}
    write_template(tmp_path, MINIMAL_GLTF | {"model": {"kind": "gltf", "file": "shirt.glb"}},
                   files={"shirt.glb": glb(document)})
    error = refusal(tmp_path / "my-tee")
    assert error.code == "invalid_template" and fragment in error.message, error.message


def test_a_gltf_may_use_data_uris_and_files_beside_it(tmp_path):
    document = {"asset": {"version": "2.0"},
                "buffers": [{"uri": "data:application/octet-stream;base64,AAAA"},
                            {"uri": "parts/body%20mesh.bin"}],
                "images": [{"bufferView": 0, "mimeType": "image/png"}, {"uri": "tex.png"}]}
    directory = write_template(tmp_path, MINIMAL_GLTF, files={"shirt.glb": glb(document),
                                                              "tex.png": PNG})
    (directory / "parts").mkdir()
    (directory / "parts" / "body mesh.bin").write_bytes(b"\0" * 8)
    assert load_template(directory).model_file == directory / "shirt.glb"


def test_a_symlink_out_of_the_folder_is_refused(tmp_path):
    outside = tmp_path / "elsewhere.glb"
    outside.write_bytes(glb())
    directory = write_template(tmp_path, MINIMAL_GLTF, files={})
    (directory / "shirt.glb").symlink_to(outside)
    error = refusal(directory)
    assert error.code == "invalid_template" and "inside the template folder" in error.message
    (directory / "shirt.glb").unlink()
    (directory / "real.glb").write_bytes(glb())
    (directory / "shirt.glb").symlink_to(directory / "real.glb")  # a link inside is fine
    assert load_template(directory).model_file == directory / "real.glb"


def test_a_symlink_loop_is_refused(tmp_path):
    directory = write_template(tmp_path, MINIMAL_GLTF, files={})
    (directory / "shirt.glb").symlink_to(directory / "shirt.glb")
    assert refusal(directory).code == "invalid_template"
