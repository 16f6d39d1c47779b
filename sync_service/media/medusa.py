"""The Medusa v2 admin API as a `MediaSink`.

Facts this relies on (Medusa 2.21.2, measured): uploads go to `POST /admin/uploads` as
multipart field `files` (several per request) and come back as `{"files": [{"id", "url"}]}`;
`POST /admin/products/<id>` with `images` replaces the whole image set in array order (existing
images are kept by sending their `{id, url}`; a `{url}` alone is a new image with a new id);
`thumbnail` must always be sent; per-image metadata is dropped, product metadata is kept.
Variant images (2.11.2+): `POST /admin/products/<id>/images/<image_id>/variants/batch` with
`{"add": [variant ids]}` links a product image to variants (adding an existing link is a no-op;
dropping the image from the product drops its links); `variants[].images` then reads: the
product's images linked to no variant (its general images), plus the variant's own. A
secret API key authenticates as HTTP Basic (key as user, empty password); an admin user logs
in at `POST /auth/user/emailpass` for a bearer token, refreshed on 401.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from typing import Any

import requests

from shared.errors import SyncFailed
from shared.http import IDEMPOTENCY_HEADER, session_with_retries

from .sink import (
    ImageRef,
    Product,
    ProductNotFound,
    RemoteFile,
    RemoteImage,
    StoreRejected,
    UploadFile,
    Variant,
)

_log = logging.getLogger(__name__)

COMPONENT = "media-push"
PRODUCT_FIELDS = ("id,thumbnail,metadata,*images,variants.id,variants.options.value,"
                  "variants.options.option.title")


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason or "")[:300]
    if isinstance(body, dict):
        return str(body.get("message") or body.get("type") or body)[:300]
    return str(body)[:300]


class NotFoundInStore(StoreRejected):
    default_code = "store_not_found"


class MedusaSink:
    """A Medusa v2 store reached over its admin API."""

    name = "medusa"

    def __init__(self, base_url: str, *, api_key: str | None = None, email: str | None = None,
                 password: str | None = None, timeout_s: float = 30.0,
                 total_retries: int = 3, backoff_factor: float = 0.5) -> None:
        if not api_key and not (email and password):
            raise ValueError("Medusa needs a secret API key or an admin email and password")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._email = email
        self._password = password
        self._token: str | None = None
        self.session = session_with_retries(COMPONENT, timeout=(min(10.0, timeout_s), timeout_s),
                                            retries=total_retries, backoff_s=backoff_factor)
        if api_key:
            self.session.auth = (api_key, "")

    def close(self) -> None:
        self.session.close()

    # -- transport ---------------------------------------------------------------------------

    def _login(self) -> None:
        response = self._send("POST", "/auth/user/emailpass", authenticate=False,
                              retry_post=True,
                              json={"email": self._email, "password": self._password})
        if response.status_code in (400, 401, 403):
            raise StoreRejected(
                f"Medusa refused the admin login for {self._email} ({response.status_code}: "
                f"{_message(response)}); check MEDUSA_EMAIL and MEDUSA_PASSWORD.",
                code="store_auth_failed")
        self._check(response, "log in")
        token = response.json().get("token")
        if not token:
            raise SyncFailed("Medusa's login answered without a token.", code="store_error")
        self._token = token

    def _send(self, method: str, path: str, *, authenticate: bool = True,
              retry_post: bool = False, **kwargs: Any) -> requests.Response:
        """One request; `retry_post` marks a POST that is safe to send twice (the transport
        may then repeat it after a 5xx or a lost answer)."""
        url = f"{self.base_url}{path}"
        headers = dict(kwargs.pop("headers", None) or {})
        if retry_post:
            headers[IDEMPOTENCY_HEADER] = uuid.uuid4().hex
        if authenticate and not self._api_key:
            if self._token is None:
                self._login()
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            return self.session.request(method, url, headers=headers, **kwargs)
        except requests.Timeout as error:
            raise SyncFailed(f"Medusa at {self.base_url} did not answer {method} {path} in "
                             f"time: {error.__class__.__name__}.", code="store_timeout") from None
        except requests.RequestException as error:
            found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(error))
            reason = found.group(1) if found else error.__class__.__name__
            raise SyncFailed(f"Cannot reach Medusa at {self.base_url}: {reason}",
                             code="store_unreachable") from None

    def _request(self, method: str, path: str, *, retry_post: bool = False, what: str = "",
                 **kwargs: Any) -> requests.Response:
        """Send with authentication; on 401 with a bearer token, log in again once and
        resend."""
        response = self._send(method, path, retry_post=retry_post, **kwargs)
        if response.status_code == 401 and not self._api_key and self._token is not None:
            _log.info("Medusa: the bearer token was refused; logging in again")
            self._token = None
            response = self._send(method, path, retry_post=retry_post, **kwargs)
        self._check(response, what or f"{method} {path}")
        return response

    def _check(self, response: requests.Response, what: str) -> None:
        status = response.status_code
        if status < 400:
            return
        detail = f"{status}: {_message(response)}"
        if status in (401, 403):
            how = "MEDUSA_API_KEY" if self._api_key else "MEDUSA_EMAIL / MEDUSA_PASSWORD"
            raise StoreRejected(f"Medusa refused the credentials ({detail}) when trying to "
                                f"{what}; check {how}.", code="store_auth_failed")
        if status == 429 or status >= 500:
            raise SyncFailed(f"Medusa could not {what} ({detail}); will retry.",
                             code="store_unavailable")
        if status == 404:
            raise NotFoundInStore(f"Medusa has nothing at {response.request.path_url.split('?')[0]}"
                                  f" ({detail}).")
        raise StoreRejected(f"Medusa refused to {what} ({detail}).", code="store_rejected")

    # -- the sink ------------------------------------------------------------------------------

    @staticmethod
    def _product(data: dict[str, Any]) -> Product:
        images = sorted(data.get("images") or [], key=lambda i: (i.get("rank") or 0))
        return Product(
            id=data["id"],
            images=tuple(RemoteImage(id=i["id"], url=i["url"]) for i in images),
            thumbnail=data.get("thumbnail"),
            metadata=dict(data.get("metadata") or {}),
            variants=tuple(
                Variant(id=v["id"], options={
                    str((o.get("option") or {}).get("title") or ""): str(o.get("value") or "")
                    for o in v.get("options") or []})
                for v in data.get("variants") or []),
        )

    def get_product(self, product_id: str) -> Product:
        try:
            response = self._request("GET", f"/admin/products/{product_id}",
                                     params={"fields": PRODUCT_FIELDS},
                                     what=f"read product {product_id}")
        except NotFoundInStore:
            raise ProductNotFound(f"Medusa has no product {product_id!r}.") from None
        return self._product(response.json()["product"])

    def product_exists(self, product_id: str) -> bool:
        try:
            self.get_product(product_id)
        except ProductNotFound:
            return False
        return True

    def upload(self, files: Sequence[UploadFile]) -> list[RemoteFile]:
        for item in files:
            if not item.name.isascii():
                raise ValueError(f"upload names must be ASCII: {item.name!r}")
        parts = [("files", (f.name, f.data, f.media_type)) for f in files]
        response = self._request("POST", "/admin/uploads", files=parts,
                                 what=f"upload {len(files)} file(s)")
        uploaded = response.json().get("files") or []
        if len(uploaded) != len(files):
            raise SyncFailed(f"Medusa stored {len(uploaded)} of {len(files)} uploaded files.",
                             code="store_error")
        return [RemoteFile(id=f["id"], url=f["url"]) for f in uploaded]

    def set_images(self, product_id: str, images: Sequence[ImageRef], thumbnail: str,
                   metadata: dict[str, Any]) -> Product:
        body = {
            "images": [{"id": i.id, "url": i.url} if i.id else {"url": i.url} for i in images],
            "thumbnail": thumbnail,
            "metadata": metadata,
        }
        # Not retried by the transport: a lost answer is reconciled by the next attempt, which
        # reads the product again and recognises the images by URL.
        self._request("POST", f"/admin/products/{product_id}", json=body,
                      what=f"update the images of product {product_id}")
        return self.get_product(product_id)

    def set_metadata(self, product_id: str, metadata: dict[str, Any]) -> None:
        self._request("POST", f"/admin/products/{product_id}", json={"metadata": metadata},
                      retry_post=True, what=f"update the metadata of product {product_id}")

    def link_image(self, product_id: str, image_id: str, variant_ids: Sequence[str]) -> None:
        self._request("POST", f"/admin/products/{product_id}/images/{image_id}/variants/batch",
                      json={"add": list(variant_ids)}, retry_post=True,
                      what=f"link image {image_id} to {len(variant_ids)} variant(s)")

    def delete_upload(self, file_id: str) -> None:
        self._request("DELETE", f"/admin/uploads/{file_id}", what=f"delete upload {file_id}")
