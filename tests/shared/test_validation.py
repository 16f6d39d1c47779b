import contextlib
import io
import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from shared.errors import FileTooLarge, InvalidInput, UnsupportedMediaType
from shared.validation import (
    MAX_DESIGN_BYTES,
    ascii_filename,
    check_safe_id,
    file_sha256,
    image_dimensions,
    inspect_design_bytes,
    inspect_design_file,
)


def encode(fmt: str, size=(37, 21), **options) -> bytes:
    buffer = io.BytesIO()
    mode = "RGBA" if fmt == "PNG" else "RGB"
    Image.new(mode, size, (200, 16, 46)).save(buffer, fmt, **options)
    return buffer.getvalue()


def png_header_claiming(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + chunk + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))


def test_png_and_jpeg_by_content():
    png = inspect_design_bytes(encode("PNG"))
    assert (png.kind, png.width, png.height, png.media_type) == ("png", 37, 21, "image/png")
    jpeg = inspect_design_bytes(encode("JPEG"))
    assert (jpeg.kind, jpeg.width, jpeg.height) == ("jpeg", 37, 21)
    progressive = inspect_design_bytes(encode("JPEG", progressive=True))
    assert (progressive.width, progressive.height) == (37, 21)


def test_jpeg_frame_header_found_behind_a_large_exif_block():
    exif = Image.Exif()
    exif[0x010E] = "x" * 60000  # ImageDescription: pushes SOF far into the file
    data = encode("JPEG", size=(640, 480), exif=exif.tobytes())
    assert data.index(b"\xff\xc0") > 60000
    info = inspect_design_bytes(data)
    assert (info.width, info.height) == (640, 480)


@pytest.mark.parametrize("data", [
    b"GIF89a" + b"\0" * 40, b"%PDF-1.7\n", b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    b"RIFF\0\0\0\0WEBPVP8 ", b"BM" + b"\0" * 60, b"just text",
    # a PNG signature with one byte wrong
    b"\x89PNG\r\n\x1a\x0b" + b"\0" * 30,
])
def test_other_types_refused_whatever_they_are_called(data):
    with pytest.raises(UnsupportedMediaType) as info:
        inspect_design_bytes(data)
    assert info.value.http_status == 415 and "PNG or JPEG" in info.value.message


def test_size_limit():
    data = encode("PNG") + b"\0" * MAX_DESIGN_BYTES
    with pytest.raises(FileTooLarge, match="limit is 10 MB"):
        inspect_design_bytes(data)
    with pytest.raises(InvalidInput, match="empty"):
        inspect_design_bytes(b"")


def test_decompression_bomb_refused_from_the_header():
    bomb = png_header_claiming(100_000, 100_000)
    with pytest.raises(InvalidInput) as info:
        inspect_design_bytes(bomb)
    assert info.value.code == "image_too_large" and "100000 x 100000" in info.value.message
    with pytest.raises(InvalidInput, match="image_too_large|limit"):
        image_dimensions(png_header_claiming(12_001, 10))
    with pytest.raises(InvalidInput):  # within the side cap, over the pixel cap
        image_dimensions(png_header_claiming(8000, 8000))
    assert image_dimensions(png_header_claiming(4000, 4000)) == ("png", 4000, 4000)


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n" + b"\0" * 4,  # truncated before IHDR
    b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIDAT" + b"\0" * 20,  # first chunk not IHDR
    png_header_claiming(0, 10),
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",  # JPEG cut before any frame header
    b"\xff\xd8\xff\xe0\x00\x01",  # impossible segment length
    b"\xff\xd8\xff\xe0\x00\x04ab\x12\x34",  # garbage where a marker should be
])
def test_corrupt_headers(data):
    with pytest.raises(InvalidInput) as info:
        inspect_design_bytes(data)
    assert info.value.code == "corrupt_image"


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(data):
    with contextlib.suppress(InvalidInput):
        inspect_design_bytes(data)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_after_a_jpeg_marker_never_crash(tail):
    with contextlib.suppress(InvalidInput):
        image_dimensions(b"\xff\xd8\xff" + tail)


def test_files_on_disk(tmp_path):
    path = tmp_path / "design.png"
    path.write_bytes(encode("PNG"))
    info = inspect_design_file(path)
    assert info.sha256 == file_sha256(path) and info.size_bytes == path.stat().st_size
    with pytest.raises(InvalidInput) as missing:
        inspect_design_file(tmp_path / "nope.png")
    assert missing.value.code == "file_not_found"
    renamed = tmp_path / "design.jpg"  # the name says JPEG, the content says PNG
    renamed.write_bytes(encode("PNG"))
    assert inspect_design_file(renamed).kind == "png"


@pytest.mark.parametrize("value", ["rjob_01HZX3", "prod_123", "classic-tee", "a", "A" * 128])
def test_safe_ids(value):
    assert check_safe_id(value) == value


@pytest.mark.parametrize("value", [
    "", "..", "../etc", "a/b", "a\\b", ".hidden", "a.b", "-x", "_x", "a b", "a\0b", "é",
    "A" * 129, None, 5,
])
def test_ids_that_could_become_paths_are_refused(value):
    with pytest.raises(InvalidInput) as info:
        check_safe_id(value, "job id")
    assert info.value.code == "invalid_id" and "job id" in info.value.message


@pytest.mark.parametrize("name,expected", [
    ("front.png", "front.png"), ("../../etc/passwd", "passwd"), ("C:\\x\\design.PNG",
                                                                 "design.PNG"),
    ("Café logo.png", "Caf_logo.png"), ("", "design"), ("...", "design"),
])
def test_ascii_filenames(name, expected):
    assert ascii_filename(name) == expected
