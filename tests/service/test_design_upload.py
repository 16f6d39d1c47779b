"""A design through the API: stored byte for byte, described by its upright size and its print
resolution at the job's preset (with the warning people act on), and rendered from one
normalised copy."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from common_helpers import multipart
from design_files import make_design_files, max_difference
from fake_renderer import FakeRenderer
from flask.testing import FlaskClient
from PIL import Image

from shared.presets import get_preset
from sync_service.app import create_app
from sync_service.jobs.uploads import PRINT_COPY_NAME, print_copy
from sync_service.queue.runtime import get_queue

from .conftest import TOKEN, png_bytes

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _submit(client: FlaskClient, design: bytes, name: str = "design.png",
            preset: str = "chest-large") -> dict[str, Any]:
    fields = {"product_id": "prod_1", "preset": preset, "color": "navy",
              "design": (io.BytesIO(design), name)}
    response = client.post("/admin/render-jobs", headers=AUTH, **multipart(fields))
    assert response.status_code == 202, response.json
    return response.json


@pytest.mark.parametrize(("size", "preset", "expected"), [
    # 120 px over a 12 in wide print: the example
    ((120, 120), "chest-large", ["The design is 10 DPI at its printed size and will print "
                                 "blurry: 150 DPI is the minimum, 300 ideal."]),
    # a 4 in chest print is 10.2 cm: 900 px are 224 DPI there
    ((900, 900), "chest-small", ["The design is 224 DPI at its printed size: acceptable, "
                                 "300 DPI would print sharp."]),
    ((1300, 1300), "chest-small", []),
])
def test_the_job_says_how_the_design_prints(client, size, preset, expected):
    job = _submit(client, png_bytes(*size), preset=preset)
    assert job["warnings"] == expected
    inches = get_preset(preset).width_cm / 2.54
    assert job["design"]["dpi"] == pytest.approx(size[0] / inches, abs=0.05)
    again = client.get(f"/admin/render-jobs/{job['id']}", headers=AUTH).json
    listed = client.get("/admin/render-jobs", headers=AUTH).json["items"]
    assert again["warnings"] == listed[0]["warnings"] == expected


def test_a_phone_photo_is_described_upright_and_kept_byte_for_byte(client, tmp_path):
    """Stored 16 x 32 with EXIF orientation 6: people see (and print) 32 x 16."""
    fixture = make_design_files(tmp_path)["orientation6_dpi.jpg"]
    original = fixture.path.read_bytes()
    with Image.open(fixture.path) as stored:
        assert stored.size == (16, 32)
    job = _submit(client, original, name="photo.jpg")
    assert (job["design"]["width"], job["design"]["height"]) == (32, 16)
    # the wide side fills the 12 in width of a full-front print
    assert job["design"]["dpi"] == pytest.approx(32 / (30.5 / 2.54), abs=0.05)
    assert "3 DPI" in job["warnings"][0] and "will print blurry" in job["warnings"][0]
    with client.get(f"/admin/render-jobs/{job['id']}/design", headers=AUTH) as served:
        assert served.status_code == 200 and served.data == original


@pytest.mark.parametrize("name", ["orientation6.jpg", "orientation6.png", "orientation3.jpg",
                                  "p3_alpha.png", "grey16.png", "cmyk.jpg"])
def test_the_print_copy_is_the_normalised_design(tmp_path, name):
    fixture = make_design_files(tmp_path / "designs")[name]
    before = fixture.path.read_bytes()
    work = tmp_path / "work"
    work.mkdir()
    copy = print_copy(fixture.path, work)
    assert copy == work / PRINT_COPY_NAME and fixture.path.read_bytes() == before
    with Image.open(copy) as image:
        assert (image.format, image.mode, image.size) == ("PNG", "RGBA", (32, 16))
        pixels = np.asarray(image)
    assert max_difference(pixels, fixture.expected) <= fixture.tolerance


def test_the_worker_renders_the_print_copy(data_dir: Path, tmp_path):
    fake = FakeRenderer(tmp_path / "fake-renderer")
    app = create_app({"TESTING": True, "TSHIRT_DATA_DIR": str(data_dir),
                      "TSHIRT_API_TOKENS": TOKEN, "TSHIRT_DEV_MODE": False, "REDIS_URL": None,
                      "TSHIRT_RETRY_DELAY_S": 0, "TSHIRT_BLENDER_BIN": str(fake.binary)})
    queue = get_queue(app)
    try:
        queue.enqueued = []
        queue.worker.enqueue = lambda job_id, delay: queue.enqueued.append((job_id, delay))
        fixture = make_design_files(tmp_path / "designs")["orientation8.jpg"]
        job = _submit(app.test_client(), fixture.path.read_bytes(), name="photo.jpg")
        queue.worker.run(job["id"])
        done = app.test_client().get(f"/admin/render-jobs/{job['id']}", headers=AUTH).json
        assert done["status"] == "completed", done["error"]
        (run,) = fake.runs()
        assert Path(run["spec"]["prints"][0]["design"]).name == PRINT_COPY_NAME
        stored = app.extensions["tshirt"].storage.path(f"jobs/{job['id']}/design.jpg")
        assert stored.read_bytes() == fixture.path.read_bytes()
    finally:
        queue.stop(wait_s=5)
        app.extensions["tshirt"].db.dispose()
