"""What a store must offer the push: look a product up, upload files, set a product's images,
link an image to variants.

The push logic (`push.py`) decides *what* the product's images should be; a sink only carries
it out, so a second store (or a fake in unit tests) implements these few calls and nothing
else. Every call raises `SyncFailed` (retryable: the store is down, slow or throttling) or
`StoreRejected` (not retryable: bad credentials, a product that does not exist, a request the
store refuses), never a transport exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.errors import SyncFailed


class StoreRejected(SyncFailed):
    """The store answered and said no; sending the same request again will not help."""

    default_code = "store_rejected"
    retryable = False


class ProductNotFound(StoreRejected):
    default_code = "product_not_found"
    http_status = 404


@dataclass(frozen=True)
class RemoteImage:
    id: str
    url: str


@dataclass(frozen=True)
class RemoteFile:
    id: str
    url: str


@dataclass(frozen=True)
class Variant:
    id: str
    #: option title -> this variant's value ("Color" -> "Heather Navy")
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Product:
    id: str
    images: tuple[RemoteImage, ...]
    thumbnail: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    variants: tuple[Variant, ...] = ()


@dataclass(frozen=True)
class UploadFile:
    """A file to upload: an ASCII name (stores garble anything else), its bytes, its type."""

    name: str
    data: bytes
    media_type: str


@dataclass(frozen=True)
class ImageRef:
    """An entry of the product's new image list: an existing image (id and url) or a new one
    (url only)."""

    url: str
    id: str | None = None


class MediaSink(Protocol):
    name: str

    def product_exists(self, product_id: str) -> bool: ...

    def get_product(self, product_id: str) -> Product: ...

    def upload(self, files: Sequence[UploadFile]) -> list[RemoteFile]:
        """Upload all files in one request; the result is in the order of `files`."""
        ...

    def set_images(self, product_id: str, images: Sequence[ImageRef], thumbnail: str,
                   metadata: dict[str, Any]) -> Product:
        """Make `images` (in this order) the product's whole image set, `thumbnail` its
        thumbnail, and `metadata` its metadata."""
        ...

    def set_metadata(self, product_id: str, metadata: dict[str, Any]) -> None: ...

    def link_image(self, product_id: str, image_id: str, variant_ids: Sequence[str]) -> None:
        """Make the product image `image_id` one of these variants' own images (adding a link
        that exists changes nothing)."""
        ...

    def delete_upload(self, file_id: str) -> None: ...

    def close(self) -> None: ...
