import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import ImageColor

from shared.colors import (
    COMMON_SHIRT_COLORS,
    CSS_COLORS,
    linear_to_srgb,
    parse_color,
    parse_color_list,
    srgb_to_linear,
)
from shared.errors import InvalidInput


def test_full_css_named_colour_list():
    assert len(CSS_COLORS) == 148
    # Pillow carries the CSS list too: an independent check of every value.
    for name, value in CSS_COLORS.items():
        assert ImageColor.getrgb(name) == parse_color(value).rgb255, name


@pytest.mark.parametrize("text,expected", [
    ("#c8102e", "#c8102e"), ("#C8102E", "#c8102e"), ("#fff", "#ffffff"), ("#0A3", "#00aa33"),
    ("navy", "#1f2a44"), ("  Navy ", "#1f2a44"), ("REBECCAPURPLE", "#663399"),
    ("grey", "#808080"), ("gray", "#808080"), ("Heather grey", "#9b9b9b"),
    ("heather-grey", "#9b9b9b"), ("black", "#111111"), ("darkblue", "#00008b"),
])
def test_accepted_forms(text, expected):
    assert parse_color(text).hex == expected


@pytest.mark.parametrize("text", [
    "", "#", "#ff", "#ffff", "#fffffff", "#ggg", "c8102e", "rgb(1,2,3)", "notacolour",
    "#c8102e80", "navy blue", "transparent",
])
def test_refused_with_a_clear_message(text):
    with pytest.raises(InvalidInput) as info:
        parse_color(text)
    assert info.value.code == "invalid_color"
    assert "#RRGGBB" in info.value.message


def test_non_text_is_refused():
    with pytest.raises(InvalidInput, match="text"):
        parse_color(None)  # type: ignore[arg-type]


def test_linear_conversion_known_values():
    assert parse_color("white").linear == (1.0, 1.0, 1.0)
    assert parse_color("#000").linear == (0.0, 0.0, 0.0)
    # sRGB 50% grey is about 21.6% linear: the classic washed-out-shirt mistake is skipping this.
    assert parse_color("#808080").linear[0] == pytest.approx(0.2158605)
    r, g, b = parse_color("#c8102e").linear
    assert r == pytest.approx(0.5775804) and g == pytest.approx(0.0051815, rel=1e-4)
    assert b == pytest.approx(0.0273209, rel=1e-4)


@given(st.integers(0, 255))
def test_linear_round_trips_and_is_monotonic(value):
    c = value / 255
    assert linear_to_srgb(srgb_to_linear(c)) == pytest.approx(c, abs=1e-9)
    if value:
        assert srgb_to_linear(c) > srgb_to_linear((value - 1) / 255)


@given(st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)))
def test_hex_round_trip(rgb):
    text = "#{:02X}{:02x}{:02X}".format(*rgb)
    assert parse_color(text).rgb255 == rgb
    assert parse_color(parse_color(text).hex).hex == parse_color(text).hex


def test_colour_lists():
    assert [c.hex for c in parse_color_list("navy,white,#c8102e")] == [
        "#1f2a44", "#ffffff", "#c8102e"]
    assert len(parse_color_list("navy, #1f2a44 ,Navy")) == 1
    with pytest.raises(InvalidInput):
        parse_color_list(" , ")
    with pytest.raises(InvalidInput, match="bogus"):
        parse_color_list("navy,bogus")


def test_common_shirt_colours_parse():
    for _label, value in COMMON_SHIRT_COLORS:
        parse_color(value)


def test_a_swatch_name_means_the_swatch_colour_everywhere():
    """The panel's "Navy" swatch and the word navy in the CLI, a batch file or the API agree."""
    for label, value in COMMON_SHIRT_COLORS:
        assert parse_color(label).hex == value, label
        assert parse_color(label.lower().replace(" ", "")).hex == value, label
