"""A remote worker's HTTP client for the service: fetch a job's design, upload its outputs.

Remote render machines share the database and the queue but no disk: files travel over the
admin API with the service token. One session factory: timeouts on every request, back-off on
429/5xx, a User-Agent; the outputs POST is retried too, because a second upload of the same
outputs is refused (409) and the job then reads as completed, which counts as success.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from contextlib import ExitStack
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from shared.contracts import MANIFEST_NAME, Manifest
from shared.errors import InvalidInput, SyncFailed

_log = logging.getLogger(__name__)

USER_AGENT = "tshirt-render-worker/0.1"
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 120.0


def session_with_retries(token: str, retries: int = 4, backoff_s: float = 0.5) -> requests.Session:
    session = requests.Session()
    retry = Retry(total=retries, connect=retries, read=retries, status=retries,
                  backoff_factor=backoff_s, status_forcelist=(429, 500, 502, 503, 504),
                  allowed_methods=None, raise_on_status=False, respect_retry_after_header=True)
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"User-Agent": USER_AGENT, "Authorization": f"Bearer {token}"})
    return session


def _error_of(response: requests.Response) -> tuple[str, str]:
    try:
        body = response.json()
        return str(body.get("code", "http_error")), str(body.get("message", response.reason))
    except ValueError:
        return "http_error", f"HTTP {response.status_code} {response.reason}"


class ServiceClient:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session_with_retries(token)

    def close(self) -> None:
        self.session.close()

    def _url(self, job_id: str, suffix: str = "") -> str:
        return f"{self.base_url}/admin/render-jobs/{job_id}{suffix}"

    def download_design(self, job_id: str, target: Path, sha256: str) -> None:
        """Stream the design into `target` and check it is the file the job recorded."""
        digest = hashlib.sha256()
        try:
            with self.session.get(self._url(job_id, "/design"), stream=True,
                                  timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S)) as response:
                if response.status_code != 200:
                    code, message = _error_of(response)
                    raise SyncFailed(f"Could not fetch the design of {job_id}: {message}",
                                     code="design_download_failed")
                with open(target, "wb") as handle:
                    for chunk in response.iter_content(256 * 1024):
                        digest.update(chunk)
                        handle.write(chunk)
        except requests.RequestException as error:
            raise SyncFailed(f"Could not reach the service for the design of {job_id}: "
                             f"{type(error).__name__}.", code="design_download_failed") from None
        if digest.hexdigest() != sha256:
            raise SyncFailed(f"The design of {job_id} arrived damaged (sha256 differs).",
                             code="design_download_failed")

    def job_status(self, job_id: str) -> str | None:
        try:
            response = self.session.get(self._url(job_id),
                                        timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S))
        except requests.RequestException:
            return None
        return response.json().get("status") if response.status_code == 200 else None

    def upload_outputs(self, job_id: str, out_dir: Path, manifest: Manifest) -> None:
        """POST the manifest and every file it lists. Raises InvalidInput when the service
        refuses the outputs as not matching, SyncFailed when it cannot be reached."""
        manifest_text = (out_dir / MANIFEST_NAME).read_text(encoding="utf-8")
        with ExitStack() as stack:
            files = []
            for output in manifest.outputs:
                handle = stack.enter_context(open(out_dir / output.file, "rb"))
                media_type = mimetypes.guess_type(output.file)[0] or "application/octet-stream"
                files.append(("files", (output.file, handle, media_type)))
            try:
                response = self.session.post(self._url(job_id, "/outputs"),
                                             data={"manifest": manifest_text}, files=files,
                                             timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S))
            except requests.RequestException as error:
                raise SyncFailed(f"Could not upload the outputs of {job_id}: "
                                 f"{type(error).__name__}.", code="upload_failed") from None
        if response.status_code == 200:
            return
        code, message = _error_of(response)
        if response.status_code == 409 and self.job_status(job_id) == "completed":
            _log.info("job %s: outputs were already recorded (a retried upload)", job_id)
            return
        if response.status_code in (409, 422):
            raise InvalidInput(message, code=code)
        raise SyncFailed(f"The service refused the outputs of {job_id}: {message}",
                         code="upload_failed")
