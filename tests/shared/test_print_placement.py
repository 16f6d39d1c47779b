"""A job's prints: how a design is fitted into its placement, moved, scaled and turned, and
refused when it leaves its side's printable area."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.contracts import RenderSpec
from shared.design_image import print_resolution
from shared.errors import InvalidInput
from shared.presets import MIN_PRINT_DPI, PRESET_IDS, PRESETS
from shared.prints import (
    MAX_PRINTS,
    PRINTABLE_AREAS,
    PrintSpec,
    fit_print,
    outside_by,
    place_prints,
    print_warnings,
)


def fit(preset: str, width: int, height: int, **changes):
    return fit_print(PrintSpec("d.png", preset, **changes), width, height)


def test_landscape_design_fills_the_width_and_hangs_from_the_top():
    placed = fit("chest-large", 2400, 1200)
    area = PRESETS["chest-large"]
    assert placed.box.width_cm == pytest.approx(area.width_cm)
    assert placed.box.bounds[1] == pytest.approx(area.top_cm)
    assert placed.box.height_cm == pytest.approx(30.5 / 2)
    assert placed.dpi == pytest.approx(2400 / (30.5 / 2.54))


def test_portrait_design_fills_the_height_and_is_centred():
    placed = fit("chest-large", 1000, 4000)
    assert placed.box.height_cm == pytest.approx(PRESETS["chest-large"].height_cm)
    assert placed.box.center_x_cm == 0.0
    assert placed.box.width_cm < PRESETS["chest-large"].width_cm


def test_low_resolution_shows_in_the_dpi_at_the_final_size():
    # 12 x 16 in at 150 DPI is 1800 x 2400: the height limits (40.6 cm is 15.98 in).
    assert fit("chest-large", 1800, 2400).dpi == pytest.approx(2400 / (40.6 / 2.54))
    assert fit("chest-large", 600, 800).dpi < MIN_PRINT_DPI
    # printed at half the size, the same pixels are twice as sharp
    assert fit("chest-large", 600, 800, scale=0.5).dpi == pytest.approx(
        2 * fit("chest-large", 600, 800).dpi)


@pytest.mark.parametrize("size", [(0, 10), (10, 0), (-1, 5), (1.5, 2)])
def test_impossible_sizes_are_refused(size):
    with pytest.raises(InvalidInput):
        fit("chest-small", *size)


@given(preset_id=st.sampled_from(PRESET_IDS), width=st.integers(1, 20000),
       height=st.integers(1, 20000))
def test_at_scale_one_a_design_fits_its_area_and_touches_two_edges(preset_id, width, height):
    placed = fit(preset_id, width, height)
    preset, box = placed.preset, placed.box
    left, top, right, bottom = box.bounds
    eps = 1e-9
    assert left >= preset.center_x_cm - preset.width_cm / 2 - eps
    assert right <= preset.center_x_cm + preset.width_cm / 2 + eps
    assert top == pytest.approx(preset.top_cm)
    assert bottom <= preset.top_cm + preset.height_cm + eps
    assert box.width_cm / box.height_cm == pytest.approx(width / height, rel=1e-9)
    assert (box.width_cm == pytest.approx(preset.width_cm)
            or box.height_cm == pytest.approx(preset.height_cm))
    assert outside_by(box)[0] < 1e-9  # every preset lies inside its side's printable area


def test_an_offset_moves_the_box_by_as_many_cm():
    home, moved = fit("chest-medium", 1000, 1000), fit("chest-medium", 1000, 1000,
                                                       offset_cm=(-2.0, 5.0))
    assert moved.box.center_x_cm - home.box.center_x_cm == pytest.approx(-2.0)
    assert moved.box.center_y_cm - home.box.center_y_cm == pytest.approx(5.0)


def test_a_scale_keeps_the_top_centre_where_it_prints():
    home, small = fit("chest-medium", 1000, 1000), fit("chest-medium", 1000, 1000, scale=0.5)
    assert small.box.width_cm == pytest.approx(home.box.width_cm / 2)
    assert small.box.bounds[1] == pytest.approx(home.box.bounds[1])
    assert small.box.center_x_cm == home.box.center_x_cm


def test_a_quarter_turn_makes_a_wide_design_tall():
    turned = fit("back-large", 2000, 1000, rotation_deg=90)
    left, top, right, bottom = turned.box.bounds
    assert bottom - top == pytest.approx(turned.box.width_cm)
    assert right - left == pytest.approx(turned.box.height_cm)
    assert bottom - top > right - left


def test_a_print_may_move_anywhere_on_its_side_but_not_off_it():
    # a small chest print moved down onto the belly is still on the front's printable area
    place_prints((PrintSpec("d.png", "chest-small", offset_cm=(0.0, 25.0)),), [(500, 500)])
    with pytest.raises(InvalidInput) as info:
        place_prints((PrintSpec("a.png", "chest-small"),
                      PrintSpec("b.png", "back-large", offset_cm=(0.0, 30.0))),
                     [(500, 500), (1200, 1600)])
    error = info.value
    assert error.code == "print_out_of_area" and error.exit_code == 13
    assert error.http_status == 422
    # print 2 hangs 10.1 + 30 cm below HPS and is 40.6 cm tall: 80.7 cm against 66.4
    assert "Print 2 (back-large)" in error.message and "14.3 cm at the bottom" in error.message


def test_growing_past_the_area_is_refused_by_the_cm():
    with pytest.raises(InvalidInput) as info:
        place_prints((PrintSpec("d.png", "sleeve-left", scale=1.5),), [(100, 100)])
    # it grows down from its top edge: -4.45 + 1.5 x 8.9 cm against the area's 5.7
    bottom = -8.9 / 2 + 8.9 * 1.5
    overshoot = bottom - PRINTABLE_AREAS["sleeve-left"][3]
    assert f"by {overshoot:.1f} cm at the bottom" in info.value.message


def test_printable_areas_cover_each_sides_presets():
    front = PRINTABLE_AREAS["front"]
    assert front[0] == pytest.approx(-15.25) and front[2] == pytest.approx(15.25)
    assert front[1] == PRESETS["chest-large"].top_cm
    back = PRINTABLE_AREAS["back"]
    assert back[1] == PRESETS["back-small"].top_cm
    assert back[3] == pytest.approx(74.0 - 7.6)  # the lower-back prints sit 3 in above the hem


@pytest.mark.parametrize("change,fragment", [
    ({"offset_cm": [1]}, "two numbers"),
    ({"offset_cm": [0, math.inf]}, "offset_cm"),
    ({"offset_cm": [0, 500]}, "within 100"),
    ({"scale": 0}, "between 0.05"),
    ({"scale": "1"}, "'scale' must be float"),
    ({"rotation_deg": 400}, "between -360"),
    ({"design": ""}, "must not be empty"),
    ({"layer": 1}, "Unknown field"),
])
def test_bad_prints_name_the_problem(change, fragment):
    with pytest.raises(InvalidInput) as info:
        PrintSpec.from_dict({"design": "d.png", "preset": "chest-small", **change})
    assert info.value.code == "invalid_spec" and fragment in info.value.message


SPEC = {"color": "navy", "output_dir": "out"}


def test_a_version_1_spec_is_one_print_and_reads_back_as_version_2():
    spec = RenderSpec.from_dict({**SPEC, "design": "d.png", "preset": "chest-small",
                                 "spec_version": 1})
    assert spec.prints == (PrintSpec("d.png", "chest-small"),)
    data = spec.to_dict()
    assert data["spec_version"] == 2 and "design" not in data
    assert RenderSpec.from_dict(data) == spec


def test_a_spec_with_several_prints_keeps_their_order_and_values():
    prints = [{"design": "logo.png", "preset": "chest-medium", "offset_cm": [0, 5],
               "scale": 0.8, "rotation_deg": 0},
              {"design": "back.png", "preset": "back-large"}]
    spec = RenderSpec.from_dict({**SPEC, "prints": prints})
    assert [p.design for p in spec.prints] == ["logo.png", "back.png"]
    assert spec.prints[0].offset_cm == (0.0, 5.0) and spec.prints[0].scale == 0.8
    assert RenderSpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize("data,fragment", [
    ({"prints": [], }, "non-empty list"),
    ({"prints": [{"design": "d.png", "preset": "chest-small"}] * (MAX_PRINTS + 1)},
     f"at most {MAX_PRINTS}"),
    ({"prints": [{"design": "d.png", "preset": "chest-small"}], "design": "d.png"},
     "not both"),
    ({"prints": [{"design": "d.png", "preset": "chest-huge"}]}, "print 1: Unknown preset"),
])
def test_bad_print_lists_are_refused(data, fragment):
    with pytest.raises(InvalidInput) as info:
        RenderSpec.from_dict({**SPEC, **data})
    assert fragment in info.value.message


def test_warnings_are_at_each_prints_final_size_and_name_it_when_there_are_several():
    low = fit("chest-large", 600, 800)
    # one print: the sentence a version-1 job carried, at its preset's size
    chest = PRESETS["chest-large"]
    assert print_warnings([low]) == [
        print_resolution(600, 800, chest.width_cm, chest.height_cm).warning]
    sharp_when_small = fit("chest-large", 600, 800, scale=0.15)
    assert print_warnings([sharp_when_small]) == []
    both = print_warnings([fit("chest-small", 4000, 4000), low])
    assert len(both) == 1 and both[0].startswith("Print 2 (chest-large): The design is 50 DPI")
