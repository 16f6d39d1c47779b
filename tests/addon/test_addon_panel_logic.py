"""What the panel offers and checks, derived from ``shared`` (plain Python, no Blender)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from addon_pngs import write_png
from hypothesis import given
from hypothesis import strategies as st

from blender_addon.core import panel_logic
from shared import angles, colors, presets, quality, templates
from shared.contracts import RenderSpec
from shared.errors import InvalidInput
from shared.prints import PrintSpec


def test_preset_items_follow_shared():
    items = panel_logic.preset_items()
    assert [i[0] for i in items] == list(presets.PRESET_IDS)
    assert [i[3] for i in items] == list(range(len(items)))
    assert all(i[1] == presets.PRESETS[i[0]].label for i in items)


def test_a_templates_placements_keep_their_numbers():
    items = panel_logic.preset_items({"back-large", "chest-left", "nowhere"})
    assert [(i[0], i[3]) for i in items] == [
        ("back-large", presets.PRESET_IDS.index("back-large")),
        ("chest-left", presets.PRESET_IDS.index("chest-left"))]


def test_presets_are_grouped_by_area_then_size_then_the_others():
    grid = panel_logic.preset_grid()
    assert [label for label, _ in grid] == ["Chest", "Back", "Back bottom", "More"]
    for (_, cells), area in zip(grid, presets.AREAS, strict=False):
        assert [pid for pid, _ in cells] == [f"{area}-{size}" for size in presets.SIZES]
        assert [label for _, label in cells] == ["Small", "Medium", "Large"]
    assert grid[-1][1] == [("chest-left", "Left chest"), ("sleeve-left", "Left sleeve"),
                           ("sleeve-right", "Right sleeve"), ("neck-label", "Neck label")]
    nine = templates.discover_templates()["classic-tee"].supported_presets
    only = panel_logic.preset_grid({"back-small", "back-large", "sleeve-left"})
    assert only == [("Back", [("back-small", "Small"), ("back-large", "Large")]),
                    ("More", [("sleeve-left", "Left sleeve")])]
    assert sum(len(cells) for _, cells in panel_logic.preset_grid(nine)) == len(nine)


def test_a_new_print_starts_on_a_side_no_print_uses():
    assert panel_logic.next_preset([]) == "chest-medium"
    assert panel_logic.next_preset(["chest-medium"]) == "back-small"
    assert panel_logic.next_preset(["back-large"]) == "chest-medium"
    assert panel_logic.next_preset(["chest-medium", "back-large"]) == "sleeve-left"
    assert panel_logic.next_preset(["chest-left", "back-large", "sleeve-left",
                                    "sleeve-right", "neck-label"]) == "chest-medium"
    assert panel_logic.next_preset([], {"back-large"}) == "back-large"
    # every side taken: the template's first placement
    assert panel_logic.next_preset(["back-large"], {"back-large", "back-small"}) == \
        "back-small"


def test_quality_template_background_and_angle_items_follow_shared():
    assert [i[0] for i in panel_logic.quality_items()] == list(quality.QUALITY_NAMES)
    found = templates.discover_templates()
    assert [i[0] for i in panel_logic.template_items(found)] == list(found)
    assert "classic-tee" in found
    assert [i[0] for i in panel_logic.template_items({})] == ["classic-tee"]
    assert [i[0] for i in panel_logic.background_items()] == ["transparent", "studio", "color"]
    assert [a for a, _ in panel_logic.angle_choices()] == list(angles.ANGLE_IDS)
    assert panel_logic.swatches() == list(colors.COMMON_SHIRT_COLORS)


@given(st.tuples(*[st.integers(0, 255)] * 3))
def test_hex_and_picker_round_trip(rgb):
    code = "#{:02x}{:02x}{:02x}".format(*rgb)
    assert panel_logic.hex_from_srgb(panel_logic.srgb_from_text(code)) == code


def test_named_and_short_colours_and_errors():
    assert panel_logic.hex_from_srgb(panel_logic.srgb_from_text(" Navy ")) == "#1f2a44"
    assert panel_logic.hex_from_srgb(panel_logic.srgb_from_text("#FA0")) == "#ffaa00"
    assert panel_logic.hex_from_srgb((1.5, -0.2, 0.5)) == "#ff0080"
    with pytest.raises(InvalidInput, match="not a colour"):
        panel_logic.srgb_from_text("shirt-red")


def test_design_status(tmp_path):
    assert panel_logic.inspect_design("") == panel_logic.DesignStatus()
    (tmp_path / "a.png").write_text("hello")
    assert "PNG or JPEG" in panel_logic.inspect_design(str(tmp_path / "a.png")).error
    assert "not found" in panel_logic.inspect_design(str(tmp_path / "nope.png")).error
    big = panel_logic.inspect_design(str(write_png(tmp_path / "b.png", 3000, 3600)))
    assert big.ok and big.size_text() == "3000 x 3600 px"
    sharp = panel_logic.at_print(big, PrintSpec("b.png", "chest-large"))
    assert sharp.dpi == pytest.approx(250, abs=1) and not sharp.blurry  # 3000 px over 12 in
    assert sharp.dpi_text() == "250 DPI at this size" and not sharp.outside
    small = panel_logic.at_print(panel_logic.inspect_design(
        str(write_png(tmp_path / "c.png", 400, 400))), PrintSpec("c.png", "chest-large"))
    assert small.blurry and small.dpi < presets.MIN_PRINT_DPI


def test_a_prints_dpi_and_warning_are_at_its_final_size():
    design = panel_logic.DesignStatus(1200, 1200)
    full = panel_logic.at_print(design, PrintSpec("d.png", "chest-medium"))
    assert full.dpi == pytest.approx(120, abs=0.5) and full.blurry  # 1200 px over 10 in
    assert "will print blurry" in full.warning and "120 DPI" in full.warning
    half = panel_logic.at_print(design, PrintSpec("d.png", "chest-medium", scale=0.5))
    assert half.dpi == pytest.approx(240, abs=0.5) and not half.blurry
    assert "acceptable" in half.warning and "240 DPI" in half.warning
    tiny = panel_logic.at_print(design, PrintSpec("d.png", "chest-medium", scale=0.25))
    assert tiny.warning == "" and tiny.dpi_text() == "480 DPI at this size"


def test_a_print_that_leaves_its_area_says_by_how_much():
    design = panel_logic.DesignStatus(1500, 1500)
    moved = panel_logic.at_print(design, PrintSpec("d.png", "chest-small", (0.0, -20.0)))
    assert moved.ok and moved.outside.startswith("The print (chest-small) leaves the front")
    assert " cm at the top" in moved.outside
    (lines, alert), = moved.notes(30)
    assert alert and " ".join(lines) == moved.outside and max(map(len, lines)) <= 30
    assert not panel_logic.at_print(design, PrintSpec("d.png", "chest-small", (0.0, 5.0))).outside


def test_output_folder_is_fresh_and_never_a_path_from_the_name(tmp_path):
    now = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert panel_logic.output_folder(str(tmp_path), "prod_1", "/x/y.png", now) == \
        tmp_path / "prod_1-20260102-030405"
    assert panel_logic.output_folder(str(tmp_path), "", "/x/my logo!.png", now) == \
        tmp_path / "my_logo-20260102-030405"
    assert panel_logic.output_folder("", "", "d.png", now).parent == \
        panel_logic.default_output_root()
    (tmp_path / "prod_1-20260102-030405").mkdir()
    assert panel_logic.output_folder(str(tmp_path), "prod_1", "/x/y.png", now) == \
        tmp_path / "prod_1-20260102-030405-2"


def _spec(design_file: Path, **overrides):
    values = dict(job_prints=[PrintSpec(str(design_file), "chest-medium")], color="navy",
                  template="classic-tee", quality_name="preview",
                  angle_flags=(True, False, False, True, False, False), animation=True,
                  frames=12, background="#eee", output_dir="/tmp/out")
    values.update(overrides)
    return panel_logic.build_spec(**values)


def test_build_spec_normalises_what_the_panel_holds(tmp_path):
    design = write_png(tmp_path / "d.png", 100, 100)
    spec = _spec(design)
    assert spec.prints == (PrintSpec(str(design.resolve()), "chest-medium"),)
    assert spec.output_dir == "/tmp/out"
    assert spec.color == "#1f2a44" and spec.background == "#eeeeee"
    assert spec.angles == ("front_0deg", "back_180deg")
    assert spec.animation.enabled and spec.animation.frames == 12
    assert spec.resolution is None and spec.samples is None
    assert spec.job_id is None and spec.template == "classic-tee" and spec.quality == "preview"
    still = _spec(design, animation=False, resolution=64, samples=2)
    assert not still.animation.enabled and still.resolution == 64 and still.samples == 2
    assert RenderSpec.from_json(still.to_json()) == still  # what spec.json carries


def test_build_spec_carries_every_print_with_its_placement(tmp_path, monkeypatch):
    front = write_png(tmp_path / "front.png", 100, 100)
    back = write_png(tmp_path / "back.png", 200, 100)
    monkeypatch.chdir(tmp_path)
    spec = _spec(front, job_prints=[
        PrintSpec("front.png", "chest-left"),
        PrintSpec(str(back), "back-large", (1.0, 4.0), 0.5, 90.0)])
    assert spec.prints == (PrintSpec(str(front.resolve()), "chest-left"),
                           PrintSpec(str(back.resolve()), "back-large", (1.0, 4.0), 0.5, 90.0))


def _one(design: str = "", preset: str = "chest-medium", **changes) -> list[PrintSpec]:
    return [PrintSpec(design, preset, **changes)]


@pytest.mark.parametrize(("overrides", "message"), [
    ({"job_prints": []}, "Add a print and choose its design first"),
    ({"job_prints": _one()}, "^Choose a design image first"),
    ({"angle_flags": (False,) * 6}, "Choose at least one angle"),
    ({"color": "blurple"}, "not a colour"),
    ({"product_id": "../x"}, "Invalid product id"),
    ({"background": "plaid"}, "Unknown background"),
    ({"frames": 1}, "between 2 and"),
])
def test_build_spec_refuses_with_one_sentence(tmp_path, overrides, message):
    design = write_png(tmp_path / "d.png", 100, 100)
    with pytest.raises(InvalidInput, match=message):
        _spec(design, **overrides)


def test_build_spec_names_the_print_it_refuses(tmp_path):
    good = str(write_png(tmp_path / "d.png", 100, 100))
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"GIF89a")
    cases = [
        (_one(good) + _one(), "^Print 2: Choose a design image first", "invalid_input"),
        (_one(good) + _one(str(fake)), "^Print 2: .*PNG or JPEG", "unsupported_media_type"),
        (_one(good) + _one(good, "sleeve"), "Unknown preset 'sleeve'", "unknown_preset"),
        (_one(good) + _one(good, "back-small", offset_cm=(0.0, -30.0)),
         "^Print 2 \\(back-small\\) leaves the back printable area by", "print_out_of_area"),
    ]
    for job_prints, message, code in cases:
        with pytest.raises(InvalidInput, match=message) as caught:
            _spec(Path(good), job_prints=job_prints)
        assert caught.value.code == code


def test_build_spec_refuses_a_non_image(tmp_path):
    fake = tmp_path / "design.png"
    fake.write_bytes(b"GIF89a")
    with pytest.raises(InvalidInput, match="PNG or JPEG"):
        _spec(fake)


def test_an_old_scenes_design_and_placement_become_print_1():
    back_large = presets.PRESET_IDS.index("back-large")
    assert panel_logic.legacy_print("//logo.png", back_large) == ("//logo.png", "back-large")
    assert panel_logic.legacy_print("//logo.png", None) == ("//logo.png", "chest-medium")
    assert panel_logic.legacy_print(None, back_large) == ("", "back-large")
    assert panel_logic.legacy_print(None, None) is None
    assert panel_logic.legacy_print("", 99) == ("", "chest-medium")
