"""Several prints in one job through the API (issue 16): a `prints` field naming its file parts,
each print stored, placed and shown with its own resolution; a print out of its printable area
refused before anything is stored; version 1's one design at a preset unchanged; a retry copies
the prints; the document describes both shapes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from common_helpers import multipart
from flask import Flask
from flask.testing import FlaskClient

from shared.angles import ANGLE_IDS
from shared.prints import MAX_PRINTS
from sync_service.api.openapi import build_spec
from sync_service.dashboard.display import stills
from sync_service.models import RenderJob, RenderJobPrint

from .conftest import png_bytes
from .test_lifecycle import make_outputs, post_outputs

FRONT = png_bytes(300, 200, color=(0, 200, 0, 255))
BACK = png_bytes(120, 160, color=(200, 0, 200, 255))
TWO_PRINTS = [
    {"file": "front", "preset": "chest-medium", "offset_cm": [0, 5], "scale": 0.8,
     "rotation_deg": 10},
    {"file": "back", "preset": "back-large"},
]


def post_prints(client: FlaskClient, auth: dict[str, str], prints: Any,
                files: dict[str, bytes], headers: dict[str, str] | None = None,
                **fields: Any) -> Any:
    form: dict[str, Any] = {"product_id": "prod_01", "color": "navy",
                            "prints": prints if isinstance(prints, str) else json.dumps(prints),
                            **fields}
    for name, data in files.items():
        form[name] = (io.BytesIO(data), f"{name}.png")
    return client.post("/admin/render-jobs", headers={**auth, **(headers or {})},
                       **multipart(form))


def stored_files(data_dir: Path) -> list[str]:
    jobs = data_dir / "jobs"
    return sorted(p.relative_to(jobs).as_posix() for p in jobs.rglob("*") if p.is_file()) \
        if jobs.is_dir() else []


def design_of(client: FlaskClient, auth: dict[str, str], job_id: str, position: int) -> bytes:
    with client.get(f"/admin/render-jobs/{job_id}/design?position={position}",
                    headers=auth) as response:
        assert response.status_code == 200
        return response.data


def job_rows(app: Flask) -> tuple[int, int]:
    with app.extensions["tshirt"].db.session() as session:
        return (session.query(RenderJob).count(), session.query(RenderJobPrint).count())


def test_a_two_print_job_is_stored_and_shown(client: FlaskClient, auth: dict[str, str],
                                             app: Flask, data_dir: Path) -> None:
    response = post_prints(client, auth, TWO_PRINTS, {"front": FRONT, "back": BACK})
    assert response.status_code == 202, response.json
    job = response.json
    first, second = job["prints"]
    assert (first["position"], first["preset"], first["offset_cm"], first["scale"],
            first["rotation_deg"]) == (0, "chest-medium", [0.0, 5.0], 0.8, 10.0)
    assert (second["position"], second["preset"], second["offset_cm"], second["scale"],
            second["rotation_deg"]) == (1, "back-large", [0.0, 0.0], 1.0, 0.0)
    assert (first["design"]["width"], first["design"]["height"]) == (300, 200)
    assert (second["design"]["width"], second["design"]["height"]) == (120, 160)
    assert first["design"]["name"] == "front.png"
    # the job's own fields are its first print, as version-1 clients read them
    assert job["preset"] == "chest-medium"
    assert job["design"]["sha256"] == first["design"]["sha256"]
    assert job["design"]["dpi"] == first["dpi"]
    # dpi at the final size: 300 px over 10 in at scale 0.8 is 37.5 DPI
    assert first["dpi"] == pytest.approx(300 / (10 * 0.8), abs=0.1)
    assert second["dpi"] == pytest.approx(160 / 16, abs=0.1)
    assert first["warnings"] == ["Print 1 (chest-medium): The design is 38 DPI at its "
                                 "printed size and will print blurry: 150 DPI is the "
                                 "minimum, 300 ideal."]
    assert second["warnings"][0].startswith("Print 2 (back-large): The design is 10 DPI")
    assert job["warnings"] == first["warnings"] + second["warnings"]
    assert stored_files(data_dir) == [f"{job['id']}/design-1.png", f"{job['id']}/design.png"]
    for position, data in ((0, FRONT), (1, BACK)):
        assert design_of(client, auth, job["id"], position) == data
        assert job["prints"][position]["design"]["url"].endswith(f"?position={position}")
    assert client.get(f"/admin/render-jobs/{job['id']}/design?position=2",
                      headers=auth).status_code == 404
    assert client.get(f"/admin/render-jobs/{job['id']}/design?position=x",
                      headers=auth).status_code == 422
    # the poll, the list and a product's history show the same prints
    polled = client.get(f"/admin/render-jobs/{job['id']}", headers=auth).json
    listed = client.get("/admin/render-jobs", headers=auth).json["items"][0]
    history = client.get("/admin/products/prod_01/render-jobs", headers=auth).json["items"][0]
    assert polled["prints"] == listed["prints"] == history["prints"] == job["prints"]
    assert client.get("/admin/render-jobs?preset=chest-medium",
                      headers=auth).json["total"] == 1
    assert client.get("/admin/render-jobs?preset=back-large", headers=auth).json["total"] == 0
    assert app.extensions["tshirt"].enqueued == [job["id"]]


def test_one_part_may_serve_several_prints(client: FlaskClient, auth: dict[str, str],
                                           data_dir: Path) -> None:
    prints = [{"file": "logo", "preset": "chest-left"}, {"file": "logo", "preset": "back-small"},
              {"file": "big", "preset": "back-bottom-large", "rotation_deg": -90}]
    response = post_prints(client, auth, prints, {"logo": FRONT, "big": BACK},
                           template_id="long-sleeve-tee")
    assert response.status_code == 202, response.json
    job = response.json
    assert [p["preset"] for p in job["prints"]] == ["chest-left", "back-small",
                                                     "back-bottom-large"]
    assert job["prints"][0]["design"]["sha256"] == job["prints"][1]["design"]["sha256"]
    assert stored_files(data_dir) == [f"{job['id']}/design-1.png", f"{job['id']}/design.png"]


@pytest.mark.parametrize(("prints", "files", "status", "code", "words"), [
    # out of its printable area: named, with the cm
    ([TWO_PRINTS[0], {"file": "back", "preset": "back-large", "offset_cm": [0, 30]}],
     {"front": FRONT, "back": BACK}, 422, "print_out_of_area", "Print 2 (back-large) leaves"),
    ([{"file": "front", "preset": "chest-small", "scale": 4}], {"front": FRONT}, 422,
     "print_out_of_area", "Print 1 (chest-small) leaves the front printable area by"),
    # a damaged second design, named
    (TWO_PRINTS, {"front": FRONT, "back": b"\x89PNG\r\n\x1a\nnot really"}, 422,
     "corrupt_image", "Design 'back'"),
    (TWO_PRINTS, {"front": FRONT, "back": b"GIF89a"}, 415, "unsupported_media_type",
     "Design 'back'"),
    # the request's own shape
    (TWO_PRINTS, {"front": FRONT}, 400, "bad_request", "'back', which the request does not"),
    (TWO_PRINTS, {"front": FRONT, "back": BACK, "extra": BACK}, 422, "invalid_input",
     "'extra' is not named by any print"),
    ("not json", {"front": FRONT}, 422, "invalid_spec", "JSON list of prints"),
    ([], {"front": FRONT}, 422, "invalid_spec", "non-empty list"),
    ([{"file": "front", "preset": "chest-small"}] * (MAX_PRINTS + 1), {"front": FRONT}, 422,
     "invalid_spec", f"at most {MAX_PRINTS}"),
    ([{"file": "front", "preset": "chest-small", "design": "x"}], {"front": FRONT}, 422,
     "invalid_spec", "Unknown field(s) in print 1: design"),
    ([{"file": "front", "preset": "pocket"}], {"front": FRONT}, 422, "unknown_preset",
     "print 1: Unknown preset 'pocket'"),
    ([{"file": "front", "preset": "chest-small", "scale": 0}], {"front": FRONT}, 422,
     "invalid_spec", "print 1 field 'scale'"),
])
def test_a_refused_request_stores_nothing(client: FlaskClient, auth: dict[str, str],
                                          app: Flask, data_dir: Path, prints: Any,
                                          files: dict[str, bytes], status: int, code: str,
                                          words: str) -> None:
    response = post_prints(client, auth, prints, files)
    assert response.status_code == status, response.json
    assert response.json["code"] == code
    assert words in response.json["message"]
    assert stored_files(data_dir) == []
    assert job_rows(app) == (0, 0)
    assert app.extensions["tshirt"].enqueued == []


def test_a_print_the_template_cannot_place_is_refused(client: FlaskClient, auth: dict[str, str],
                                                      app: Flask, data_dir: Path) -> None:
    made = client.post("/admin/render-templates", headers=auth, json={
        "id": "front-only", "name": "Front only", "supported_presets": ["chest-medium"]})
    assert made.status_code == 201, made.json
    response = post_prints(client, auth, TWO_PRINTS, {"front": FRONT, "back": BACK},
                           template_id="front-only")
    assert response.status_code == 422 and response.json["code"] == "unknown_preset"
    assert response.json["message"].startswith(
        "Print 2: Template 'front-only' does not support preset 'back-large'")
    assert stored_files(data_dir) == [] and job_rows(app) == (0, 0)


def test_prints_and_a_preset_together_are_refused(client: FlaskClient,
                                                  auth: dict[str, str]) -> None:
    response = post_prints(client, auth, TWO_PRINTS, {"front": FRONT, "back": BACK},
                           preset="chest-small")
    assert response.status_code == 422 and "either 'prints' or 'preset'" in \
        response.json["message"]


def test_the_version_1_shape_is_unchanged(create_job, client: FlaskClient,
                                          auth: dict[str, str]) -> None:
    response = create_job(png_bytes(120, 120), preset="chest-large")
    assert response.status_code == 202, response.json
    job = response.json
    blurry = ("The design is 10 DPI at its printed size and will print blurry: 150 DPI is the "
              "minimum, 300 ideal.")
    assert job["warnings"] == [blurry]
    assert job["preset"] == "chest-large"
    assert set(job["design"]) == {"name", "media_type", "size_bytes", "sha256", "width",
                                  "height", "dpi", "url"}
    assert job["design"]["url"].endswith(f"/admin/render-jobs/{job['id']}/design")
    (only,) = job["prints"]
    assert (only["position"], only["preset"], only["offset_cm"], only["scale"],
            only["rotation_deg"], only["warnings"]) == (0, "chest-large", [0.0, 0.0], 1.0,
                                                         0.0, [blurry])
    assert only["dpi"] == job["design"]["dpi"]
    with client.get(f"/admin/render-jobs/{job['id']}/design", headers=auth) as design:
        assert design.data == png_bytes(120, 120)


def test_the_idempotency_key_finds_a_several_print_job(client: FlaskClient,
                                                       auth: dict[str, str],
                                                       app: Flask) -> None:
    key = {"Idempotency-Key": "two-prints-1"}
    first = post_prints(client, auth, TWO_PRINTS, {"front": FRONT, "back": BACK}, key)
    again = post_prints(client, auth, TWO_PRINTS, {"front": FRONT, "back": BACK}, key)
    assert first.status_code == again.status_code == 202
    assert first.json["id"] == again.json["id"] and first.json["prints"] == again.json["prints"]
    assert job_rows(app) == (1, 2)


def test_a_retry_copies_the_prints(client: FlaskClient, auth: dict[str, str],
                                   data_dir: Path) -> None:
    old = post_prints(client, auth, TWO_PRINTS, {"front": FRONT, "back": BACK}).json
    client.post(f"/admin/render-jobs/{old['id']}/cancel", headers=auth)
    retried = client.post(f"/admin/render-jobs/{old['id']}/retry", headers=auth, json={})
    assert retried.status_code == 202, retried.json
    new = retried.json
    assert new["id"] != old["id"] and new["retried_from"] == old["id"]

    def placement(job: dict[str, Any]) -> list[tuple]:
        return [(p["position"], p["preset"], p["offset_cm"], p["scale"], p["rotation_deg"],
                 p["design"]["sha256"], p["design"]["name"]) for p in job["prints"]]

    assert placement(new) == placement(old)
    assert sorted(f for f in stored_files(data_dir) if f.startswith(new["id"])) == [
        f"{new['id']}/design-1.png", f"{new['id']}/design.png"]
    assert design_of(client, auth, new["id"], 1) == BACK
    # a retry's `preset` moves the first print; a placement that no longer fits is refused
    client.post(f"/admin/render-jobs/{new['id']}/cancel", headers=auth)
    moved = client.post(f"/admin/render-jobs/{new['id']}/retry", headers=auth,
                        json={"preset": "chest-large"}).json
    assert [p["preset"] for p in moved["prints"]] == ["chest-large", "back-large"]
    assert moved["preset"] == "chest-large"
    client.post(f"/admin/render-jobs/{moved['id']}/cancel", headers=auth)
    refused = client.post(f"/admin/render-jobs/{moved['id']}/retry", headers=auth,
                          json={"preset": "back-bottom-small"})
    assert refused.status_code == 422 and refused.json["code"] == "print_out_of_area"


def test_outputs_must_render_every_print(client: FlaskClient, auth: dict[str, str]) -> None:
    job = post_prints(client, auth, TWO_PRINTS, {"front": FRONT, "back": BACK},
                      source="blender").json
    only_first, files = make_outputs({**job, "prints": job["prints"][:1]})
    response = post_outputs(client, auth, job["id"], only_first, files)
    assert response.status_code == 422 and response.json["code"] == "manifest_mismatch"
    manifest, files = make_outputs(job)
    assert post_outputs(client, auth, job["id"], manifest, files).status_code == 200


def test_the_document_describes_both_shapes() -> None:
    spec = build_spec()
    post = spec["paths"]["/admin/render-jobs"]["post"]
    form = post["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert set(form["required"]) == {"product_id", "color"}
    assert {"design", "preset", "prints"} <= set(form["properties"])
    assert form["additionalProperties"]["format"] == "binary"  # the named file parts
    for words in ("Either one design at a preset", "the field `prints` and the file parts it "
                  "names", "print_out_of_area", "stores nothing"):
        assert words in form["description"]
    prints = form["properties"]["prints"]["contentSchema"]
    assert set(prints["items"]["properties"]) == {"file", "preset", "offset_cm", "scale",
                                                  "rotation_deg"}
    assert prints["items"]["required"] == ["file", "preset"]
    assert (prints["minItems"], prints["maxItems"]) == (1, MAX_PRINTS)
    design = spec["paths"]["/admin/render-jobs/{job_id}/design"]["get"]
    assert [p["name"] for p in design["parameters"]] == ["job_id", "position"]
    assert "prints" in spec["components"]["schemas"]["RenderJob"]["required"]


def test_a_close_up_still_is_an_output_the_document_and_the_dashboard_know(
        client: FlaskClient, auth: dict[str, str]) -> None:
    """A neck label adds a close-up after the six views (`shared.angles.STILLS`)."""
    job = post_prints(client, auth, [{"file": "front", "preset": "chest-medium"}],
                      {"front": FRONT}, source="blender").json
    manifest, files = make_outputs(job, (*ANGLE_IDS, "neck_label_closeup"))
    done = post_outputs(client, auth, job["id"], manifest, files)
    assert done.status_code == 200, done.json
    schema = build_spec()["components"]["schemas"]["RenderJob"]
    angles = schema["properties"]["outputs"]["items"]["properties"]["angle"]["anyOf"][0]["enum"]
    assert "neck_label_closeup" in angles
    assert [label for label, _output in stills(done.json)][-1] == "Neck label, close-up"
