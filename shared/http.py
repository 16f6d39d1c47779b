"""The one way this project makes HTTP sessions, and the one manifest-and-files upload.

The add-on's client for the service, a remote worker's client for the service and the store
push all talk HTTP the same way (after Socorro's `librequests`): a default timeout on every
request, back-off on connection errors, 429 and 5xx (honouring Retry-After, within a bound), a
User-Agent that names the project, its version and the part speaking. A POST is sent again only
when it carries an `Idempotency-Key` header: the caller says that a second copy is harmless.
A POST without one is retried only when the connection could not be made (nothing was sent).

The agreed exception to "`shared/` is the standard library only": `requests` is bundled with
Blender and is a dependency of the service.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Mapping
from contextlib import ExitStack
from functools import cache
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .contracts import MANIFEST_NAME, Manifest

PROJECT = "tshirt-render"
#: connect, read. Reads are long: uploads and downloads of full-size stills take a while.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 120.0)
RETRY_STATUSES = (429, 500, 502, 503, 504)
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: Methods that are safe to send twice by their definition.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
#: A server asking for a longer pause gets this: a client thread must not hang for hours.
RETRY_AFTER_MAX_S = 60.0
#: Media types of the files a render writes (and of what the push uploads).
MEDIA_TYPES: Mapping[str, str] = {".png": "image/png", ".jpg": "image/jpeg",
                                  ".jpeg": "image/jpeg", ".webp": "image/webp",
                                  ".mp4": "video/mp4"}


def media_type(name: str) -> str:
    return MEDIA_TYPES.get(PurePosixPath(name).suffix.lower(), "application/octet-stream")


@cache
def project_version() -> str:
    """The version of this copy: from the checkout's `pyproject.toml` or the built extension's
    `blender_manifest.toml` (both sit beside `shared/`), else the installed distribution."""
    root = Path(__file__).resolve().parent.parent
    for name, keys in (("pyproject.toml", ("project", "version")),
                       ("blender_manifest.toml", ("version",))):
        try:
            value: Any = tomllib.loads((root / name).read_text(encoding="utf-8"))
            for key in keys:
                value = value[key]
            return str(value)
        except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError):
            continue
    try:
        return metadata.version(PROJECT)
    except metadata.PackageNotFoundError:
        return "unknown"


def user_agent(component: str) -> str:
    return f"{PROJECT}/{project_version()} ({component}; python-requests/{requests.__version__})"


class _Retry(Retry):
    """urllib3's retry with Retry-After bounded by `RETRY_AFTER_MAX_S`."""

    def get_retry_after(self, response: Any) -> float | None:
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, RETRY_AFTER_MAX_S)


class _Adapter(HTTPAdapter):
    """Sends a POST that carries an idempotency key through a second pool whose retries cover
    POST; urllib3's retry sees only the method, never the headers, so the choice is made here."""

    def __init__(self, retry: Retry, keyed_retry: Retry) -> None:
        super().__init__(max_retries=retry)
        self._keyed = HTTPAdapter(max_retries=keyed_retry)

    def send(self, request: requests.PreparedRequest, *args: Any,
             **kwargs: Any) -> requests.Response:
        if request.method not in IDEMPOTENT_METHODS and IDEMPOTENCY_HEADER in request.headers:
            return self._keyed.send(request, *args, **kwargs)
        return super().send(request, *args, **kwargs)

    def close(self) -> None:
        self._keyed.close()
        super().close()


class _Session(requests.Session):
    """A session that applies a default timeout to every request that does not set one."""

    def __init__(self, timeout: float | tuple[float, float]) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any,  # type: ignore[override]
                **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().request(method, url, *args, **kwargs)


def session_with_retries(component: str, *,
                         timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
                         retries: int = 3, backoff_s: float = 0.5,
                         statuses: Collection[int] = RETRY_STATUSES) -> requests.Session:
    """A session for one client of the project; `component` names it in the User-Agent.

    Up to `retries` further tries, `backoff_s` x 2^(n-1) apart (or as Retry-After says).
    A final 429/5xx answer is returned, not raised: the caller reads its error body."""

    def retry(methods: Collection[str], read: int) -> Retry:
        return _Retry(total=retries, connect=retries, read=read, status=retries,
                      backoff_factor=backoff_s, status_forcelist=tuple(statuses),
                      allowed_methods=frozenset(methods), respect_retry_after_header=True,
                      raise_on_status=False)

    adapter = _Adapter(retry(IDEMPOTENT_METHODS, retries),
                       retry(IDEMPOTENT_METHODS | {"POST", "PATCH"}, retries))
    session = _Session(timeout)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent(component)
    return session


def post_outputs(session: requests.Session, url: str, out_dir: Path, *,
                 idempotency_key: str | None = None,
                 timeout: float | tuple[float, float] | None = None) -> requests.Response:
    """POST `out_dir`'s manifest and every file it lists as one multipart request (the form the
    service's `/outputs` endpoint takes). With `idempotency_key` the POST may be retried.

    Raises OSError when the manifest or a listed file cannot be read, `InvalidInput` when the
    manifest is not one, and `requests.RequestException` when the request fails."""
    manifest_text = (out_dir / MANIFEST_NAME).read_text(encoding="utf-8")
    manifest = Manifest.from_json(manifest_text)
    headers = {IDEMPOTENCY_HEADER: idempotency_key} if idempotency_key else {}
    with ExitStack() as stack:
        files = [("files", (output.file, stack.enter_context(open(out_dir / output.file, "rb")),
                            media_type(output.file)))
                 for output in manifest.outputs]
        return session.post(url, data={"manifest": manifest_text}, files=files,
                            headers=headers, timeout=timeout)
