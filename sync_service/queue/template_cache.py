"""The template a render names (`RenderSpec.template`) for a job's template id.

A bundled template (render_assets) or a metadata-only row is named by its id: the renderer
finds bundled ones itself. A registered template (uploaded with its model, see
`jobs.registered_templates`) is named by the absolute path of its folder: the service's own folder
when this worker shares the service's data directory, else a copy this worker fetched over the
admin API (`GET /admin/render-templates/<id>/files[/<name>]`, like a design) into a cache on its
own disk. The cache is keyed by the id and a digest of the files' names and sha256s, so an
unchanged template is fetched once per machine and one registered again under the same id (after
a delete) is fetched anew. A copy appears whole or not at all (fetched into a temporary folder,
checked, renamed), so two render threads may fetch the same template at once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import requests

from shared.errors import InvalidInput, NotFound, SyncFailed, TshirtError
from shared.templates import TEMPLATE_FILE

from ..jobs import registered_templates
from ..jobs.storage import Storage
from .outcomes import fetch_failures
from .remote import ServiceClient, error_of, json_of, unreachable

_log = logging.getLogger(__name__)

#: This machine's fetched templates, relative to its data directory.
CACHE_DIR = "template-cache"
CHUNK_BYTES = 256 * 1024


class TemplateFolders:
    """Answers `ref(template_id)` for one worker process (shared by its render threads)."""

    def __init__(self, storage: Storage, client: ServiceClient | None) -> None:
        self.storage = storage
        self.client = client

    def ref(self, template_id: str) -> str:
        """The spec's `template` for a job of `template_id`. Raises `Failure` for a problem of
        the template itself, and the `gate.OUTAGE_ERRORS` while the service is away (the job
        then waits without spending an attempt)."""
        if self.client is None:
            if registered_templates.is_registered(self.storage, template_id):
                return str(registered_templates.folder(self.storage, template_id))
            return template_id
        with fetch_failures():
            return self._fetched(self.client, template_id)

    def _fetched(self, client: ServiceClient, template_id: str) -> str:
        files = _listing(client, template_id)
        if not files:
            return template_id
        key = hashlib.sha256("".join(f"{f['name']}\0{f['sha256']}\n" for f in files)
                             .encode()).hexdigest()[:32]
        cache = self.storage.root / CACHE_DIR
        entry = cache / f"{template_id}-{key}"
        if (entry / template_id / TEMPLATE_FILE).is_file():
            return str(entry / template_id)
        # A full disk raises OSError, which the worker turns into storage_full itself.
        cache.mkdir(parents=True, exist_ok=True)
        incoming = Path(tempfile.mkdtemp(dir=cache, prefix=".incoming-"))
        try:
            folder = incoming / template_id
            folder.mkdir()
            for item in files:
                _download(client, template_id, item["name"], folder / item["name"],
                          item["sha256"])
            try:
                os.rename(incoming, entry)
                _log.info("template %s: fetched %d file(s) into %s", template_id, len(files),
                          entry)
            except OSError:
                if not (entry / template_id / TEMPLATE_FILE).is_file():
                    raise  # not another thread's copy that arrived first
        finally:
            shutil.rmtree(incoming, ignore_errors=True)
        return str(entry / template_id)


def _url(client: ServiceClient, template_id: str, suffix: str) -> str:
    return f"{client.base_url}/admin/render-templates/{template_id}/files{suffix}"


def _refused(response: requests.Response, template_id: str) -> TshirtError:
    """The error of an answer that is neither 200 nor the service being away."""
    _code, message = error_of(response)
    if response.status_code == 404:
        return NotFound(f"The service has no such file of template {template_id!r}: {message}",
                        code="template_missing")
    return SyncFailed(f"Could not fetch template {template_id!r}: {message}",
                      code="template_download_failed")


def _listing(client: ServiceClient, template_id: str) -> list[dict[str, Any]]:
    """The files of a registered template (`name`, `size`, `sha256`); empty for others."""
    try:
        with client.session.get(_url(client, template_id, "")) as response:
            client.refuse_unusable(response)  # the same rules as a design's download
            if response.status_code != 200:
                raise _refused(response, template_id)
            items = json_of(response).get("items")
    except requests.RequestException as error:
        raise unreachable(client.base_url, error) from None
    if not isinstance(items, list):
        raise SyncFailed(f"The service's file list of template {template_id!r} is not one.",
                         code="template_download_failed")
    for item in items:
        name = item.get("name") if isinstance(item, dict) else None
        if (not isinstance(name, str) or name in ("", ".", "..") or "/" in name
                or "\\" in name or not isinstance(item.get("sha256"), str)):
            raise InvalidInput(f"Template {template_id!r} lists a file {name!r} that cannot be "
                               "a plain file name.", code="invalid_template")
    return items


def _download(client: ServiceClient, template_id: str, name: str, target: Path,
              sha256: str) -> None:
    digest = hashlib.sha256()
    try:
        with client.session.get(_url(client, template_id, f"/{name}"), stream=True) as response:
            client.refuse_unusable(response)
            if response.status_code != 200:
                raise _refused(response, template_id)
            with open(target, "wb") as handle:
                for chunk in response.iter_content(CHUNK_BYTES):
                    digest.update(chunk)
                    handle.write(chunk)
    except requests.RequestException as error:
        raise unreachable(client.base_url, error) from None
    if digest.hexdigest() != sha256:
        raise SyncFailed(f"File {name!r} of template {template_id!r} arrived damaged (sha256 "
                         "differs).", code="template_download_failed")
