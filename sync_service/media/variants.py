"""Fitting a render to how the shop sells: which variants its stills belong to, and whose
thumbnail the product shows.

Medusa (2.11.2+) reads `variants[].images` as the product's images linked to no variant plus
the variant's own; so linking a colour's stills to the variants of that colour makes each
variant show its colour, and a colour no variant has stays a general (product-level) image.
"""

from __future__ import annotations

from collections.abc import Set

from shared.angles import STILL_IDS

from ..jobs.publish import PublishOptions
from .sink import MediaSink, Product


def choose_thumbnail(product: Product, ours_front: str, our_urls: Set[str], policy: str, *,
                     set_before: object) -> str | None:
    """The thumbnail after this push: `replace` always takes ours, `keep` never does, and
    `if-empty` takes ours only where the product has none or shows one this service set
    (`set_before`, as the product's metadata remembers it, or one of our uploads)."""
    current = product.thumbnail
    if policy == "replace":
        return ours_front
    if policy == "keep":
        return current
    ours_before = current is not None and (current == set_before or current in our_urls)
    return ours_front if not current or ours_before else current


def link_variants(sink: MediaSink, product: Product, color: str, image_ids: dict[str, str],
                  publish: PublishOptions) -> tuple[list[str], list[str]]:
    """Link the stills (`image_ids`, angle -> product image) of colour `color` to the variants
    of that colour; the variants linked, and the warnings (a colour option in which no value
    is this colour)."""
    with_option = [(v, value) for v in product.variants for title, value in v.options.items()
                   if publish.is_color_option(title)]
    if not with_option:
        return [], []  # no colour option: the product level is all there is
    variant_ids = sorted(v.id for v, value in with_option if publish.color_of(value) == color)
    if not variant_ids:
        values = ", ".join(sorted({value for _v, value in with_option}))
        return [], [f"No variant of product {product.id} has the colour {color} (its colour "
                    f"values: {values}); its images are on the product level, shown with "
                    f"every variant. Map a value word to a colour with color_values."]
    for angle in STILL_IDS:  # a close-up a print adds too
        if angle in image_ids:
            sink.link_image(product.id, image_ids[angle], variant_ids)
    return variant_ids, []
