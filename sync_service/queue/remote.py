"""A remote worker's HTTP client for the service: check the token, fetch a job's designs (one
per print), upload its outputs.

Remote render machines share the database and the queue but no disk: files travel over the
admin API with the service token, on the project's one HTTP session (`shared.http`). The outputs
POST carries an idempotency key and so may be retried: a second upload of the same outputs is
refused (409) and the job then reads as completed, which counts as success.

Every answer is sorted by what the worker can do about it: `ServiceAway` (no answer, a time-out,
429 or 5xx) and `TokenRefused` (401/403) are the service's trouble, never the job's: the worker
waits and tries again without spending an attempt. Anything else is about the request itself.
The session's own retries are few and short; the worker's back-off does the long waiting.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import requests

from shared.errors import InvalidInput, NotFound, SyncFailed
from shared.http import post_outputs, session_with_retries
from shared.jobs import JobStatus

_log = logging.getLogger(__name__)

COMPONENT = "render-worker"
RETRIES = 2
#: Answers that mean "the service is not there right now" (a proxy in front of it may say 502).
AWAY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: The service's own "my disk is full": a finished render waits for space like for an outage.
STORAGE_FULL_STATUS = 507


class ServiceAway(SyncFailed):
    """The service did not answer, or answered that it cannot serve now."""

    default_code = "service_unreachable"


class TokenRefused(SyncFailed):
    """The service answered 401/403: `TSHIRT_SERVICE_TOKEN` is not one of its tokens."""

    default_code = "service_token_refused"


def error_of(response: requests.Response) -> tuple[str, str]:
    """The service's JSON error (code, message), or the HTTP status when it sent none."""
    try:
        body = response.json()
        return str(body.get("code", "http_error")), str(body.get("message", response.reason))
    except (ValueError, AttributeError):
        return "http_error", f"HTTP {response.status_code} {response.reason}"


def unreachable(base_url: str, error: requests.RequestException) -> ServiceAway:
    reason = type(error).__name__
    if isinstance(error, requests.ConnectionError):
        reason = "connection refused or host unreachable"
    elif isinstance(error, requests.Timeout):
        reason = "no answer in time"
    return ServiceAway(f"Cannot reach the service at {base_url} ({reason}).")


class ServiceClient:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session_with_retries(COMPONENT, retries=RETRIES)
        self.session.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self.session.close()

    def _url(self, job_id: str, suffix: str = "") -> str:
        return f"{self.base_url}/admin/render-jobs/{job_id}{suffix}"

    def refuse_unusable(self, response: requests.Response) -> None:
        """Raise for the answers that say the service cannot be used now (see the module)."""
        if response.status_code in AWAY_STATUSES or response.status_code == STORAGE_FULL_STATUS:
            _code, message = error_of(response)
            raise ServiceAway(f"The service at {self.base_url} answered "
                              f"{response.status_code}: {message}")
        if response.status_code in (401, 403):
            raise TokenRefused(f"The service at {self.base_url} does not accept "
                               "TSHIRT_SERVICE_TOKEN: it must be one of the service's "
                               "TSHIRT_API_TOKENS.")

    def check(self) -> None:
        """Prove that the service answers and takes the token (the add-on's connection test
        asks the same). Raises ServiceAway, TokenRefused, or InvalidInput when something that
        is not this service answers."""
        try:
            with self.session.get(f"{self.base_url}/admin/render-jobs",
                                  params={"limit": 1}) as response:
                self.refuse_unusable(response)
                if response.status_code != 200 or "items" not in json_of(response):
                    raise InvalidInput(f"{self.base_url} answered HTTP {response.status_code} "
                                       "to /admin/render-jobs: it is not the T-shirt service.",
                                       code="service_unknown")
        except requests.RequestException as error:
            raise unreachable(self.base_url, error) from None

    def download_design(self, job_id: str, target: Path, sha256: str, position: int = 0
                        ) -> None:
        """Stream the design of the job's print at `position` into `target` and check it is
        the file the job recorded."""
        digest = hashlib.sha256()
        try:
            with self.session.get(self._url(job_id, "/design"), params={"position": position},
                                  stream=True) as response:
                self.refuse_unusable(response)
                if response.status_code == 404:
                    raise NotFound(f"The service no longer stores the design of {job_id}.",
                                   code="design_missing")
                if response.status_code != 200:
                    _code, message = error_of(response)
                    raise SyncFailed(f"Could not fetch the design of {job_id}: {message}",
                                     code="design_download_failed")
                with open(target, "wb") as handle:
                    for chunk in response.iter_content(256 * 1024):
                        digest.update(chunk)
                        handle.write(chunk)
        except requests.RequestException as error:
            raise unreachable(self.base_url, error) from None
        if digest.hexdigest() != sha256:
            raise SyncFailed(f"The design of {job_id} arrived damaged (sha256 differs).",
                             code="design_download_failed")

    def job_status(self, job_id: str) -> str | None:
        try:
            with self.session.get(self._url(job_id)) as response:
                self.refuse_unusable(response)
                return json_of(response).get("status") if response.status_code == 200 else None
        except requests.RequestException as error:
            raise unreachable(self.base_url, error) from None

    def upload_outputs(self, job_id: str, out_dir: Path) -> None:
        """POST the manifest and every file it lists. Raises InvalidInput when the service
        refuses the outputs as not matching or the job is no longer running, ServiceAway or
        TokenRefused when it cannot take them now."""
        try:
            response = post_outputs(self.session, self._url(job_id, "/outputs"), out_dir,
                                    idempotency_key=f"{job_id}/outputs")
        except requests.RequestException as error:
            raise unreachable(self.base_url, error) from None
        with response:
            if response.status_code == 200:
                return
            self.refuse_unusable(response)
            code, message = error_of(response)
        if response.status_code == 409 and self.job_status(job_id) == JobStatus.COMPLETED:
            _log.info("job %s: outputs were already recorded (a retried upload)", job_id)
            return
        raise InvalidInput(f"The service refused the outputs of {job_id}: {message}",
                           code=code if response.status_code in (409, 422) else "upload_refused")


def json_of(response: requests.Response) -> dict[str, object]:
    """The answer's JSON object; {} for anything else."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
