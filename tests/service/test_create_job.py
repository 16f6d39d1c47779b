"""POST /admin/render-jobs: a valid upload, and every way an upload can be refused."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from shared.design_image import INVISIBLE_ALPHA
from shared.presets import PRESET_IDS
from shared.validation import MAX_DESIGN_BYTES

from .conftest import png_bytes


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` (a decompression bomb's calling card)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + \
        _chunk(b"IEND", b"")


def test_creates_a_pending_job_and_stores_the_design(create_job, app: Flask,
                                                    data_dir: Path) -> None:
    design = png_bytes(40, 30)
    response = create_job(design, preset="back-large", color="#C8102E", quality="preview",
                          animation="false", background="studio", metadata='{"sku": "X1"}')
    assert response.status_code == 202, response.json
    job = response.json
    assert job["id"].startswith("rjob_") and len(job["id"]) == 31
    assert (job["status"], job["progress"], job["source"]) == ("pending", 0, "api")
    assert (job["preset"], job["color"], job["quality"]) == ("back-large", "#c8102e", "preview")
    assert job["animation"] is False and job["background"] == "studio"
    assert job["template_id"] == "classic-tee"
    assert job["metadata"] == {"sku": "X1"}
    assert job["media_sync_status"] == "not_configured"
    assert job["design"]["width"] == 40 and job["design"]["media_type"] == "image/png"
    stored = data_dir / "jobs" / job["id"] / "design.png"
    assert stored.read_bytes() == design
    assert app.extensions["tshirt"].enqueued == [job["id"]]


def test_every_shared_preset_is_accepted(create_job, client: FlaskClient,
                                        auth: dict[str, str]) -> None:
    """Each on a template that supports it (the four beside the nine are not on every one)."""
    templates = client.get("/admin/render-templates", headers=auth).json["items"]
    for preset in PRESET_IDS:
        template = next(t["id"] for t in templates
                        if not t["supported_presets"] or preset in t["supported_presets"])
        response = create_job(preset=preset, template_id=template)
        assert response.status_code == 202, (preset, response.json)
        assert response.json["preset"] == response.json["prints"][0]["preset"] == preset


def test_jpeg_is_accepted_and_stored_as_jpg(create_job, data_dir: Path) -> None:
    response = create_job(png_bytes(10, 10, fmt="JPEG"), filename="photo.jpeg")
    assert response.status_code == 202
    assert response.json["design"]["media_type"] == "image/jpeg"
    assert (data_dir / "jobs" / response.json["id"] / "design.jpg").is_file()


def test_job_reported_by_the_addon_is_not_queued(create_job, app: Flask) -> None:
    response = create_job(source="blender")
    assert response.status_code == 202
    assert response.json["status"] == "rendering" and response.json["source"] == "blender"
    assert app.extensions["tshirt"].enqueued == []


@pytest.mark.parametrize("name", ["../../etc/passwd.png", "..\\..\\win.ini", "/abs/x.png",
                                  "spa ce/ünï.png", "..", ""])
def test_path_like_file_names_never_become_paths(create_job, data_dir: Path, name: str) -> None:
    response = create_job(filename=name)
    assert response.status_code == 202, response.json
    job = response.json
    stored_name = job["design"]["name"]
    assert "/" not in stored_name and "\\" not in stored_name and ".." not in stored_name
    assert stored_name.isascii() and stored_name
    files = sorted(p.relative_to(data_dir).as_posix() for p in data_dir.rglob("*")
                   if p.is_file() and p.suffix != ".db" and "tshirt.db" not in p.name)
    assert files == [f"jobs/{job['id']}/design.png"]


def test_over_ten_megabytes_is_413(create_job) -> None:
    # Just over the design limit but within the request limit: refused by the design check.
    big = png_bytes() + b"\0" * (MAX_DESIGN_BYTES + 1 - len(png_bytes()))
    response = create_job(big)
    assert response.status_code == 413
    assert response.json["code"] == "file_too_large"


def test_request_far_over_the_limit_is_413_json(create_job) -> None:
    response = create_job(b"\x89PNG" + b"\0" * (MAX_DESIGN_BYTES + 2 * 1024 * 1024))
    assert response.status_code == 413
    assert response.is_json and response.json["code"] == "file_too_large"


@pytest.mark.parametrize("payload", [b"GIF89a" + b"\0" * 100, b"%PDF-1.7", b"<svg></svg>",
                                     b"hello world"])
def test_not_png_or_jpeg_by_magic_bytes_is_415(create_job, payload: bytes) -> None:
    response = create_job(payload, filename="looks-like.png")
    assert response.status_code == 415
    assert response.json["code"] == "unsupported_media_type"


def test_truncated_png_is_422(create_job) -> None:
    data = png_bytes(200, 200, color=(1, 2, 3, 4))
    response = create_job(data[: len(data) // 2])
    assert response.status_code == 422
    assert response.json["code"] == "corrupt_image"


def test_garbage_after_png_signature_is_422(create_job) -> None:
    response = create_job(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)
    assert response.status_code == 422
    assert response.json["code"] == "corrupt_image"


def test_empty_file_is_422(create_job) -> None:
    response = create_job(b"")
    assert response.status_code == 422
    assert response.json["code"] == "corrupt_image"


def _faint(mode: str, alpha: int) -> bytes:
    """A 64 px design at `alpha` everywhere, as an RGBA, grey + alpha or palette PNG."""
    image = Image.new("RGBA", (64, 64), (200, 30, 30, alpha))
    buffer = io.BytesIO()
    if mode == "P":  # every pixel palette entry 0, which tRNS makes transparent
        Image.new("P", image.size, 0).save(buffer, "PNG", transparency=0)
    else:
        image.convert(mode).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(("mode", "alpha"), [("RGBA", 0), ("RGBA", INVISIBLE_ALPHA),
                                             ("LA", 0), ("P", 0)])
def test_a_fully_transparent_design_is_422_and_stores_nothing(create_job, data_dir: Path,
                                                              mode: str, alpha: int) -> None:
    response = create_job(_faint(mode, alpha))
    assert response.status_code == 422
    assert response.json == {"code": "empty_design", "message": "The design is fully "
                             "transparent: nothing in it would print."}
    assert not any((data_dir / "jobs").iterdir())


def test_a_design_with_one_faint_pixel_is_taken(create_job) -> None:
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    image.putpixel((5, 9), (200, 30, 30, INVISIBLE_ALPHA + 1))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    assert create_job(buffer.getvalue()).status_code == 202


def test_decompression_bomb_is_refused_before_decoding(create_job) -> None:
    bomb = png_header_only(100_000, 100_000)
    assert len(bomb) < 200
    response = create_job(bomb)
    assert response.status_code == 422
    assert response.json["code"] == "image_too_large"


def test_huge_dimensions_in_a_tiny_jpeg_are_refused(create_job) -> None:
    # SOI, then a baseline frame header claiming 65000 x 65000.
    jpeg = b"\xff\xd8\xff\xc0" + struct.pack(">HBHHB", 11, 8, 65000, 65000, 1) + b"\x01\x11\x00"
    response = create_job(jpeg, filename="x.jpg")
    assert response.status_code == 422
    assert response.json["code"] == "image_too_large"


@pytest.mark.parametrize(("fields", "code"), [
    ({"preset": "pocket-tiny"}, "unknown_preset"),
    ({"color": "not-a-colour"}, "invalid_color"),
    ({"color": "#12345"}, "invalid_color"),
    ({"template_id": "no-such-template"}, "unknown_template"),
    ({"template_id": "../etc"}, "invalid_id"),
    ({"quality": "ultra"}, "invalid_input"),
    ({"animation": "maybe"}, "invalid_input"),
    ({"background": "plaid"}, "invalid_color"),
    ({"source": "fax"}, "invalid_input"),
    ({"product_id": "../../x"}, "invalid_id"),
    ({"metadata": "[1, 2]"}, "invalid_input"),
    ({"metadata": "{not json"}, "invalid_input"),
])
def test_invalid_fields_are_422(create_job, fields: dict, code: str, data_dir: Path) -> None:
    response = create_job(**fields)
    assert response.status_code == 422, response.json
    assert response.json["code"] == code
    assert set(response.json) == {"code", "message"}
    assert not any((data_dir / "jobs").iterdir())


@pytest.mark.parametrize("missing", ["product_id", "preset", "color"])
def test_missing_fields_are_400(create_job, missing: str) -> None:
    response = create_job(**{missing: None})
    assert response.status_code == 400
    assert response.json["code"] == "bad_request"


def test_missing_design_is_400(client: FlaskClient, auth: dict) -> None:
    response = client.post("/admin/render-jobs", headers=auth, data={
        "product_id": "p", "preset": "chest-small", "color": "red"})
    assert response.status_code == 400 and response.json["code"] == "bad_request"


def test_inactive_template_and_unsupported_preset_are_422(client: FlaskClient, auth: dict,
                                                          create_job) -> None:
    client.post("/admin/render-templates", headers=auth, json={
        "id": "crop-top", "name": "Crop top", "supported_presets": ["chest-small"]})
    response = create_job(template_id="crop-top", preset="back-bottom-large")
    assert response.status_code == 422 and response.json["code"] == "unknown_preset"
    assert create_job(template_id="crop-top", preset="chest-small").status_code == 202
    client.patch("/admin/render-templates/crop-top", headers=auth, json={"active": False})
    response = create_job(template_id="crop-top", preset="chest-small")
    assert response.status_code == 422 and response.json["code"] == "unknown_template"


def test_design_bytes_are_read_not_the_declared_type(client: FlaskClient, auth: dict) -> None:
    response = client.post("/admin/render-jobs", headers=auth, data={
        "product_id": "p", "preset": "chest-small", "color": "red",
        "design": (io.BytesIO(b"GIF89a....."), "design.png", "image/png")})
    assert response.status_code == 415
