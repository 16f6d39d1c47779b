"""Report a finished render to the sync service, which pushes it to the store (no ``bpy``).

Two requests, the ones the service documents for renders made outside it: create a job with
``source=blender`` (multipart: the design plus the options from the manifest's spec), then post
the manifest and every file it lists to the job's ``/outputs``. The caller checks
``bpy.app.online_access`` first; this module runs in a worker thread.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ._shared import contracts, errors, validation

_log = logging.getLogger(__name__)

USER_AGENT = "tshirt-render-blender-addon"
TIMEOUT = (5.0, 120.0)  # connect, read (uploads of full-size stills take a while)
SOURCE = "blender"
MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".mp4": "video/mp4"}


def session_with_retries(retries: int = 3) -> requests.Session:
    """Back-off on connection errors, 429 and 5xx for idempotent requests; never re-POSTs."""
    retry = Retry(total=retries, connect=retries, backoff_factor=0.5,
                  status_forcelist=(429, 502, 503, 504), allowed_methods={"GET", "HEAD"},
                  raise_on_status=False)
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.headers["User-Agent"] = USER_AGENT
    return session


class StoreClient:
    def __init__(self, base_url: str, token: str, *,
                 session: requests.Session | None = None) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise errors.InvalidInput(
                "Set the sync service URL (http:// or https://) in the add-on's preferences."
            )
        if not token:
            raise errors.InvalidInput("Set the sync service token in the add-on's preferences.")
        self.base_url = base_url.rstrip("/")
        self.session = session or session_with_retries()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def report_render(self, output_dir: str | Path, product_id: str) -> dict[str, Any]:
        """Create the job and upload its outputs; returns the service's job (completed)."""
        output_dir = Path(output_dir)
        validation.check_safe_id(product_id, "product id")
        try:
            manifest_text = (output_dir / contracts.MANIFEST_NAME).read_text(encoding="utf-8")
        except OSError as exc:
            raise errors.InvalidInput(f"No finished render in {output_dir}.") from exc
        manifest = contracts.Manifest.from_json(manifest_text)
        spec = manifest.spec
        fields = {
            "product_id": product_id,
            "source": SOURCE,
            "preset": spec.preset,
            "color": spec.color,
            "quality": spec.quality,
            "animation": "true" if spec.animation.enabled else "false",
            "background": spec.background,
            "template_id": spec.template,
        }
        design = Path(spec.design)
        try:
            design_bytes = design.read_bytes()
        except OSError as exc:
            raise errors.InvalidInput(f"The design {design} is no longer there.") from exc
        info = validation.inspect_design_bytes(design_bytes)
        job = self._post("/admin/render-jobs", data=fields, files={
            "design": (validation.ascii_filename(design.name), design_bytes, info.media_type),
        })
        job_id = job.get("id")
        if not isinstance(job_id, str):
            raise errors.SyncFailed("The sync service answered without a job id.")
        uploads = []
        try:
            for output in manifest.outputs:
                path = output_dir / output.file
                media = MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
                uploads.append(("files", (output.file, path.open("rb"), media)))
            return self._post(f"/admin/render-jobs/{job_id}/outputs",
                              data={"manifest": manifest_text}, files=uploads)
        except OSError as exc:
            raise errors.InvalidInput(f"A render file is missing: {exc.filename}.") from exc
        finally:
            for _, (_, handle, _) in uploads:
                handle.close()

    def _post(self, path: str, **kwargs: Any) -> dict[str, Any]:
        url = self.base_url + path
        try:
            response = self.session.post(url, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            _log.warning("POST %s failed: %s", url, exc)
            raise errors.SyncFailed(f"Could not reach the sync service at {self.base_url}.") \
                from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            message = body.get("message") if isinstance(body, dict) else None
            _log.warning("POST %s: HTTP %s %s", url, response.status_code, response.text[:500])
            if response.status_code in (401, 403):
                message = "The sync service refused the token; check it in the preferences."
            raise errors.SyncFailed(
                message or f"The sync service answered HTTP {response.status_code}."
            )
        if not isinstance(body, dict):
            raise errors.SyncFailed("The sync service answered with something other than JSON.")
        return body
