import pytest

from shared.angles import (
    ANGLE_IDS,
    ANGLES,
    CLOSEUPS,
    STILL_IDS,
    STILLS,
    THUMBNAIL_ANGLE,
    closeups_for,
    get_angle,
    parse_angles,
)
from shared.contracts import OutputFile
from shared.errors import InvalidInput


def test_six_angles_in_media_order():
    assert ANGLE_IDS == ("front_0deg", "left_90deg", "right_270deg", "back_180deg",
                         "front_45deg_left", "front_45deg_right")
    assert [a.media_order for a in ANGLES] == list(range(6))


def test_azimuths_match_the_names():
    assert {a.id: a.azimuth_deg for a in ANGLES} == {
        "front_0deg": 0, "left_90deg": 90, "right_270deg": 270, "back_180deg": 180,
        "front_45deg_left": 45, "front_45deg_right": 315,
    }


def test_thumbnail_is_the_front():
    assert THUMBNAIL_ANGLE == "front_0deg"
    assert [a.id for a in ANGLES if a.is_thumbnail] == ["front_0deg"]


@pytest.mark.parametrize("value", [None, "", "all", " ALL "])
def test_default_is_all_six(value):
    assert parse_angles(value) == ANGLE_IDS


def test_parse_puts_angles_in_media_order_and_drops_duplicates():
    assert parse_angles("back_180deg, front_0deg,back_180deg") == ("front_0deg", "back_180deg")
    assert parse_angles(["front_45deg_right", "left_90deg"]) == ("left_90deg",
                                                                 "front_45deg_right")


def test_unknown_angle_is_a_clear_error():
    with pytest.raises(InvalidInput, match="top_view"):
        parse_angles("front_0deg,top_view")
    with pytest.raises(InvalidInput, match="at least one"):
        parse_angles([])
    with pytest.raises(InvalidInput):
        get_angle(None)


def test_the_neck_label_close_up_is_a_still_after_the_six_but_not_a_view():
    assert [a.id for a in CLOSEUPS] == ["neck_label_closeup"]
    assert STILL_IDS == ANGLE_IDS + ("neck_label_closeup",)
    assert [a.media_order for a in STILLS] == list(range(7))
    closeup = get_angle("neck_label_closeup")
    assert closeup.closeup_of == "neck" and closeup.label == "Neck label, close-up"
    assert all(a.closeup_of is None for a in ANGLES)
    # never asked for: "all" stays the six, and naming it is refused like an unknown view
    assert parse_angles("all") == ANGLE_IDS
    with pytest.raises(InvalidInput, match="neck_label_closeup"):
        parse_angles(["front_0deg", "neck_label_closeup"])


def test_a_close_up_comes_with_a_print_on_its_side():
    assert closeups_for(["front", "neck"]) == ("neck_label_closeup",)
    assert closeups_for(["front", "back", "sleeve-left"]) == ()


def test_a_manifest_output_may_show_the_close_up():
    output = {"kind": "still", "file": "neck_label_closeup.png", "width": 8, "height": 8,
              "sha256": "0" * 64, "size_bytes": 10, "angle": "neck_label_closeup"}
    assert OutputFile.from_dict(output).angle == "neck_label_closeup"
    with pytest.raises(InvalidInput, match="top_view"):
        OutputFile.from_dict({**output, "angle": "top_view"})
