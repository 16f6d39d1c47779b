"""Print placements: real print-shop sizes, and how a design is fitted into one."""

import pytest

from shared.errors import InvalidInput
from shared.presets import (
    AREAS,
    BACK_NECK_DROP_CM,
    BODY_LENGTH_CM,
    BODY_WIDTH_CM,
    FRONT_NECK_DROP_CM,
    PRESET_IDS,
    PRESETS,
    SIZES,
    get_preset,
)
from shared.prints import PRINTABLE_AREAS

NINE = tuple(f"{a}-{s}" for a in AREAS for s in SIZES)
BODY = tuple(p for p in PRESET_IDS if PRESETS[p].side in ("front", "back"))


def test_the_nine_presets_named_area_size_and_four_beside_them():
    assert set(NINE) <= set(PRESET_IDS) and len(PRESET_IDS) == 13
    assert set(PRESET_IDS) - set(NINE) == {"chest-left", "sleeve-left", "sleeve-right",
                                           "neck-label"}


def test_a_pocket_logo_sits_over_the_heart():
    logo = PRESETS["chest-left"]
    assert (logo.width_cm, logo.height_cm) == (10.2, 10.2)
    # the wearer's left is the viewer's right: 3.5 in from the centre line, as high as the
    # other chest prints
    assert logo.side == "front" and logo.center_x_cm == pytest.approx(8.9)
    assert logo.top_cm == PRESETS["chest-small"].top_cm


def test_sleeve_prints_are_centred_on_their_sleeve():
    for side in ("left", "right"):
        preset = PRESETS[f"sleeve-{side}"]
        assert preset.side == f"sleeve-{side}" and preset.anchor == "sleeve"
        assert (preset.width_cm, preset.height_cm) == (8.9, 8.9)
        assert preset.top_cm == pytest.approx(-preset.height_cm / 2)
        left, top, right, bottom = PRINTABLE_AREAS[preset.side]
        assert left < -preset.width_cm / 2 and right > preset.width_cm / 2


def test_the_neck_label_is_inside_the_back_neck_below_the_collar():
    label = PRESETS["neck-label"]
    assert label.side == "neck" and (label.width_cm, label.height_cm) == (7.6, 7.6)
    assert label.top_cm == pytest.approx(BACK_NECK_DROP_CM + 1.3)


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
    assert {PRESETS[p].side for p in NINE if PRESETS[p].area != "chest"} == {"back"}


@pytest.mark.parametrize("preset_id", BODY)
def test_every_body_area_lies_on_the_shirt_below_the_neck(preset_id):
    preset = PRESETS[preset_id]
    neck_drop = FRONT_NECK_DROP_CM if preset.side == "front" else BACK_NECK_DROP_CM
    assert abs(preset.center_x_cm) + preset.width_cm / 2 < BODY_WIDTH_CM / 2
    assert neck_drop < preset.top_cm and preset.top_cm + preset.height_cm < BODY_LENGTH_CM


def test_hem_anchored_areas_sit_above_the_hem():
    for preset in PRESETS.values():
        if preset.anchor == "hem":
            bottom_cm = preset.top_cm + preset.height_cm
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
