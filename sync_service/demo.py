"""`tshirt-service serve --submit-sample`: once the service answers, submit the bundled sample
design over HTTP like any client would, follow the job, and print it with where its images and
video are. Runs as a small child process of `serve`, so the server itself is untouched.

    python -m sync_service.demo URL DATA_DIR   (token in TSHIRT_SERVICE_TOKEN, if any)
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path

import requests

from shared.http import IDEMPOTENCY_HEADER, session_with_retries
from shared.jobs import TERMINAL, JobStatus

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "render_assets" / "designs" / "sample.png"
FIELDS = {"product_id": "sample", "preset": "chest-medium", "color": "#c8102e"}


def _say(text: str) -> None:
    print(f"[sample] {text}", file=sys.stderr, flush=True)


def run(base: str, data_dir: Path, token: str | None, timeout_s: float = 1800) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{base}/health", timeout=2).status_code in (200, 503):
                break
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            _say("the service did not answer; not submitting the sample")
            return 1
        time.sleep(0.2)
    # Keyed, so the shared session may send it again after a 503 (the database busy) or a
    # lost answer, as it does for every client's POST: the service makes one job of it.
    client = session_with_retries("demo")
    with SAMPLE.open("rb") as handle:
        response = client.post(f"{base}/admin/render-jobs",
                               headers={**headers, IDEMPOTENCY_HEADER: uuid.uuid4().hex},
                               data=FIELDS,
                               files={"design": (SAMPLE.name, handle, "image/png")}, timeout=30)
    if response.status_code != 202:
        _say(f"submitting the sample failed: {response.status_code} {response.text.strip()}")
        return 1
    job = response.json()
    _say(f"submitted {SAMPLE.name} as job {job['id']} (POST {base}/admin/render-jobs)")
    last = None
    deadline = time.monotonic() + timeout_s
    while job["status"] not in TERMINAL:
        if time.monotonic() > deadline:
            _say("gave up waiting; the job is still " + job["status"])
            return 1
        time.sleep(0.5)
        job = client.get(f"{base}/admin/render-jobs/{job['id']}", headers=headers,
                         timeout=10).json()
        state = (job["status"], job["progress"], job["stage"])
        if state != last:
            _say(f"{job['status']:<11} {job['progress']:>3}%  {job['stage']}")
            last = state
    print(json.dumps(job, indent=2), flush=True)
    if job["status"] != JobStatus.COMPLETED:
        _say(f"the sample job ended {job['status']}: {job['error']}")
        return 1
    folder = data_dir / "jobs" / job["id"] / "outputs"
    _say(f"images and video: {folder}")
    for output in job["outputs"]:
        _say(f"  {output['file']:<24} {base}{output['url']}")
    _say("the service keeps running: submit your own designs the same way (Ctrl-C stops it)")
    return 0


def main() -> int:
    try:
        return run(sys.argv[1], Path(sys.argv[2]), os.environ.get("TSHIRT_SERVICE_TOKEN"))
    except KeyboardInterrupt:
        return 130
    except requests.RequestException as error:
        _say(f"lost the service: {type(error).__name__}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
