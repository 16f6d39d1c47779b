"""One job of several colours pushed (issue 15 part 1): each colour's stills go onto the
variants of that colour, a colour no variant has stays general with a warning, each colour's
turntable is in the product's metadata; against the fake Medusa here, against the real one in
`test_medusa_variants`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_medusa import API_KEY, FakeMedusa
from medusa_helpers import AUTH, completed_job

from shared.colors import parse_color
from sync_service.media.push import TURNTABLES_KEY

RED, NAVY = parse_color("red").hex, parse_color("navy").hex


@pytest.fixture
def fake() -> Iterator[FakeMedusa]:
    server = FakeMedusa()
    yield server
    server.stop()


def test_each_colour_of_one_job_on_its_variants(make_app, fake) -> None:
    app, _pusher = make_app(MEDUSA_URL=fake.url, MEDUSA_API_KEY=API_KEY)
    product = fake.add_product("https://shop.example/photo.png",
                               colors=("red", "navy", "white"))
    job_id = completed_job(app, product["id"], color="red,navy,#00ff00", mark=21)
    app.extensions["tshirt"].completed(job_id)

    detail = app.test_client().get(f"/admin/render-jobs/{job_id}", headers=AUTH).json
    push = detail["media_push"]
    assert push["status"] == "pushed", push
    roles = push["file_ids"]
    assert {f"{RED[1:]}/front_0deg", f"{NAVY[1:]}/turntable", "00ff00/back_180deg"} <= set(roles)
    urls = {i["id"]: i["url"] for i in fake.products[product["id"]]["images"]}
    ours = {role: urls[image_id] for role, image_id in push["image_ids"].items()}
    of = {color: {u for r, u in ours.items() if r.startswith(color[1:] + "/")}
          for color in (RED, NAVY, "#00ff00")}
    assert all(len(found) == 6 for found in of.values())
    by_variant = {title: set(found) for title, found in fake.variant_images(product["id"])
                  .items()}
    general = {"https://shop.example/photo.png"} | of["#00ff00"]
    assert by_variant["red"] == general | of[RED]
    assert by_variant["navy"] == general | of[NAVY]
    assert by_variant["white"] == general
    [warning] = push["warnings"]
    assert "#00ff00" in warning
    turntables = fake.products[product["id"]]["metadata"][TURNTABLES_KEY]
    assert set(turntables) == {RED, NAVY, "#00ff00"}
    assert push["turntable_url"] == turntables[RED]
    assert fake.products[product["id"]]["thumbnail"] == "https://shop.example/photo.png"

    app.extensions["tshirt"].push(job_id)  # again: nothing added twice
    assert len(fake.products[product["id"]]["images"]) == 1 + 18
