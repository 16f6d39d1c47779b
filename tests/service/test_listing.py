"""GET /admin/render-jobs/<id>, GET /admin/render-jobs and the per-product history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient

from shared.presets import PRESET_IDS


@pytest.fixture
def five_jobs(create_job) -> list[dict]:
    jobs = []
    for index in range(5):
        response = create_job(product_id="prod_a" if index < 3 else "prod_b",
                              preset=PRESET_IDS[index % 2],
                              source="api" if index != 4 else "blender")
        assert response.status_code == 202
        jobs.append(response.json)
    return jobs


def test_get_one_job(client: FlaskClient, auth: dict, five_jobs: list[dict]) -> None:
    job = five_jobs[0]
    response = client.get(f"/admin/render-jobs/{job['id']}", headers=auth)
    assert response.status_code == 200
    assert response.json == job
    assert response.json["design"]["url"] == f"/admin/render-jobs/{job['id']}/design"


def test_unknown_job_is_404(client: FlaskClient, auth: dict) -> None:
    for job_id in ("rjob_01ARZ3NDEKTSV4RRFFQ69G5FAV", "nope", "..%2F..%2Fetc"):
        response = client.get(f"/admin/render-jobs/{job_id}", headers=auth)
        assert response.status_code == 404
        assert response.json["code"] == "not_found"


def test_list_newest_first_with_total(client: FlaskClient, auth: dict,
                                      five_jobs: list[dict]) -> None:
    response = client.get("/admin/render-jobs", headers=auth)
    assert response.status_code == 200
    body = response.json
    assert (body["total"], body["limit"], body["offset"]) == (5, 20, 0)
    assert [j["id"] for j in body["items"]] == [j["id"] for j in reversed(five_jobs)]
    ascending = client.get("/admin/render-jobs?order=asc", headers=auth).json
    assert [j["id"] for j in ascending["items"]] == [j["id"] for j in five_jobs]


@pytest.mark.parametrize(("query", "expected"), [
    ("limit=1", 1), ("limit=100", 5), ("limit=2&offset=4", 1), ("offset=5", 0),
    ("offset=1000", 0), ("limit=5&offset=0", 5),
])
def test_pagination_edges(client: FlaskClient, auth: dict, five_jobs: list[dict], query: str,
                          expected: int) -> None:
    body = client.get(f"/admin/render-jobs?{query}", headers=auth).json
    assert len(body["items"]) == expected and body["total"] == 5


def test_pages_cover_every_job_once(client: FlaskClient, auth: dict,
                                    five_jobs: list[dict]) -> None:
    seen = []
    for offset in range(0, 6, 2):
        seen += [j["id"] for j in client.get(f"/admin/render-jobs?limit=2&offset={offset}",
                                             headers=auth).json["items"]]
    assert sorted(seen) == sorted(j["id"] for j in five_jobs) and len(seen) == 5


@pytest.mark.parametrize("query", [
    "limit=0", "limit=101", "limit=-1", "limit=abc", "offset=-1", "offset=1.5",
    "order=sideways", "status=pending,exploded", "preset=pocket", "source=fax",
    "created_after=yesterday", "product_id=../x",
])
def test_invalid_query_is_422(client: FlaskClient, auth: dict, query: str) -> None:
    response = client.get(f"/admin/render-jobs?{query}", headers=auth)
    assert response.status_code == 422, query
    assert set(response.json) == {"code", "message"}


def test_filters(client: FlaskClient, auth: dict, five_jobs: list[dict]) -> None:
    def ids(query: str) -> set[str]:
        body = client.get(f"/admin/render-jobs?{query}", headers=auth).json
        assert body["total"] == len(body["items"])
        return {j["id"] for j in body["items"]}

    every = {j["id"] for j in five_jobs}
    assert ids("status=pending") == {j["id"] for j in five_jobs[:4]}
    assert ids("status=rendering") == {five_jobs[4]["id"]}
    assert ids("status=pending,rendering") == every
    assert ids("status=completed") == set()
    assert ids("product_id=prod_b") == {five_jobs[3]["id"], five_jobs[4]["id"]}
    assert ids(f"preset={PRESET_IDS[1]}") == {five_jobs[1]["id"], five_jobs[3]["id"]}
    assert ids("source=blender") == {five_jobs[4]["id"]}
    assert ids("product_id=prod_a&preset=" + PRESET_IDS[0]) == {five_jobs[0]["id"],
                                                                 five_jobs[2]["id"]}
    now = datetime.now(UTC)
    assert ids(f"created_after={(now - timedelta(hours=1)).isoformat()}".replace("+", "%2B")) \
        == every
    assert ids(f"created_before={(now - timedelta(hours=1)).isoformat()}".replace("+", "%2B")) \
        == set()
    third = five_jobs[2]["created_at"]
    assert ids(f"created_after={third}") >= {j["id"] for j in five_jobs[2:]}
    assert ids(f"created_before={third}").isdisjoint({j["id"] for j in five_jobs[2:]})


def test_product_history(client: FlaskClient, auth: dict, five_jobs: list[dict]) -> None:
    body = client.get("/admin/products/prod_a/render-jobs?order=asc&limit=2",
                      headers=auth).json
    assert body["total"] == 3
    assert [j["id"] for j in body["items"]] == [five_jobs[0]["id"], five_jobs[1]["id"]]
    body = client.get("/admin/products/prod_a/render-jobs?status=rendering", headers=auth).json
    assert body == {"items": [], "total": 0, "limit": 20, "offset": 0}
    assert client.get("/admin/products/nobody/render-jobs", headers=auth).json["total"] == 0
    assert client.get("/admin/products/bad%20id/render-jobs", headers=auth).status_code == 422
