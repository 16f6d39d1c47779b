"""A render with the neck label's close-up pushed (issue 16 point 4): the close-up is one more
still of the job, after the six views on the product and linked to its colour's variants like
them; against the fake Medusa (the order and the links are the push's own doing)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_medusa import API_KEY, FakeMedusa
from medusa_helpers import AUTH, completed_job

from shared.angles import ANGLE_IDS, STILL_IDS

SHOP_PHOTO = "https://shop.example/photo.png"


@pytest.fixture
def fake() -> Iterator[FakeMedusa]:
    server = FakeMedusa()
    yield server
    server.stop()


def test_the_close_up_follows_the_six_views_and_joins_their_variants(make_app, fake) -> None:
    app, _pusher = make_app(MEDUSA_URL=fake.url, MEDUSA_API_KEY=API_KEY)
    product = fake.add_product(SHOP_PHOTO, colors=("red", "navy"))
    job_id = completed_job(app, product["id"], preset="neck-label", color="red",
                           angles=STILL_IDS, mark=31)
    app.extensions["tshirt"].completed(job_id)

    push = app.test_client().get(f"/admin/render-jobs/{job_id}", headers=AUTH).json["media_push"]
    assert push["status"] == "pushed", push
    images = fake.products[product["id"]]["images"]
    assert images[0]["url"] == SHOP_PHOTO
    assert STILL_IDS[len(ANGLE_IDS):] == ("neck_label_closeup",)
    assert [i["id"] for i in images[1:]] == [push["image_ids"][a] for a in STILL_IDS]
    # each image is the file of its still (the store keeps the uploaded name)
    assert all(i["url"].endswith(f"-{a}.png") for i, a in zip(images[1:], STILL_IDS,
                                                               strict=True))
    ours = [i["url"] for i in images[1:]]
    by_variant = fake.variant_images(product["id"])
    assert by_variant["red"] == [SHOP_PHOTO, *ours]
    assert by_variant["navy"] == [SHOP_PHOTO]

    app.extensions["tshirt"].push(job_id)  # again: nothing added twice
    assert [i["url"] for i in fake.products[product["id"]]["images"]] == [SHOP_PHOTO, *ours]
