"""The same API on PostgreSQL: one walk through every kind of route on a migrated schema."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from common_helpers import multipart
from flask import Flask
from sqlalchemy import text

from sync_service.app import create_app

from .conftest import TOKEN, png_bytes
from .test_lifecycle import make_outputs, post_outputs


@pytest.fixture
def pg_app(tmp_path: Path, postgres_database_url: str) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "TSHIRT_DATA_DIR": str(tmp_path),
                      "DATABASE_URL": postgres_database_url, "TSHIRT_API_TOKENS": TOKEN})
    try:
        yield app
    finally:
        app.extensions["tshirt"].db.dispose()


def test_api_walkthrough_on_postgres(pg_app: Flask) -> None:
    client = pg_app.test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def create(**fields: str) -> dict:
        data = {"product_id": "prod_pg", "preset": "chest-large", "color": "navy", **fields,
                "design": (io.BytesIO(png_bytes()), "d.png")}
        response = client.post("/admin/render-jobs", headers=auth, **multipart(data))
        assert response.status_code == 202, response.json
        return response.json

    first, second = create(), create(source="blender")
    assert first["created_at"].endswith("Z")
    body = client.get("/admin/render-jobs?status=pending,rendering&order=asc", headers=auth).json
    assert [j["id"] for j in body["items"]] == [first["id"], second["id"]]
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat().replace("+", "%2B")
    assert client.get(f"/admin/render-jobs?created_after={since}",
                      headers=auth).json["total"] == 2
    assert client.get("/admin/products/prod_pg/render-jobs?preset=chest-large&limit=1",
                      headers=auth).json["total"] == 2

    manifest, files = make_outputs(second)
    done = post_outputs(client, auth, second["id"], manifest, files)
    assert done.status_code == 200 and done.json["status"] == "completed"

    assert client.post(f"/admin/render-jobs/{first['id']}/cancel",
                       headers=auth).json["status"] == "cancelled"
    retried = client.post(f"/admin/render-jobs/{first['id']}/retry", headers=auth,
                          json={"color": "#fff"})
    assert retried.status_code == 202 and retried.json["retried_from"] == first["id"]
    assert client.delete("/admin/render-templates/classic-tee", headers=auth).status_code == 409
    response = client.post("/admin/render-jobs", headers=auth, **multipart({
        "product_id": "p", "preset": "nope", "color": "red",
        "design": (io.BytesIO(png_bytes()), "d.png")}))
    assert response.status_code == 422
    assert client.get("/health").json["database"] == "ok"


def test_a_poll_survives_the_database_dropping_its_kept_connection(pg_app: Flask) -> None:
    client = pg_app.test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    data = {"product_id": "prod_pg", "preset": "chest-large", "color": "navy",
            "design": (io.BytesIO(png_bytes()), "d.png")}
    job_id = client.post("/admin/render-jobs", headers=auth, **multipart(data)).json["id"]
    assert client.get(f"/admin/render-jobs/{job_id}", headers=auth).status_code == 200
    database = pg_app.extensions["tshirt"].db
    backend = database.read(
        lambda connection: connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
    # What a database restart or an idle-session timeout does to the kept connection.
    with database.engine.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    response = client.get(f"/admin/render-jobs/{job_id}", headers=auth)
    assert response.status_code == 200 and response.json["id"] == job_id


def test_a_several_print_job_on_postgres(pg_app: Flask) -> None:
    client = pg_app.test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    prints = [{"file": "a", "preset": "chest-medium", "offset_cm": [0, 2.5], "scale": 0.5},
              {"file": "b", "preset": "back-large", "rotation_deg": 5, "scale": 0.8}]
    response = client.post("/admin/render-jobs", headers=auth, **multipart({
        "product_id": "prod_pg", "color": "navy", "prints": json.dumps(prints),
        "a": (io.BytesIO(png_bytes(40, 30)), "a.png"), "b": (io.BytesIO(png_bytes()), "b.png")}))
    assert response.status_code == 202, response.json
    job = response.json
    polled = client.get(f"/admin/render-jobs/{job['id']}", headers=auth).json
    listed = client.get("/admin/products/prod_pg/render-jobs", headers=auth).json["items"]
    assert polled["prints"] == listed[0]["prints"] == job["prints"]
    assert [(p["preset"], p["offset_cm"], p["scale"], p["rotation_deg"])
            for p in polled["prints"]] == [("chest-medium", [0.0, 2.5], 0.5, 0.0),
                                           ("back-large", [0.0, 0.0], 0.8, 5.0)]
    client.post(f"/admin/render-jobs/{job['id']}/cancel", headers=auth)
    retried = client.post(f"/admin/render-jobs/{job['id']}/retry", headers=auth, json={})
    assert retried.status_code == 202 and retried.json["prints"][1]["preset"] == "back-large"
