import pytest

from shared.angles import ANGLE_IDS, ANGLES, THUMBNAIL_ANGLE, get_angle, parse_angles
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
