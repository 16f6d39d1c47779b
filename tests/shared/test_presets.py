"""Print placements: real print-shop sizes, and how a design is fitted into one."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import InvalidInput
from shared.presets import (
    AREAS,
    BODY_LENGTH_CM,
    BODY_WIDTH_CM,
    MIN_PRINT_DPI,
    PRESET_IDS,
    PRESETS,
    SIZES,
    fit_design,
    get_preset,
)


def test_nine_presets_named_area_size():
    assert len(PRESET_IDS) == 9
    assert set(PRESET_IDS) == {f"{a}-{s}" for a in AREAS for s in SIZES}


@pytest.mark.parametrize("preset_id", ["chest-large", "back-large"])
def test_full_front_and_back_are_12_by_16_inches_three_below_the_collar(preset_id):
    preset = PRESETS[preset_id]
    assert (preset.width_cm, preset.height_cm) == (30.5, 40.6)
    assert preset.anchor == "collar"
    assert 2 * 2.54 <= preset.offset_cm <= 3 * 2.54


def test_small_chest_print_is_about_four_inches_wide():
    assert PRESETS["chest-small"].width_cm == pytest.approx(10.2)


def test_sides():
    assert {p.side for p in PRESETS.values() if p.area == "chest"} == {"front"}
    assert {p.side for p in PRESETS.values() if p.area != "chest"} == {"back"}


@pytest.mark.parametrize("preset_id", PRESET_IDS)
def test_every_area_lies_on_the_shirt_below_the_neck(preset_id):
    preset = PRESETS[preset_id]
    box = preset.box
    assert box.x > 0 and box.x + box.w < 1
    assert box.y > 0 and box.y + box.h < 1
    assert box.x + box.w / 2 == pytest.approx(0.5)  # centred horizontally
    assert box.w * BODY_WIDTH_CM == pytest.approx(preset.width_cm)
    assert box.h * BODY_LENGTH_CM == pytest.approx(preset.height_cm)


def test_hem_anchored_areas_sit_above_the_hem():
    for preset in PRESETS.values():
        if preset.anchor == "hem":
            bottom_cm = (preset.box.y + preset.box.h) * BODY_LENGTH_CM
            assert BODY_LENGTH_CM - bottom_cm == pytest.approx(preset.offset_cm)


def test_sizes_grow_within_each_area():
    for area in AREAS:
        widths = [PRESETS[f"{area}-{s}"].width_cm * PRESETS[f"{area}-{s}"].height_cm
                  for s in SIZES]
        assert widths == sorted(widths) and len(set(widths)) == 3


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(InvalidInput) as info:
        get_preset("chest-huge")
    assert info.value.code == "unknown_preset"
    assert "chest-huge" in info.value.message and "chest-small" in info.value.message


def test_landscape_design_fills_the_width_and_hangs_from_the_top():
    placement = fit_design("chest-large", 2400, 1200)
    area = PRESETS["chest-large"].box
    assert placement.box.w == pytest.approx(area.w)
    assert placement.box.y == pytest.approx(area.y)
    assert placement.height_cm == pytest.approx(30.5 / 2)
    assert placement.dpi == pytest.approx(2400 / (30.5 / 2.54))


def test_portrait_design_fills_the_height_and_is_centred():
    placement = fit_design("chest-large", 1000, 4000)
    area = PRESETS["chest-large"].box
    assert placement.box.h == pytest.approx(area.h)
    assert placement.box.x + placement.box.w / 2 == pytest.approx(0.5)
    assert placement.box.w < area.w


def test_low_resolution_is_flagged_below_150_dpi():
    # 12 x 16 in at 150 DPI is 1800 x 2400: the height limits (40.6 cm is 15.98 in).
    assert fit_design("chest-large", 1800, 2400).dpi == pytest.approx(2400 / (40.6 / 2.54))
    assert not fit_design("chest-large", 1800, 2400).prints_blurry
    low = fit_design("chest-large", 600, 800)
    assert low.dpi < MIN_PRINT_DPI and low.prints_blurry


@pytest.mark.parametrize("size", [(0, 10), (10, 0), (-1, 5), (1.5, 2)])
def test_impossible_sizes_are_refused(size):
    with pytest.raises(InvalidInput):
        fit_design("chest-small", *size)


@given(
    preset_id=st.sampled_from(PRESET_IDS),
    width=st.integers(1, 20000),
    height=st.integers(1, 20000),
)
def test_fit_keeps_aspect_ratio_stays_inside_and_touches_two_edges(preset_id, width, height):
    placement = fit_design(preset_id, width, height)
    area, box = placement.preset.box, placement.box
    eps = 1e-9
    assert box.x >= area.x - eps and box.x + box.w <= area.x + area.w + eps
    assert box.y == pytest.approx(area.y)
    assert box.y + box.h <= area.y + area.h + eps
    assert placement.width_cm / placement.height_cm == pytest.approx(width / height, rel=1e-9)
    fills_width = box.w == pytest.approx(area.w)
    fills_height = box.h == pytest.approx(area.h)
    assert fills_width or fills_height
    assert placement.dpi == pytest.approx(height / (placement.height_cm / 2.54))
