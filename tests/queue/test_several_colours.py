"""Several colours in one job (issue 15 part 1), through the API with the fake renderer: `color`
as a comma list or repeated, one render for all of them, outputs and progress by colour, the
files served; outputs reported by the add-on or the CLI checked against the job's colours."""

from __future__ import annotations

import io
import json
import subprocess
from typing import Any

import pytest
from common_helpers import multipart
from fake_renderer import FakeRenderer
from queue_helpers import AUTH, job_of, png_bytes, submit
from test_queue_worker import worker_app
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import stream_encode_multipart

from shared.colors import parse_color
from shared.contracts import RenderSpec
from sync_service.queue.runtime import get_queue

RED, NAVY = parse_color("red").hex, parse_color("navy").hex


def post_job(app: Any, **fields: Any) -> Any:
    data = {"product_id": "prod_q", "preset": "chest-medium", **fields,
            "design": (io.BytesIO(png_bytes()), "design.png")}
    return app.test_client().post("/admin/render-jobs", headers=AUTH, **multipart(data))


def test_red_navy_renders_once_with_outputs_by_colour(make_app, fake_renderer) -> None:
    app = worker_app(make_app, fake_renderer)
    job_id = submit(app, color="red,navy")
    assert job_of(app, job_id)["colors"] == [RED, NAVY]
    get_queue(app).worker.run(job_id)
    job = job_of(app, job_id)
    assert (job["status"], job["progress"], job["color"]) == ("completed", 100, RED)
    assert job["counts"] == {"images_done": 12, "images_total": 12, "frames_done": 240,
                             "frames_total": 240}
    [run] = fake_renderer.runs()  # one Blender process for both colours
    assert run["spec"]["colors"] == [RED, NAVY] and run["spec"]["color"] == RED
    by_file = {o["file"]: o for o in job["outputs"]}
    for color in (RED, NAVY):
        folder = color[1:]
        assert {f"{folder}/front_0deg.png", f"{folder}/turntable.mp4"} <= set(by_file)
        assert by_file[f"{folder}/front_0deg.png"]["color"] == color
        assert set(job["outputs_by_color"][color]["stills"]) == {
            o["angle"] for o in job["outputs"] if o["kind"] == "still"}
        assert job["outputs_by_color"][color]["turntable"].endswith(f"{folder}/turntable.mp4")
    assert len(job["outputs"]) == 14
    client = app.test_client()

    def fetch(url: str) -> bytes:
        with client.get(url, headers=AUTH) as response:
            assert response.status_code == 200
            return response.data

    red = fetch(job["outputs_by_color"][RED]["stills"]["front_0deg"])
    navy = fetch(job["outputs_by_color"][NAVY]["stills"]["front_0deg"])
    assert red != navy and red.startswith(b"\x89PNG")
    assert client.get(f"/admin/render-jobs/{job_id}/outputs/{RED[1:]}/../manifest.json",
                      headers=AUTH).status_code == 404
    manifest = json.loads((app.extensions["tshirt"].storage.root / "jobs" / job_id / "outputs"
                           / "manifest.json").read_text())
    assert manifest["spec"]["colors"] == [RED, NAVY]


@pytest.mark.parametrize("color", [["red", "navy"], ["red", "navy,red"], "red, navy ,red"])
def test_repeated_or_listed_colours(make_app, color) -> None:
    response = post_job(make_app(), color=color)
    assert response.status_code == 202, response.json
    assert response.json["colors"] == [RED, NAVY] and response.json["color"] == RED


def test_one_colour_is_a_list_of_one(make_app) -> None:
    response = post_job(make_app(), color="navy")
    assert response.json["colors"] == [NAVY] and response.json["color"] == NAVY


@pytest.mark.parametrize("color,fragment", [
    (",".join(f"#{i:06x}" for i in range(13)), "at most 12"),
    ("red,nope", "not a colour"),
    (" , ", "at least one colour"),
])
def test_bad_colour_lists(make_app, color, fragment) -> None:
    response = post_job(make_app(), color=color)
    assert response.status_code == 422 and response.json["code"] == "invalid_color"
    assert fragment in response.json["message"]


def test_reported_outputs_must_match_the_jobs_colours(make_app, tmp_path) -> None:
    """A several-colour render the CLI ran, uploaded as the add-on does (files named in their
    colour's folder); a manifest of other colours is refused."""
    app = make_app()
    client = app.test_client()
    job = post_job(app, color="red,navy", source="cli").json
    fake = FakeRenderer(tmp_path / "fake")

    def outputs_body(colors: list[str]) -> dict[str, Any]:
        out = tmp_path / "-".join(c[1:] for c in colors)
        spec = RenderSpec.from_dict({"design": "d.png", "preset": "chest-medium",
                                     "color": colors[0], "colors": colors,
                                     "output_dir": str(out), "job_id": job["id"],
                                     "angles": ["front_0deg", "back_180deg"],
                                     "animation": {"frames": 2}})
        spec_file = tmp_path / "spec.json"
        spec_file.write_text(spec.to_json())
        subprocess.run([str(fake.binary), "-b", "--", "--spec", str(spec_file)], check=True,
                       capture_output=True)
        text = (out / "manifest.json").read_text()
        data = MultiDict([("manifest", text)])
        for output in json.loads(text)["outputs"]:
            data.add("files", FileStorage(io.BytesIO((out / output["file"]).read_bytes()),
                                          filename=output["file"]))
        body, _length, boundary = stream_encode_multipart(data, use_tempfile=False)
        return {"data": body.getvalue(),
                "content_type": f"multipart/form-data; boundary={boundary}"}

    url = f"/admin/render-jobs/{job['id']}/outputs"
    refused = client.post(url, headers=AUTH, **outputs_body([NAVY, RED]))
    assert refused.status_code == 422 and refused.json["code"] == "manifest_mismatch"
    accepted = client.post(url, headers=AUTH, **outputs_body([RED, NAVY]))
    assert accepted.status_code == 200, accepted.json
    assert accepted.json["status"] == "completed"
    assert sorted(accepted.json["outputs_by_color"]) == sorted([RED, NAVY])
    assert {o["file"] for o in accepted.json["outputs"]} >= {
        f"{RED[1:]}/front_0deg.png", f"{NAVY[1:]}/turntable.mp4"}


def test_a_retry_keeps_the_colours_or_takes_new_ones(make_app) -> None:
    app = make_app()
    client = app.test_client()
    for override, expected in (({}, [RED, NAVY]), ({"color": ["white", "red"]}, None)):
        job = post_job(app, color="red,navy").json
        assert client.post(f"/admin/render-jobs/{job['id']}/cancel",
                           headers=AUTH).status_code == 200
        retry = client.post(f"/admin/render-jobs/{job['id']}/retry", headers=AUTH,
                            json=override)
        assert retry.status_code == 202, retry.json
        assert retry.json["colors"] == (expected or [parse_color("white").hex, RED])
        assert retry.json["color"] == retry.json["colors"][0]
