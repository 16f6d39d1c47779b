"""The upload-time normalisation: every design-file mode becomes an upright 8-bit sRGB RGBA PNG
with the right colours, and the original bytes stay as they were."""

from __future__ import annotations

import io

import pytest
from design_files import (
    ADOBE_RGB_ICC,
    DesignFile,
    design_file_names,
    make_design_files,
    max_difference,
    quadrant_centres,
    quadrants,
)
from PIL import Image, ImageOps

from shared.errors import InvalidInput
from sync_service.jobs.design_image import normalise


@pytest.fixture(scope="module")
def design_files(tmp_path_factory) -> dict[str, DesignFile]:
    return make_design_files(tmp_path_factory.mktemp("designs"))


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("name", design_file_names())
def test_every_mode_becomes_upright_srgb_rgba(design_files, name):
    fixture = design_files[name]
    original = fixture.path.read_bytes()
    result = _open(normalise(original))
    assert result.format == "PNG" and result.mode == "RGBA"
    assert result.size == fixture.expected.size
    assert "icc_profile" not in result.info and "exif" not in result.info
    assert max_difference(result, fixture.expected) <= fixture.tolerance, \
        (quadrant_centres(result), quadrant_centres(fixture.expected))
    if not fixture.has_alpha:  # opaque in its own bounds, everywhere
        assert result.getchannel("A").getextrema() == (255, 255)
    assert fixture.path.read_bytes() == original


def test_orientation_fixtures_are_what_viewers_show(design_files):
    """The fixtures themselves against Pillow's reading of EXIF orientation (what a photo
    viewer shows), so the upright checks above test against the right picture."""
    turned = [f for f in design_files.values() if f.orientation != 1]
    assert sorted({f.orientation for f in turned}) == [2, 3, 4, 5, 6, 7, 8]
    for fixture in turned:
        with Image.open(fixture.path) as image:
            shown = ImageOps.exif_transpose(image).convert("RGBA")
        assert max_difference(shown, fixture.expected) <= fixture.tolerance, fixture.path.name


def test_tagged_colours_are_converted_not_read_as_srgb(design_files):
    """An Adobe RGB red is redder than the same numbers in sRGB: the result must differ from a
    plain reading by much more than JPEG noise, and match LittleCMS."""
    for name in ("adobe_rgb.png", "p3_alpha.png"):
        result = _open(normalise(design_files[name].path.read_bytes()))
        with Image.open(design_files[name].path) as plain:
            assert max_difference(result, plain.convert("RGBA")) > 20, name


def test_upright_dpi_travels_with_the_result(design_files):
    turned = _open(normalise(design_files["orientation6_dpi.jpg"].path.read_bytes()))
    assert turned.info["dpi"] == pytest.approx((100, 200), abs=0.01)
    plain = _open(normalise(design_files["rgb.png"].path.read_bytes()))
    assert plain.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    assert "dpi" not in _open(normalise(design_files["rgba.png"].path.read_bytes())).info


def test_a_profile_that_does_not_fit_is_ignored():
    grey = quadrants("L", (10, 80, 160, 240))
    for icc in (ADOBE_RGB_ICC, b"garbage, not a profile" * 10):
        buffer = io.BytesIO()
        grey.save(buffer, "PNG", icc_profile=icc)
        result = _open(normalise(buffer.getvalue()))
        assert quadrant_centres(result) == [(v, v, v, 255) for v in (10, 80, 160, 240)]


def test_grey_transparency_by_value_is_kept():
    buffer = io.BytesIO()
    quadrants("L", (0, 90, 0, 200)).save(buffer, "PNG", transparency=0)
    alphas = [pixel[3] for pixel in quadrant_centres(_open(normalise(buffer.getvalue())))]
    assert alphas == [0, 255, 0, 255]
    buffer = io.BytesIO()
    quadrants("I;16", (0, 30000, 0, 65535)).save(buffer, "PNG", transparency=0)
    result = quadrant_centres(_open(normalise(buffer.getvalue())))
    assert [p[3] for p in result] == [0, 255, 0, 255] and result[1][0] == round(30000 / 257)


def test_damaged_files_are_refused_as_corrupt(design_files):
    data = design_files["rgb.jpg"].path.read_bytes()
    with pytest.raises(InvalidInput) as info:
        normalise(data[: len(data) // 2] + b"\0" * 8)
    assert info.value.code == "corrupt_image"
    with pytest.raises(InvalidInput):
        normalise(b"not an image")
