"""Reading design headers (size, mode, alpha, orientation, ICC, DPI), the ICC maths against
LittleCMS (Pillow's ImageCms), and the print-resolution rule."""

from __future__ import annotations

import contextlib
import io
import math
from pathlib import Path

import numpy as np
import pytest
from design_files import (
    ADOBE_RGB,
    ADOBE_RGB_ICC,
    DISPLAY_P3_ICC,
    GREY_GAMMA_ICC,
    DesignFile,
    colour_grid,
    design_file_names,
    exif_bytes,
    icc_profile,
    make_design_files,
    png_chunk,
)
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageCms

from shared import design_image, icc, presets, prints
from shared.colors import linear_to_srgb
from shared.errors import InvalidInput
from shared.presets import PRESETS


@pytest.fixture(scope="module")
def design_files(tmp_path_factory) -> dict[str, DesignFile]:
    return make_design_files(tmp_path_factory.mktemp("designs"))


FIXTURE_NAMES = design_file_names()


# ---------------------------------------------------------------------------------------------
# headers


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_fixture_header(design_files, name):
    fixture = design_files[name]
    header = design_image.read_header(fixture.path.read_bytes())
    assert header.kind == ("png" if name.endswith(".png") else "jpeg")
    assert header.mode == fixture.mode
    assert header.has_alpha is fixture.has_alpha
    assert header.orientation == fixture.orientation
    assert header.upright_size == fixture.expected.size
    assert header.upright_dpi == fixture.dpi
    assert (header.icc_profile is not None) is fixture.icc
    with Image.open(fixture.path) as image:  # the stored size is Pillow's
        assert (header.width, header.height) == image.size


def test_sideways_photo_is_reported_upright(design_files):
    header = design_image.read_header(design_files["orientation6_dpi.jpg"].path.read_bytes())
    assert (header.width, header.height) == (16, 32)
    assert header.upright_size == (32, 16)
    assert header.dpi == (200.0, 100.0) and header.upright_dpi == (100.0, 200.0)


def test_embedded_profiles_come_back_byte_for_byte(design_files):
    for name, profile in [("adobe_rgb.png", ADOBE_RGB_ICC), ("adobe_rgb.jpg", ADOBE_RGB_ICC),
                          ("p3.jpg", DISPLAY_P3_ICC), ("grey_gamma.jpg", GREY_GAMMA_ICC)]:
        assert design_image.read_header(design_files[name].path.read_bytes()).icc_profile \
            == profile, name


def test_a_large_profile_split_over_jpeg_segments_is_reassembled(tmp_path):
    big = icc_profile("big", ADOBE_RGB, 2.2, padding=150_000)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buffer, "JPEG", icc_profile=big)
    data = buffer.getvalue()
    assert data.count(b"ICC_PROFILE\0") == 3
    assert design_image.read_header(data).icc_profile == big
    # the frame header lies behind the profile: a head that cuts the profile cannot be read
    cut = data[:100_000]
    with pytest.raises(InvalidInput, match="no JPEG frame header"):
        design_image.read_header(cut)


def test_png_exif_and_density_chunks(tmp_path):
    image = Image.new("RGB", (10, 4), "red")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", exif=exif_bytes(8), dpi=(150, 150))
    header = design_image.read_header(buffer.getvalue())
    assert header.orientation == 8 and header.upright_size == (4, 10)
    assert header.dpi == pytest.approx((150, 150), abs=0.01)


def test_damaged_metadata_is_ignored_not_fatal():
    ihdr = png_chunk(b"IHDR", bytes.fromhex("0000000a00000004 08 02 000000".replace(" ", "")))
    broken = (design_image.PNG_SIGNATURE + ihdr + png_chunk(b"eXIf", b"MM\0*\0\0\xff\xff")
              + png_chunk(b"iCCP", b"name\0\0not zlib at all") + png_chunk(b"IEND", b""))
    header = design_image.read_header(broken)
    assert (header.orientation, header.icc_profile, header.mode) == (1, None, "RGB")


@given(st.binary(max_size=120))
def test_arbitrary_chunks_never_crash(body):
    ihdr = png_chunk(b"IHDR", bytes.fromhex("00000010000000100806000000"))
    for kind in (b"eXIf", b"iCCP", b"pHYs", b"tRNS"):
        data = design_image.PNG_SIGNATURE + ihdr + png_chunk(kind, body)
        with contextlib.suppress(InvalidInput):
            design_image.read_header(data)


@given(st.binary(max_size=200))
def test_arbitrary_jpeg_segments_never_crash(body):
    for marker in (b"\xe0", b"\xe1", b"\xe2", b"\xee", b"\xc0"):
        segment = b"\xff" + marker + (len(body) + 2).to_bytes(2, "big") + body
        with contextlib.suppress(InvalidInput):
            design_image.read_header(b"\xff\xd8" + segment)


# ---------------------------------------------------------------------------------------------
# ICC maths against LittleCMS


def _convert_with_shared_maths(profile: icc.MatrixProfile, rgb: np.ndarray) -> np.ndarray:
    """What the renderer does in numpy: curves, one matrix, the sRGB curve (LittleCMS rounds
    to whole levels, hence the tolerance of three quarters of a level)."""
    values = rgb.astype(np.float64) / 255
    linear = np.stack([np.vectorize(curve)(values[..., i])
                       for i, curve in enumerate(profile.curves)], -1)
    srgb_linear = np.clip(linear @ np.asarray(profile.to_linear_srgb()).T, 0, 1)
    return np.vectorize(linear_to_srgb)(srgb_linear) * 255


def _lcms(image: Image.Image, profile_bytes: bytes) -> np.ndarray:
    source = ImageCms.ImageCmsProfile(io.BytesIO(profile_bytes))
    out = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"),
                                    outputMode="RGB")
    return np.asarray(out, dtype=np.float64)


def _bundled_blender_profile() -> bytes | None:
    with contextlib.suppress(ImportError, OSError):
        import importlib.util

        spec = importlib.util.find_spec("bpy")
        if spec and spec.origin:
            found = sorted(Path(spec.origin).parent.glob("*/datafiles/colormanagement/icc/"
                                                         "srgb_p3d65_display.icc"))
            if found:
                return found[0].read_bytes()
    return None


TABLE_CURVE = [(i / 1023) ** 2.6 for i in range(1024)]
PROFILES = {
    "adobe_rgb_gamma": ADOBE_RGB_ICC,
    "display_p3_parametric": DISPLAY_P3_ICC,
    "table_curve": icc_profile("table", ADOBE_RGB, TABLE_CURVE),
    "srgb_lcms": ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
}


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_rgb_conversion_agrees_with_littlecms(name):
    grid = colour_grid()
    profile = icc.parse_profile(PROFILES[name])
    ours = _convert_with_shared_maths(profile, np.asarray(grid))
    assert np.abs(ours - _lcms(grid, PROFILES[name])).max() <= 0.75


def test_a_real_v4_profile_agrees_with_littlecms():
    data = _bundled_blender_profile()
    if data is None:
        pytest.skip("Blender's bundled ICC profiles are not installed")
    grid = colour_grid()
    profile = icc.parse_profile(data)
    assert profile.color_space == "RGB" and "P3" in profile.description
    assert np.abs(_convert_with_shared_maths(profile, np.asarray(grid))
                  - _lcms(grid, data)).max() <= 0.75


def test_grey_profile_behaves_as_r_equals_g_equals_b():
    profile = icc.parse_profile(GREY_GAMMA_ICC)
    assert profile.color_space == "GRAY"
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    grey = Image.fromarray(levels, "L")
    ours = _convert_with_shared_maths(profile, np.repeat(levels[..., None], 3, -1))
    # LittleCMS's 8-bit grey path interpolates a coarse table: up to 1.5 levels high in the
    # deepest shadows (level 2 gives 2, the exact 1.8 -> sRGB figure is 0.53)
    assert np.abs(ours - _lcms(grey, GREY_GAMMA_ICC)).max() <= 1.5


def test_which_profiles_count_as_srgb():
    assert icc.parse_profile(PROFILES["srgb_lcms"]).is_srgb
    assert icc.parse_profile(icc_profile("sGrey", None, (2.4, 1 / 1.055, 0.055 / 1.055,
                                                         1 / 12.92, 0.04045))).is_srgb
    for name in ("adobe_rgb_gamma", "display_p3_parametric"):
        assert not icc.parse_profile(PROFILES[name]).is_srgb
    assert not icc.parse_profile(GREY_GAMMA_ICC).is_srgb


def test_parametric_curve_types():
    g, a, b, c, d, e, f = 2.2, 0.9, 0.1, 0.05, 0.2, 0.01, 0.02
    x = 0.6
    assert icc.Curve(params=(0, g))(x) == pytest.approx(x ** g)
    assert icc.Curve(params=(1, g, a, b))(x) == pytest.approx((a * x + b) ** g)
    assert icc.Curve(params=(2, g, a, b, c))(x) == pytest.approx((a * x + b) ** g + c)
    assert icc.Curve(params=(3, g, a, b, c, d))(0.1) == pytest.approx(c * 0.1)
    assert icc.Curve(params=(4, g, a, b, c, d, e, f))(x) == pytest.approx((a * x + b) ** g + e)
    assert icc.Curve(params=(4, g, a, b, c, d, e, f))(0.1) == pytest.approx(c * 0.1 + f)
    assert icc.Curve(gamma=2.0).samples(3) == [0.0, 0.25, 1.0]
    assert icc.Curve(table=(0.0, 0.5, 1.0))(0.25) == pytest.approx(0.25)
    assert icc.Curve()(0.3) == 0.3


def test_bradford_and_srgb_matrices():
    white = icc.mat_vec(icc.XYZ_D50_TO_SRGB, icc.D50)
    assert white == pytest.approx((1.0, 1.0, 1.0), abs=1e-9)
    assert icc.mat_vec(icc.bradford(icc.D50, icc.D65), icc.D50) == pytest.approx(icc.D65)
    identity = icc.mat_mul(icc.SRGB_TO_XYZ_D65, icc.XYZ_D65_TO_SRGB)
    assert [v for row in identity for v in row] == pytest.approx([1, 0, 0, 0, 1, 0, 0, 0, 1],
                                                                 abs=1e-12)


@pytest.mark.parametrize("data", [
    b"", b"not a profile" * 20,
    ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes(),
    icc_profile("no tags", ADOBE_RGB, 2.2)[:200],
    # a CMYK-class profile: refused, the service's LittleCMS handles those
    icc_profile("cmyk", ADOBE_RGB, 2.2)[:16] + b"CMYK" + icc_profile("cmyk", ADOBE_RGB, 2.2)[20:],
])
def test_profiles_the_maths_cannot_apply_are_refused(data):
    with pytest.raises(icc.UnsupportedProfile):
        icc.parse_profile(data)


@given(st.binary(min_size=0, max_size=300))
def test_damaged_profiles_only_ever_raise_unsupported(tail):
    with contextlib.suppress(icc.UnsupportedProfile):
        icc.parse_profile(ADOBE_RGB_ICC[:132] + tail)


# ---------------------------------------------------------------------------------------------
# print resolution


def test_blurry_acceptable_sharp_with_the_figure():
    tiny = design_image.print_resolution(120, 120, 12, 16, unit="in")
    assert tiny.quality == "blurry" and tiny.dpi == pytest.approx(10)
    assert "10 DPI" in tiny.warning and "will print blurry" in tiny.warning
    chest = design_image.print_resolution(1200, 1200, 30.5, 40.6)
    assert chest.quality == "blurry" and "100 DPI" in chest.warning
    fair = design_image.print_resolution(3000, 3600, 12, 16, unit="in")
    assert fair.quality == "acceptable" and "250 DPI" in fair.warning
    assert "acceptable" in fair.warning
    sharp = design_image.print_resolution(3600, 4800, 12, 16, unit="in")
    assert sharp.quality == "sharp" and sharp.warning == ""
    assert design_image.print_resolution(150, 150, 1, 1, "in").quality == "acceptable"
    assert design_image.print_resolution(149, 149, 1, 1, "in").quality == "blurry"


@pytest.mark.parametrize("preset_id", sorted(PRESETS))
@pytest.mark.parametrize("size", [(120, 120), (1200, 900), (900, 1200), (4000, 5000)])
def test_the_same_figure_as_the_placement(preset_id, size):
    preset = PRESETS[preset_id]
    placement = prints.fit_print(prints.PrintSpec("d.png", preset_id), *size)
    resolution = design_image.print_resolution(*size, preset.width_cm, preset.height_cm)
    assert math.isclose(resolution.dpi, placement.dpi, rel_tol=1e-9)
    assert (resolution.quality == "blurry") is (placement.dpi < presets.MIN_PRINT_DPI)


def test_impossible_boxes_are_refused():
    with pytest.raises(InvalidInput):
        design_image.print_resolution(0, 10, 12, 16)
    with pytest.raises(InvalidInput):
        design_image.print_resolution(10, 10, 0, 16)
