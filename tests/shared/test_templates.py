"""The template registry that the renderer, the add-on and the service all read."""

import json

import pytest

from shared.errors import InvalidInput
from shared.presets import PRESET_IDS
from shared.templates import default_templates_root, discover_templates, get_template

VALID = {
    "id": "my-tee", "name": "My tee", "model": {"kind": "blend", "file": "shirt.blend",
                                                "object": "Shirt"},
    "uv_map": "Print", "material_slot": "Fabric", "supported_presets": ["chest-small"],
    "default_color": "Navy",
}


def write_template(root, data, folder="my-tee", blend=True):
    directory = root / folder
    directory.mkdir(parents=True)
    (directory / "template.json").write_text(json.dumps(data))
    if blend:
        (directory / "shirt.blend").write_bytes(b"BLENDER")
    return directory


def test_bundled_classic_tee():
    templates = discover_templates()
    assert "classic-tee" in templates
    tee = templates["classic-tee"]
    assert (tee.model_kind, tee.generator, tee.uv_map, tee.material_slot) == (
        "procedural", "classic_tee", "Print", "Fabric")
    assert set(tee.supported_presets) == set(PRESET_IDS)
    assert tee.directory == default_templates_root() / "classic-tee"
    assert "directory" not in tee.to_dict() and tee.to_dict()["id"] == "classic-tee"


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
    assert template.blend_file == tmp_path / "my-tee" / "shirt.blend"
    assert template.object_name == "Shirt" and template.default_color == "#1f2a44"


def test_unknown_template_names_the_known_ones():
    with pytest.raises(InvalidInput) as info:
        get_template("hoodie")
    assert info.value.code == "unknown_template" and "classic-tee" in info.value.message


@pytest.mark.parametrize("change,fragment", [
    ({"uv_map": ""}, "'uv_map' must be a non-empty string"),
    ({"supported_presets": ["chest-huge"]}, "unknown preset(s) chest-huge"),
    ({"supported_presets": []}, "non-empty list"),
    ({"default_color": "plaid"}, "'default_color'"),
    ({"model": {"kind": "obj"}}, "model.kind"),
    ({"model": {"kind": "blend", "file": "../escape.blend", "object": "Shirt"}},
     "inside the template folder"),
    ({"model": {"kind": "blend", "file": "missing.blend", "object": "Shirt"}}, "does not exist"),
    ({"model": {"kind": "procedural", "generator": "hoodie"}}, "unknown generator"),
    ({"extra": 1}, "unknown field(s): extra"),
    ({"id": "other"}, "must match the folder name"),
])
def test_invalid_templates_are_clear_errors(tmp_path, change, fragment):
    write_template(tmp_path, {**VALID, **change})
    with pytest.raises(InvalidInput) as info:
        discover_templates(tmp_path)
    assert info.value.code == "invalid_template" and fragment in info.value.message


def test_missing_fields_and_broken_json(tmp_path):
    data = dict(VALID)
    del data["material_slot"]
    write_template(tmp_path, data)
    with pytest.raises(InvalidInput, match="missing field"):
        discover_templates(tmp_path)
    (tmp_path / "my-tee" / "template.json").write_text("{")
    with pytest.raises(InvalidInput, match="not readable JSON"):
        discover_templates(tmp_path)


def test_an_empty_or_missing_root_has_no_templates(tmp_path):
    assert discover_templates(tmp_path) == {}
    assert discover_templates(tmp_path / "nowhere") == {}
