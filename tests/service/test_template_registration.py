"""Registering a template with its model (`POST /admin/render-templates`, multipart): validated
by `shared.templates`, stored under the data directory, listed, used by jobs, its files served
to remote workers; every refusal leaves no row and no file."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from common_helpers import multipart
from flask.testing import FlaskClient
from template_uploads import PRESETS, glb_bytes, registration, template_json

from shared import template_files

from .conftest import png_bytes

URL = "/admin/render-templates"


def stored(data_dir: Path, template_id: str = "my-hoodie") -> Path:
    return data_dir / "templates" / template_id


def nothing_left(client: FlaskClient, auth: dict, data_dir: Path,
                 template_id: str = "my-hoodie") -> None:
    assert client.get(f"{URL}/{template_id}", headers=auth).status_code == 404
    assert not stored(data_dir, template_id).exists()
    assert not [p for p in (data_dir / "tmp").iterdir() if p.name.startswith(".template-")]


def test_a_gltf_template_is_registered_listed_and_its_files_served(
        client: FlaskClient, auth: dict, data_dir: Path) -> None:
    model = glb_bytes()
    response = client.post(URL, headers=auth, **registration(model=model))
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["id"], body["name"], body["default_color"]) == ("my-hoodie", "My hoodie",
                                                                  "#334455")
    assert body["supported_presets"] == PRESETS and body["active"] and not body["is_default"]
    # The row records the model relative to the data directory, where it is stored.
    assert body["model_path"] == "templates/my-hoodie/garment.glb"
    assert (data_dir / body["model_path"]).read_bytes() == model
    assert json.loads((stored(data_dir) / "template.json").read_text())["id"] == "my-hoodie"

    listed = client.get(URL, headers=auth).json["items"]
    assert "my-hoodie" in {t["id"] for t in listed}
    files = client.get(f"{URL}/my-hoodie/files", headers=auth).json["items"]
    assert [f["name"] for f in files] == ["garment.glb", "template.json"]
    assert files[0] == {"name": "garment.glb", "size": len(model),
                        "sha256": hashlib.sha256(model).hexdigest()}
    with client.get(f"{URL}/my-hoodie/files/garment.glb", headers=auth) as served:
        assert served.status_code == 200 and served.data == model
    # Only the template's own files, by name: nothing else of the data directory.
    for name in ("tshirt.db", "..%2Ftshirt.db", "missing.glb"):
        response = client.get(f"{URL}/my-hoodie/files/{name}", headers=auth)
        assert response.status_code == 404 and set(response.json) == {"code", "message"}
    # A bundled template has no stored files (workers name it by its id).
    assert client.get(f"{URL}/classic-tee/files", headers=auth).json == {"items": []}
    assert client.get(f"{URL}/classic-tee/files/template.json", headers=auth).status_code == 404
    assert client.get(f"{URL}/nope/files", headers=auth).status_code == 404


def test_a_job_can_use_a_registered_template(client: FlaskClient, auth: dict,
                                             create_job: Any) -> None:
    assert client.post(URL, headers=auth, **registration()).status_code == 201
    response = create_job(template_id="my-hoodie", preset="back-large")
    assert response.status_code == 202, response.json
    assert response.json["template_id"] == "my-hoodie"
    # Its presets are the ones its template.json lists.
    response = create_job(template_id="my-hoodie", preset="chest-small")
    assert response.status_code == 422 and response.json["code"] == "unknown_preset"


def test_template_json_may_come_as_a_file_part_and_a_blend_model_too(
        client: FlaskClient, auth: dict, data_dir: Path) -> None:
    fields = {"template": (io.BytesIO(template_json("blend-tee", "shirt.blend").encode()),
                           "template.json"),
              "model": (io.BytesIO(b"BLENDER-v405" + bytes(64)), "shirt.blend")}
    response = client.post(URL, headers=auth, **multipart(fields))
    assert response.status_code == 201, response.json
    assert response.json["model_path"] == "templates/blend-tee/shirt.blend"


def test_json_still_adds_a_metadata_only_row(client: FlaskClient, auth: dict,
                                             data_dir: Path) -> None:
    response = client.post(URL, headers=auth, json={"id": "v-neck", "name": "V-neck"})
    assert response.status_code == 201
    assert client.get(f"{URL}/v-neck/files", headers=auth).json == {"items": []}
    assert not stored(data_dir, "v-neck").exists()


def test_deleting_a_registered_template_removes_its_files(client: FlaskClient, auth: dict,
                                                          data_dir: Path) -> None:
    assert client.post(URL, headers=auth, **registration()).status_code == 201
    response = client.patch(f"{URL}/my-hoodie", headers=auth, json={"model_path": "x.glb"})
    assert response.status_code == 422  # the stored model is where it stays
    assert client.patch(f"{URL}/my-hoodie", headers=auth,
                        json={"description": "Warm"}).status_code == 200
    assert client.delete(f"{URL}/my-hoodie", headers=auth).status_code == 204
    nothing_left(client, auth, data_dir)
    # ... so the id can be registered again.
    assert client.post(URL, headers=auth, **registration()).status_code == 201


@pytest.mark.parametrize(("template", "model", "filename", "status", "code"), [
    # not what its name says (a PNG called .glb)
    (None, png_bytes(), "garment.glb", 422, "invalid_template"),
    (None, b"glTF\x01\x00\x00\x00" + bytes(20), "garment.glb", 422, "invalid_template"),
    (template_json(model_file="garment.gltf"), b'{"no": "asset"}', "garment.gltf", 422,
     "invalid_template"),
    # a model path that leaves the folder, or one the upload does not carry
    (template_json(model_file="../garment.glb"), None, "garment.glb", 422, "invalid_template"),
    (template_json(model_file="sub/garment.glb"), None, "garment.glb", 422,
     "invalid_template"),
    (template_json(model_file="/etc/garment.glb"), None, "garment.glb", 422,
     "invalid_template"),
    (None, None, "other.glb", 422, "invalid_template"),
    (template_json(model_file="gar\0ment.glb"), None, "gar\0ment.glb", 422,
     "invalid_template"),
    (template_json(model_file="g" * 300 + ".glb"), None, "g" * 300 + ".glb", 422,
     "invalid_template"),
    # a .gltf whose buffer is a file outside the folder
    (template_json(model_file="garment.gltf"),
     json.dumps({"asset": {"version": "2.0"}, "buffers": [{"uri": "../../tshirt.db"}]}).encode(),
     "garment.gltf", 422, "invalid_template"),
    # template.json itself
    ("{not json", None, "garment.glb", 422, "invalid_template"),
    (json.dumps(["a list"]), None, "garment.glb", 422, "invalid_template"),
    ("[" * 100_000 + "]" * 100_000, None, "garment.glb", 422, "invalid_template"),
    (template_json(template_id="../up"), None, "garment.glb", 422, "invalid_id"),
    (template_json(template_id="Upper"), None, "garment.glb", 422, "invalid_template"),
    (template_json(supported_presets=["pocket"]), None, "garment.glb", 422, "invalid_template"),
    (template_json(model={"kind": "procedural", "generator": "classic_tee"}), None,
     "garment.glb", 422, "invalid_template"),
    (template_json(model_file="garment.obj"), None, "garment.obj", 422, "invalid_template"),
])
def test_refusals_leave_nothing_behind(client: FlaskClient, auth: dict, data_dir: Path,
                                       template: str | None, model: bytes | None,
                                       filename: str, status: int, code: str) -> None:
    response = client.post(URL, headers=auth, **registration(template, model, filename))
    assert (response.status_code, response.json["code"]) == (status, code), response.json
    assert set(response.json) == {"code", "message"}
    nothing_left(client, auth, data_dir)


def test_missing_parts_are_400(client: FlaskClient, auth: dict, data_dir: Path) -> None:
    only_model = multipart({"model": (io.BytesIO(glb_bytes()), "garment.glb")})
    only_template = multipart({"template": template_json()})
    for body in (only_model, only_template):
        response = client.post(URL, headers=auth, **body)
        assert response.status_code == 400 and response.json["code"] == "bad_request"
    nothing_left(client, auth, data_dir)


@pytest.mark.parametrize("over", [1, 2 * 1024 * 1024], ids=["model", "whole-request"])
def test_a_model_over_the_limit_is_413(client: FlaskClient, auth: dict, data_dir: Path,
                                       monkeypatch: pytest.MonkeyPatch, over: int) -> None:
    """Over the limit by a byte (the model's own check) or by more than the request's room
    (refused while the upload is read)."""
    model = glb_bytes(padding=4096)
    monkeypatch.setattr(template_files, "MAX_MODEL_BYTES", len(model) - over)
    response = client.post(URL, headers=auth, **registration(model=model if over == 1 else
                                                             glb_bytes(padding=over + 8192)))
    assert (response.status_code, response.json["code"]) == (413, "model_too_large")
    nothing_left(client, auth, data_dir)


def test_duplicates_are_409(client: FlaskClient, auth: dict, data_dir: Path) -> None:
    assert client.post(URL, headers=auth, **registration()).status_code == 201
    before = (stored(data_dir) / "garment.glb").read_bytes()
    response = client.post(URL, headers=auth, **registration(model=glb_bytes(padding=8)))
    assert (response.status_code, response.json["code"]) == (409, "already_exists")
    assert (stored(data_dir) / "garment.glb").read_bytes() == before
    # A bundled template's id, even once its row is gone, and a metadata-only row's id.
    assert client.post(URL, headers=auth, json={"id": "v-neck", "name": "V"}).status_code == 201
    assert client.delete(f"{URL}/classic-tee", headers=auth).status_code == 204
    for template_id in ("classic-tee", "v-neck"):
        response = client.post(URL, headers=auth,
                               **registration(template_json(template_id=template_id)))
        assert (response.status_code, response.json["code"]) == (409, "already_exists")
        assert not stored(data_dir, template_id).exists()


def test_registration_and_files_need_the_token(client: FlaskClient, auth: dict,
                                               data_dir: Path) -> None:
    response = client.post(URL, **registration())
    assert response.status_code == 401
    nothing_left(client, auth, data_dir)
    assert client.post(URL, headers=auth, **registration()).status_code == 201
    for path in ("/files", "/files/garment.glb"):
        assert client.get(f"{URL}/my-hoodie{path}").status_code == 401
        assert client.get(f"{URL}/my-hoodie{path}",
                          headers={"Authorization": "Bearer wrong"}).status_code == 401
