"""A remote worker's HTTP client for the service: fetch a job's design, upload its outputs.

Remote render machines share the database and the queue but no disk: files travel over the
admin API with the service token, on the project's one HTTP session (`shared.http`). The outputs
POST carries an idempotency key and so may be retried: a second upload of the same outputs is
refused (409) and the job then reads as completed, which counts as success.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import requests

from shared.errors import InvalidInput, SyncFailed
from shared.http import post_outputs, session_with_retries
from shared.jobs import JobStatus

_log = logging.getLogger(__name__)

COMPONENT = "render-worker"
RETRIES = 4


def _error_of(response: requests.Response) -> tuple[str, str]:
    try:
        body = response.json()
        return str(body.get("code", "http_error")), str(body.get("message", response.reason))
    except ValueError:
        return "http_error", f"HTTP {response.status_code} {response.reason}"


class ServiceClient:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session_with_retries(COMPONENT, retries=RETRIES)
        self.session.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self.session.close()

    def _url(self, job_id: str, suffix: str = "") -> str:
        return f"{self.base_url}/admin/render-jobs/{job_id}{suffix}"

    def download_design(self, job_id: str, target: Path, sha256: str) -> None:
        """Stream the design into `target` and check it is the file the job recorded."""
        digest = hashlib.sha256()
        try:
            with self.session.get(self._url(job_id, "/design"), stream=True) as response:
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
            response = self.session.get(self._url(job_id))
        except requests.RequestException:
            return None
        return response.json().get("status") if response.status_code == 200 else None

    def upload_outputs(self, job_id: str, out_dir: Path) -> None:
        """POST the manifest and every file it lists. Raises InvalidInput when the service
        refuses the outputs as not matching, SyncFailed when it cannot be reached."""
        try:
            response = post_outputs(self.session, self._url(job_id, "/outputs"), out_dir,
                                    idempotency_key=f"{job_id}/outputs")
        except requests.RequestException as error:
            raise SyncFailed(f"Could not upload the outputs of {job_id}: "
                             f"{type(error).__name__}.", code="upload_failed") from None
        if response.status_code == 200:
            return
        code, message = _error_of(response)
        if response.status_code == 409 and self.job_status(job_id) == JobStatus.COMPLETED:
            _log.info("job %s: outputs were already recorded (a retried upload)", job_id)
            return
        if response.status_code in (409, 422):
            raise InvalidInput(message, code=code)
        raise SyncFailed(f"The service refused the outputs of {job_id}: {message}",
                         code="upload_failed")
