"""/admin/render-templates: seeded from render_assets, then managed over the API."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from shared.colors import parse_color
from shared.templates import discover_templates


def test_seeded_from_the_bundled_templates(client: FlaskClient, auth: dict) -> None:
    body = client.get("/admin/render-templates", headers=auth).json
    bundled = discover_templates()
    assert {t["id"] for t in body["items"]} == set(bundled) and body["total"] == len(bundled)
    classic = client.get("/admin/render-templates/classic-tee", headers=auth).json
    assert classic["is_default"] and classic["active"]
    assert classic["supported_presets"] == list(bundled["classic-tee"].supported_presets)
    assert not classic["model_path"].startswith("/")


def test_create_patch_delete(client: FlaskClient, auth: dict) -> None:
    response = client.post("/admin/render-templates", headers=auth, json={
        "id": "v-neck", "name": "V-neck", "model_path": "v-neck/shirt.blend",
        "supported_presets": ["chest-small", "chest-small", "back-large"],
        "default_color": "Black"})
    assert response.status_code == 201, response.json
    created = response.json
    assert created["supported_presets"] == ["chest-small", "back-large"]
    # The shirt-blank names mean the panel's swatch shades (shared.colors), not CSS black.
    assert created["default_color"] == parse_color("Black").hex and not created["is_default"]
    assert client.post("/admin/render-templates", headers=auth,
                       json={"id": "v-neck", "name": "again"}).status_code == 409

    response = client.patch("/admin/render-templates/v-neck", headers=auth,
                            json={"is_default": True, "description": "Deep V"})
    assert response.status_code == 200 and response.json["description"] == "Deep V"
    defaults = [t["id"] for t in client.get("/admin/render-templates", headers=auth).json["items"]
                if t["is_default"]]
    assert defaults == ["v-neck"]

    client.patch("/admin/render-templates/v-neck", headers=auth, json={"active": False})
    active = client.get("/admin/render-templates?active=true", headers=auth).json["items"]
    assert "v-neck" not in {t["id"] for t in active}

    response = client.delete("/admin/render-templates/v-neck", headers=auth)
    assert response.status_code == 204 and response.data == b""
    assert client.get("/admin/render-templates/v-neck", headers=auth).status_code == 404
    assert client.delete("/admin/render-templates/v-neck", headers=auth).status_code == 404


def test_template_in_use_cannot_be_deleted(client: FlaskClient, auth: dict, create_job) -> None:
    assert create_job(template_id="classic-tee").status_code == 202
    response = client.delete("/admin/render-templates/classic-tee", headers=auth)
    assert response.status_code == 409 and response.json["code"] == "template_in_use"


@pytest.mark.parametrize(("body", "status"), [
    ({"name": "no id"}, 400),
    ({"id": "x"}, 400),
    ({"id": "../up", "name": "x"}, 422),
    ({"id": "ok", "name": "x", "supported_presets": ["pocket"]}, 422),
    ({"id": "ok", "name": "x", "supported_presets": "chest-small"}, 422),
    ({"id": "ok", "name": "x", "default_color": "plaid"}, 422),
    ({"id": "ok", "name": "x", "model_path": "/etc/passwd"}, 422),
    ({"id": "ok", "name": "x", "model_path": "../../secret.blend"}, 422),
    ({"id": "ok", "name": "x", "thumbnail_path": "C:\\x.png"}, 422),
    ({"id": "ok", "name": "x", "active": "yes"}, 422),
    ({"id": "ok", "name": "x", "colour": "#fff"}, 422),
    ({"id": "ok", "name": ""}, 422),
])
def test_invalid_templates(client: FlaskClient, auth: dict, body: dict, status: int) -> None:
    response = client.post("/admin/render-templates", headers=auth, json=body)
    assert response.status_code == status, response.json
    assert set(response.json) == {"code", "message"}


def test_non_json_bodies_are_400(client: FlaskClient, auth: dict) -> None:
    assert client.post("/admin/render-templates", headers=auth, data="x").status_code == 400
    response = client.patch("/admin/render-templates/classic-tee", headers=auth,
                            data="[]", content_type="application/json")
    assert response.status_code == 400
    response = client.patch("/admin/render-templates/classic-tee", headers=auth,
                            json={"id": "renamed"})
    assert response.status_code == 422
    assert client.get("/admin/render-templates?active=maybe", headers=auth).status_code == 422
