"""Design files as shops and phones hand them over, made by the tests themselves (none committed).

`make_design_files(folder)` writes one small file per mode that issue 13 lists and says, for
each, what normalisation must turn it into: `expected`, the upright 8-bit sRGB RGBA picture.
Every picture is the same 32 x 16 layout of four flat quadrants (top-left, top-right,
bottom-left, bottom-right), block-aligned so JPEG keeps them flat; rotated or mirrored files
give another arrangement, so orientation is checkable by sampling the quadrant centres.

Pillow's ImageCms can only create sRGB, LAB and XYZ profiles, so `icc_profile` builds the
Adobe RGB (1998), Display P3 and grey-gamma profiles here as small matrix/TRC ICC v2 files.
"""

from __future__ import annotations

import io
import struct
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms
from PIL.TiffImagePlugin import IFDRational

UPRIGHT = (32, 16)
_QW, _QH = UPRIGHT[0] // 2, UPRIGHT[1] // 2
# The quadrants' colours in reading order: top-left, top-right, bottom-left, bottom-right.
RGB_QUADRANTS = ((220, 30, 40), (40, 180, 60), (30, 60, 200), (235, 235, 220))
GREY_QUADRANTS = (40, 100, 170, 230)
ALPHA_QUADRANTS = (255, 128, 0, 255)
CMYK_QUADRANTS = ((0, 200, 180, 20), (200, 0, 180, 20), (200, 150, 0, 20), (0, 0, 10, 0))

D50 = (0.9642, 1.0, 0.8249)
# Published D50-adapted colorants (the values Adobe's and Apple's own profiles carry).
ADOBE_RGB = ((0.60974, 0.31111, 0.01947), (0.20528, 0.62567, 0.06087),
             (0.14919, 0.06322, 0.74457))
DISPLAY_P3 = ((0.51512, 0.24120, -0.00105), (0.29198, 0.69225, 0.04189),
              (0.15710, 0.06657, 0.78407))
# sRGB's curve as the parametric type 3 ICC curve: g, a, b, c, d.
SRGB_PARA = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)

_PIL_TRANSPOSE_TO_STORE = {  # stored = upright.transpose(this) for an EXIF orientation
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@dataclass(frozen=True)
class DesignFile:
    """One fixture and what every reader and normaliser must make of it."""

    path: Path
    #: The upright 8-bit sRGB RGBA picture normalisation must give.
    expected: Image.Image
    #: The mode the header reader reports (Pillow's names; 16-bit colour as "RGB;16").
    mode: str
    has_alpha: bool
    orientation: int = 1
    #: Largest difference per channel, in 8-bit levels, that still counts as the same colour.
    tolerance: int = 2
    #: DPI of the upright image, as the file states it, if it does.
    dpi: tuple[float, float] | None = None
    icc: bool = False


# ---------------------------------------------------------------------------------------------
# pictures


def quadrants(mode: str, values: Sequence) -> Image.Image:
    """The 32 x 16 four-quadrant picture in ``mode``, one value per quadrant."""
    if mode == "I;16":  # Pillow's paste keeps only the low byte of a 16-bit value
        levels = np.asarray(values, dtype=np.uint16).reshape(2, 2)
        return Image.fromarray(levels.repeat(_QH, 0).repeat(_QW, 1))
    image = Image.new(mode, UPRIGHT)
    for index, value in enumerate(values):
        x, y = (index % 2) * _QW, (index // 2) * _QH
        image.paste(value, (x, y, x + _QW, y + _QH))
    return image


def rgba_quadrants(alpha: Sequence[int] = (255,) * 4) -> Image.Image:
    return quadrants("RGBA", [(*rgb, a) for rgb, a in zip(RGB_QUADRANTS, alpha, strict=True)])


def grey_as_rgba(levels: Sequence[int], alpha: Sequence[int] = (255,) * 4) -> Image.Image:
    return quadrants("RGBA", [(v, v, v, a) for v, a in zip(levels, alpha, strict=True)])


def colour_grid() -> Image.Image:
    """Every combination of 8 levels per channel (512 colours, one pixel each), 32 x 16: the
    ICC maths over the whole cube, saturated corners (out of sRGB's gamut) included."""
    levels = np.linspace(0, 255, 8).round().astype(np.uint8)
    cube = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1)
    return Image.fromarray(cube.reshape(UPRIGHT[1], UPRIGHT[0], 3))


def quadrant_centres(image: Image.Image) -> list[tuple[int, ...]]:
    """The pixel at the centre of each quadrant, in reading order."""
    width, height = image.size
    return [image.getpixel((x * width // 4, y * height // 4)) for y in (1, 3) for x in (1, 3)]


def max_difference(actual: np.ndarray | Image.Image, expected: np.ndarray | Image.Image) -> int:
    """Largest per-channel difference of two RGBA pictures in 8-bit levels; the colour of a
    fully transparent pixel is anything at all, so there only alpha counts."""
    a = np.asarray(actual, dtype=np.int32)
    e = np.asarray(expected, dtype=np.int32)
    assert a.shape == e.shape, f"shape {a.shape} != {e.shape}"
    diff = np.abs(a - e)
    diff[..., :3][e[..., 3] == 0] = 0
    return int(diff.max())


# ---------------------------------------------------------------------------------------------
# ICC profiles


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz_tag(xyz: Sequence[float]) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15(v) for v in xyz)


def curve_tag(trc: float | Sequence[float]) -> bytes:
    """A gamma (`curv` with one entry), a table of 0..1 samples (`curv`), or sRGB-like
    parameters g, a, b, c, d (`para` type 3)."""
    if isinstance(trc, int | float):
        return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(trc * 256))
    values = list(trc)
    if len(values) == 5:
        return b"para\0\0\0\0" + struct.pack(">HH", 3, 0) + b"".join(_s15(v) for v in values)
    return (b"curv\0\0\0\0" + struct.pack(">I", len(values))
            + b"".join(struct.pack(">H", round(v * 65535)) for v in values))


def _text_description(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    return (b"desc\0\0\0\0" + struct.pack(">I", len(ascii_text)) + ascii_text
            + struct.pack(">II", 0, 0) + struct.pack(">HB", 0, 0) + bytes(67))


def icc_profile(description: str, colorants: Sequence[Sequence[float]] | None,
                trc: float | Sequence[float], padding: int = 0) -> bytes:
    """A display-class ICC v2 matrix/TRC profile (RGB), or a grey TRC profile when
    ``colorants`` is None; ``padding`` adds a private tag to make the profile big."""
    tags: list[tuple[bytes, bytes]] = [
        (b"desc", _text_description(description)),
        (b"cprt", b"text\0\0\0\0" + b"No copyright, test profile\0"),
        (b"wtpt", _xyz_tag(D50)),
    ]
    curve = curve_tag(trc)
    if colorants is None:
        tags.append((b"kTRC", curve))
    else:
        for name, xyz in zip((b"rXYZ", b"gXYZ", b"bXYZ"), colorants, strict=True):
            tags.append((name, _xyz_tag(xyz)))
        tags += [(b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    if padding:
        tags.append((b"zzzz", b"zzzz\0\0\0\0" + bytes(padding)))
    offset = 128 + 4 + 12 * len(tags)
    table, body = [], b""
    for signature, data in tags:
        data += bytes(-len(data) % 4)
        table.append(struct.pack(">4sII", signature, offset + len(body), len(data)))
        body += data
    size = offset + len(body)
    space = b"GRAY" if colorants is None else b"RGB "
    header = (struct.pack(">I4sI4s4s4s", size, b"none", 0x02100000, b"mntr", space, b"XYZ ")
              + struct.pack(">6H", 2025, 1, 1, 0, 0, 0) + b"acsp" + bytes(24)
              + struct.pack(">I", 0) + b"".join(_s15(v) for v in D50) + bytes(48))
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + b"".join(table) + body


ADOBE_RGB_ICC = icc_profile("Adobe RGB (1998) test", ADOBE_RGB, 563 / 256)
DISPLAY_P3_ICC = icc_profile("Display P3 test", DISPLAY_P3, SRGB_PARA)
GREY_GAMMA_ICC = icc_profile("Gray Gamma 1.8 test", None, 1.8)


def to_srgb_with_lcms(image: Image.Image, icc: bytes) -> Image.Image:
    """What LittleCMS makes of ``image`` tagged with ``icc``: the oracle for ICC fixtures."""
    alpha = image.getchannel("A") if image.mode in ("RGBA", "LA") else None
    colour = image.convert("L" if image.mode in ("L", "LA") else "RGB")
    source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    srgb = ImageCms.createProfile("sRGB")
    converted = ImageCms.profileToProfile(colour, source, srgb, outputMode="RGB")
    converted.putalpha(alpha if alpha is not None else 255)
    return converted


# ---------------------------------------------------------------------------------------------
# raw file writers for what Pillow cannot save


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png16(path: Path, pixels: np.ndarray, chunks: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """A 16-bit RGB or RGBA PNG from an (h, w, 3|4) uint16 array (Pillow reads these but does
    not write them)."""
    height, width, channels = pixels.shape
    colour_type = {3: 2, 4: 6}[channels]
    rows = pixels.astype(">u2").reshape(height, width * channels).tobytes()
    stride = width * channels * 2
    raw = b"".join(b"\0" + rows[y * stride:(y + 1) * stride] for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
                     + b"".join(png_chunk(k, d) for k, d in chunks)
                     + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))


def exif_bytes(orientation: int = 1, dpi: tuple[float, float] | None = None) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    if dpi:
        exif[0x011A] = IFDRational(dpi[0])
        exif[0x011B] = IFDRational(dpi[1])
        exif[0x0128] = 2  # inches
    return exif.tobytes()


def _ycck_planes(cmyk: Image.Image) -> Image.Image:
    """The planes a YCCK JPEG stores for ``cmyk``, in the CMYK image Pillow will write.

    A decoder turns Y, Cb, Cr back into R, G, B and reports 255 - R, 255 - G, 255 - B and the
    K plane as it is; Adobe files hold inverted CMYK (255 - C, ...), so R, G, B are the true
    C, M, Y and the K plane is 255 - K. Pillow inverts every plane it writes as CMYK: the
    Y, Cb, Cr planes are handed over inverted so that they land in the file as they are, and
    K as it is so that the file holds 255 - K.
    """
    c, m, y, k = cmyk.split()
    ycc = Image.merge("RGB", (c, m, y)).convert("YCbCr").split()
    return Image.merge("CMYK", [*(plane.point(lambda v: 255 - v) for plane in ycc), k])


def _set_adobe_transform(data: bytes, transform: int) -> bytes:
    """Mark a JPEG's Adobe APP14 segment with the colour transform it was written with."""
    at = data.index(b"\xff\xee") + 4
    assert data[at:at + 5] == b"Adobe"
    # "Adobe", version (2), flags0 (2), flags1 (2), transform (1)
    return data[:at + 11] + bytes([transform]) + data[at + 12:]


# ---------------------------------------------------------------------------------------------
# the fixture set


def make_design_files(folder: Path) -> dict[str, DesignFile]:
    """Write every fixture into ``folder``; returns them by name."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, DesignFile] = {}
    rgb = rgba_quadrants().convert("RGB")
    opaque = rgba_quadrants()
    jpeg = {"quality": 95, "subsampling": 0}

    def add(name: str, save, **fields) -> None:
        path = folder / name
        save(path)
        files[name] = DesignFile(path=path, **fields)

    # PNG, every colour type
    ones = quadrants("1", (0, 1, 1, 0))
    add("bilevel.png", ones.save, expected=grey_as_rgba((0, 255, 255, 0)), mode="1",
        has_alpha=False)
    grey = quadrants("L", GREY_QUADRANTS)
    add("grey.png", grey.save, expected=grey_as_rgba(GREY_QUADRANTS), mode="L", has_alpha=False)
    grey_alpha = grey.copy()
    grey_alpha.putalpha(quadrants("L", ALPHA_QUADRANTS))
    add("grey_alpha.png", grey_alpha.save, expected=grey_as_rgba(GREY_QUADRANTS, ALPHA_QUADRANTS),
        mode="LA", has_alpha=True)
    # a little above each 8-bit level's 16-bit value: rounds down to it, not up (v >> 8 would)
    grey16 = quadrants("I;16", [v * 257 + 100 for v in GREY_QUADRANTS])
    add("grey16.png", grey16.save, expected=grey_as_rgba(GREY_QUADRANTS), mode="I;16",
        has_alpha=False)
    palette = rgb.quantize(colors=4)
    add("palette.png", palette.save, expected=opaque, mode="P", has_alpha=False)
    order = [palette.getpixel((x, y)) for x, y in ((0, 0), (_QW, 0), (0, _QH), (_QW, _QH))]
    index_alpha = [255] * 4
    for index, a in zip(order, ALPHA_QUADRANTS, strict=True):
        index_alpha[index] = a
    add("palette_trns.png", lambda p: palette.save(p, transparency=bytes(index_alpha)),
        expected=rgba_quadrants(ALPHA_QUADRANTS), mode="P", has_alpha=True)
    # tRNS by value: one grey level, one RGB colour is transparent
    add("grey_trns.png", lambda p: grey.save(p, transparency=GREY_QUADRANTS[1]),
        expected=grey_as_rgba(GREY_QUADRANTS, (255, 0, 255, 255)), mode="L", has_alpha=True)
    add("rgb_trns.png", lambda p: rgb.save(p, transparency=RGB_QUADRANTS[1]),
        expected=rgba_quadrants((255, 0, 255, 255)), mode="RGB", has_alpha=True)
    add("rgb.png", lambda p: rgb.save(p, dpi=(300, 300)), expected=opaque, mode="RGB",
        has_alpha=False, dpi=(300.0, 300.0))
    rgba = rgba_quadrants(ALPHA_QUADRANTS)
    add("rgba.png", rgba.save, expected=rgba, mode="RGBA", has_alpha=True)
    wide = np.asarray(rgba, dtype=np.uint16) * 257
    add("rgb16.png", lambda p: write_png16(p, wide[..., :3]), expected=opaque, mode="RGB;16",
        has_alpha=False)
    add("rgba16.png", lambda p: write_png16(p, wide), expected=rgba, mode="RGBA;16",
        has_alpha=True)

    # JPEG: grey, colour, CMYK and YCCK as Photoshop writes them (Adobe APP14, inverted)
    add("grey.jpg", lambda p: grey.save(p, **jpeg), expected=grey_as_rgba(GREY_QUADRANTS),
        mode="L", has_alpha=False, tolerance=4)
    add("rgb.jpg", lambda p: rgb.save(p, dpi=(72, 72), **jpeg), expected=opaque, mode="RGB",
        has_alpha=False, tolerance=6, dpi=(72.0, 72.0))
    cmyk = quadrants("CMYK", CMYK_QUADRANTS)
    cmyk_expected = cmyk.convert("RGB").convert("RGBA")
    add("cmyk.jpg", lambda p: cmyk.save(p, **jpeg), expected=cmyk_expected, mode="CMYK",
        has_alpha=False, tolerance=6)

    def save_ycck(path: Path) -> None:
        buffer = io.BytesIO()
        _ycck_planes(cmyk).save(buffer, "JPEG", **jpeg)
        path.write_bytes(_set_adobe_transform(buffer.getvalue(), 2))

    add("ycck.jpg", save_ycck, expected=cmyk_expected, mode="YCCK", has_alpha=False,
        tolerance=8)

    # ICC-tagged: the stored numbers are Adobe RGB / P3 / grey-gamma values
    add("adobe_rgb.png", lambda p: rgb.save(p, icc_profile=ADOBE_RGB_ICC),
        expected=to_srgb_with_lcms(rgb, ADOBE_RGB_ICC), mode="RGB", has_alpha=False, icc=True)
    add("adobe_rgb.jpg", lambda p: rgb.save(p, icc_profile=ADOBE_RGB_ICC, **jpeg),
        expected=to_srgb_with_lcms(rgb, ADOBE_RGB_ICC), mode="RGB", has_alpha=False,
        tolerance=6, icc=True)
    add("p3_alpha.png", lambda p: rgba.save(p, icc_profile=DISPLAY_P3_ICC),
        expected=to_srgb_with_lcms(rgba, DISPLAY_P3_ICC), mode="RGBA", has_alpha=True, icc=True)
    add("p3.jpg", lambda p: rgb.save(p, icc_profile=DISPLAY_P3_ICC, **jpeg),
        expected=to_srgb_with_lcms(rgb, DISPLAY_P3_ICC), mode="RGB", has_alpha=False,
        tolerance=6, icc=True)
    grid = colour_grid()
    for name, profile in (("adobe_rgb_grid.png", ADOBE_RGB_ICC), ("p3_grid.png", DISPLAY_P3_ICC)):
        add(name, lambda p, icc=profile: grid.save(p, icc_profile=icc),
            expected=to_srgb_with_lcms(grid, profile), mode="RGB", has_alpha=False, icc=True,
            tolerance=1)
    add("grey_gamma.jpg", lambda p: grey.save(p, icc_profile=GREY_GAMMA_ICC, **jpeg),
        expected=to_srgb_with_lcms(grey, GREY_GAMMA_ICC), mode="L", has_alpha=False,
        tolerance=4, icc=True)

    # EXIF orientation (all seven turns and mirrors): stored turned, shown upright by viewers
    for orientation, turn in _PIL_TRANSPOSE_TO_STORE.items():
        stored = rgb.transpose(turn)
        add(f"orientation{orientation}.jpg",
            lambda p, s=stored, o=orientation: s.save(p, exif=exif_bytes(o), **jpeg),
            expected=opaque, mode="RGB", has_alpha=False, orientation=orientation, tolerance=6)
    sideways = rgb.transpose(_PIL_TRANSPOSE_TO_STORE[6])
    # EXIF resolution (no JFIF density) stated for the stored axes: 200 across, 100 down
    add("orientation6_dpi.jpg",
        lambda p: sideways.save(p, exif=exif_bytes(6, (200, 100)), **jpeg),
        expected=opaque, mode="RGB", has_alpha=False, orientation=6, tolerance=6,
        dpi=(100.0, 200.0))
    add("orientation6.png", lambda p: sideways.save(p, exif=exif_bytes(6)), expected=opaque,
        mode="RGB", has_alpha=False, orientation=6)
    return files


def design_file_names() -> list[str]:
    """The fixtures' names, for parametrising tests at collection time."""
    with tempfile.TemporaryDirectory() as folder:
        return sorted(make_design_files(Path(folder)))
