"""The add-on's HTTP client for the sync service (no ``bpy``; runs in worker threads).

- "Send to store": create a job with ``source=blender`` (multipart: the designs plus the options
  from the manifest's spec), then post the manifest and every file it lists to its ``/outputs``.
- "Render on the farm": ``POST /admin/render-jobs`` with the designs, then poll the job.
- A job's prints travel as a one-print job always has (a ``design`` file and a ``preset``
  field) when there is one print at its preset; otherwise as one file part per distinct design
  (``design_1``, ``design_2``, ...) and a ``prints`` field: a JSON list of ``{"file": <part>,
  "preset", "offset_cm": [x, y], "scale", "rotation_deg"}``.
- History: list a product's jobs, cancel, retry, download a finished job's images (checked
  against their sha256).
- "Test connection": ``GET /health`` then an authenticated GET, summed up in one sentence.

Sessions (timeouts, back-off, User-Agent) and the outputs upload are ``shared.http``'s. Every
failure is a ``SyncFailed`` (or ``InvalidInput`` for settings) with a one-sentence message;
details go to the log. The caller checks ``bpy.app.online_access`` first.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

import requests

from .._shared import contracts, errors, http, jobs, prints, validation

_log = logging.getLogger(__name__)

#: Who is speaking, in the User-Agent.
COMPONENT = "blender-addon"
POLL_TIMEOUT = (3.0, 10.0)  # the small GETs that follow a job
REFUSED_TOKEN = "The sync service refused the token; check it in the add-on's preferences."

#: A multipart file part: (file name, bytes, media type).
FilePart = tuple[str, bytes, str]


@dataclass(frozen=True)
class ConnectionCheck:
    """The outcome of "Test connection": whether it answered, whether the token was accepted."""

    answered: bool
    token_ok: bool
    message: str


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
        self.session = session or http.session_with_retries(COMPONENT)
        self.session.headers["Authorization"] = f"Bearer {token}"

    # -- connection ---------------------------------------------------------------------------

    def check_connection(self) -> ConnectionCheck:
        """``GET /health`` (no token), then an authenticated GET; never raises."""
        try:
            health = self.session.get(self.base_url + "/health", timeout=POLL_TIMEOUT,
                                      headers={"Authorization": None})
        except requests.RequestException as exc:
            _log.warning("GET /health failed: %s", exc)
            return ConnectionCheck(False, False,
                                   f"The sync service at {self.base_url} did not answer.")
        if health.status_code not in (200, 503):
            return ConnectionCheck(False, False, f"{self.base_url} answered HTTP "
                                   f"{health.status_code}; is this the sync service's URL?")
        try:
            self._request("GET", "/admin/render-jobs", params={"limit": 1})
        except errors.SyncFailed as exc:
            if exc.message == REFUSED_TOKEN:
                return ConnectionCheck(True, False,
                                       "The sync service answered but refused the token.")
            return ConnectionCheck(True, False, f"The sync service answered, then: {exc.message}")
        if health.status_code == 503:
            return ConnectionCheck(True, True, "The sync service answered and accepted the "
                                   "token, but reports itself unhealthy (see its /health).")
        return ConnectionCheck(True, True, "The sync service answered and accepted the token.")

    # -- jobs ---------------------------------------------------------------------------------

    def submit_job(self, job_prints: Sequence[prints.PrintSpec],
                   fields: dict[str, str]) -> dict[str, Any]:
        """Queue a render of these prints on the service ("Render on the farm"); returns the
        new job."""
        validation.check_safe_id(fields.get("product_id", ""), "product id")
        return self._create_job(job_prints, fields, unreadable="cannot be read")

    def get_job(self, job_id: str) -> dict[str, Any]:
        return self._request("GET", f"/admin/render-jobs/{quote(job_id)}", timeout=POLL_TIMEOUT)

    def product_jobs(self, product_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """The product's jobs, newest first."""
        validation.check_safe_id(product_id, "product id")
        page = self._request("GET", f"/admin/products/{quote(product_id)}/render-jobs",
                             params={"limit": limit, "order": "desc"}, timeout=POLL_TIMEOUT)
        items = page.get("items")
        return [item for item in items if isinstance(item, dict)] if isinstance(items, list) \
            else []

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        return self._post(f"/admin/render-jobs/{quote(job_id)}/cancel")

    def retry_job(self, job_id: str) -> dict[str, Any]:
        return self._post(f"/admin/render-jobs/{quote(job_id)}/retry")

    def download_outputs(self, job: dict[str, Any], folder: str | Path,
                         kinds: tuple[str, ...] = ("still",)) -> list[Path]:
        """Fetch the job's outputs of these kinds into ``folder``, each checked by sha256.

        A file already there with the right checksum is not fetched again (the history's
        cache); a download lands under a temporary name and is renamed once it checks out.
        """
        folder = Path(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise errors.InvalidInput(f"Cannot create the folder {folder}.") from exc
        saved = []
        for output in job.get("outputs") or []:
            if output.get("kind") not in kinds:
                continue
            name = str(output.get("file", ""))
            if not name or name in (".", "..") or any(ch in name for ch in "/\\\0"):
                raise errors.SyncFailed(f"The sync service listed an odd file name {name!r}.")
            target = folder / name
            if target.is_file() and validation.file_sha256(target) == output.get("sha256"):
                saved.append(target)
                continue
            # the service's URLs carry its own prefix (script root): resolve against the origin
            url = urljoin(self.base_url + "/", str(output.get("url", "")))
            partial = target.with_name(target.name + ".part")
            try:
                with self.session.get(url, stream=True) as response:
                    self._check(response, url)
                    with partial.open("wb") as handle:
                        for chunk in response.iter_content(1 << 16):
                            handle.write(chunk)
            except requests.RequestException as exc:
                _log.warning("GET %s failed: %s", url, exc)
                raise errors.SyncFailed(
                    f"Could not download {name} from the sync service.") from exc
            except OSError as exc:
                raise errors.InvalidInput(f"Cannot write {partial}: {exc.strerror}.") from exc
            if validation.file_sha256(partial) != output.get("sha256"):
                partial.unlink(missing_ok=True)
                raise errors.SyncFailed(f"{name} arrived damaged (its checksum does not match).")
            os.replace(partial, target)
            saved.append(target)
        return saved

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
            "source": jobs.JobSource.BLENDER.value,
            "color": spec.color,
            "quality": spec.quality,
            "animation": "true" if spec.animation.enabled else "false",
            "background": spec.background,
            "template_id": spec.template,
        }
        job = self._create_job(spec.prints, fields, unreadable="is no longer there")
        url = f"{self.base_url}/admin/render-jobs/{quote(job['id'])}/outputs"
        try:
            return self._answer("POST", url, lambda: http.post_outputs(self.session, url,
                                                                       output_dir))
        except OSError as exc:
            raise errors.InvalidInput(f"A render file is missing: {exc.filename}.") from exc

    def _create_job(self, job_prints: Sequence[prints.PrintSpec], fields: dict[str, str], *,
                    unreadable: str) -> dict[str, Any]:
        """``POST /admin/render-jobs`` with the prints' designs and the form fields; the new
        job."""
        print_fields, files = print_parts(job_prints, unreadable)
        job = self._post("/admin/render-jobs", data={**fields, **print_fields}, files=files)
        if not isinstance(job.get("id"), str):
            raise errors.SyncFailed("The sync service answered without a job id.")
        return job

    def _post(self, path: str, **kwargs: Any) -> dict[str, Any]:
        return self._request("POST", path, **kwargs)

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = self.base_url + path
        return self._answer(method, url, lambda: self.session.request(method, url, **kwargs))

    def _answer(self, method: str, url: str,
                send: Callable[[], requests.Response]) -> dict[str, Any]:
        """The JSON object ``send()`` got back; a one-sentence ``SyncFailed`` otherwise."""
        try:
            response = send()
        except requests.RequestException as exc:
            _log.warning("%s %s failed: %s", method, url, exc)
            raise errors.SyncFailed(f"Could not reach the sync service at {self.base_url}.") \
                from exc
        body = self._check(response, url)
        if not isinstance(body, dict):
            raise errors.SyncFailed("The sync service answered with something other than JSON.")
        return body

    @staticmethod
    def _check(response: requests.Response, url: str) -> Any:
        """The JSON body of a successful answer (None when not JSON); ``SyncFailed`` otherwise."""
        if response.status_code < 400:
            if response.headers.get("Content-Type", "").startswith("application/json"):
                try:
                    return response.json()
                except ValueError:
                    return None
            return None
        try:
            body = response.json()
        except ValueError:
            body = None
        message = body.get("message") if isinstance(body, dict) else None
        _log.warning("%s: HTTP %s %s", url, response.status_code, response.text[:500])
        if response.status_code in (401, 403):
            message = REFUSED_TOKEN
        raise errors.SyncFailed(
            message or f"The sync service answered HTTP {response.status_code}.")


def _design_part(design: Path, unreadable: str) -> FilePart:
    try:
        data = design.read_bytes()
    except OSError as exc:
        raise errors.InvalidInput(f"The design {design} {unreadable}.") from exc
    info = validation.inspect_design_bytes(data)
    return validation.ascii_filename(design.name), data, info.media_type


def print_parts(job_prints: Sequence[prints.PrintSpec], unreadable: str = "cannot be read"
                ) -> tuple[dict[str, str], dict[str, FilePart]]:
    """The form fields and file parts that carry a job's prints (see the module docstring);
    a design printed twice is uploaded once."""
    if not job_prints:
        raise errors.InvalidInput("Add a print with a design first.")
    first = job_prints[0]
    if len(job_prints) == 1 and first == prints.PrintSpec(first.design, first.preset):
        return {"preset": first.preset}, {"design": _design_part(Path(first.design),
                                                                 unreadable)}
    parts: dict[str, str] = {}  # design path -> its part's name
    files: dict[str, FilePart] = {}
    listed = []
    for item in job_prints:
        name = parts.get(item.design)
        if name is None:
            name = parts[item.design] = f"design_{len(parts) + 1}"
            files[name] = _design_part(Path(item.design), unreadable)
        listed.append({"file": name, "preset": item.preset,
                       "offset_cm": list(item.offset_cm), "scale": item.scale,
                       "rotation_deg": item.rotation_deg})
    return {"prints": json.dumps(listed)}, files
