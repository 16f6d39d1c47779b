"""Finished renders waiting for delivery, kept on the render machine's own disk.

A render that finished and verified moves into `uploads/<job id>/` of the worker's data
directory, with `pending.json` (job, run token, when it finished, its final counts), before it
is delivered: uploaded to the service over HTTP (a remote worker) or recorded into the data
directory it shares with the service. When the service or the database cannot be reached, the
delivery is tried again with back-off for `TSHIRT_UPLOAD_RETRY_FOR_S`, no attempt spent, the
job showing the stage `waiting_for_service` (its heartbeat is the worker's heartbeat thread's,
as for any job the worker holds); a worker restarted meanwhile finds the folder (`pending`) and
goes on. The folder goes when the outputs are recorded, when
the job is no longer this run's (cancelled, or requeued by the stall check), or when the wait
is over.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from shared.contracts import MANIFEST_NAME, Manifest, ProgressEvent
from shared.errors import InvalidTransition, NotFound, TshirtError
from shared.jobs import JobStatus

from ..config import QueueSettings
from ..db import Database
from ..errors import Conflict
from ..jobs.commands import record_outputs
from ..jobs.storage import Storage, StorageFailed
from ..jobs.transitions import RUNNING_VALUES, record_progress, transition
from ..models import RenderJob, utcnow
from .gate import OUTAGE_ERRORS, outage_reason
from .outcomes import wait
from .remote import ServiceClient

_log = logging.getLogger(__name__)

PENDING_FILE = "pending.json"
STAGE_UPLOADING = "uploading"
STAGE_WAITING = "waiting_for_service"
COUNTS = ("images_done", "images_total", "frames_done", "frames_total")


@dataclass(frozen=True)
class PendingUpload:
    job_id: str
    token: str
    folder: Path
    finished_at: float
    counts: dict[str, int] = field(default_factory=dict)

    def event(self, stage: str) -> ProgressEvent:
        """A progress event that keeps the render's final counts (progress never goes back)."""
        return ProgressEvent(stage=stage, **{k: int(self.counts.get(k, 0)) for k in COUNTS})

    def save(self) -> None:
        data = {k: v for k, v in asdict(self).items() if k != "folder"}
        (self.folder / PENDING_FILE).write_text(json.dumps(data), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> PendingUpload:
        data: dict[str, Any] = json.loads((folder / PENDING_FILE).read_text(encoding="utf-8"))
        return cls(job_id=str(data["job_id"]), token=str(data["token"]), folder=folder,
                   finished_at=float(data["finished_at"]),
                   counts={k: int(v) for k, v in dict(data.get("counts") or {}).items()})


@dataclass(frozen=True)
class Delivery:
    """How a delivery ended: `delivered`; `lost` (the job is no longer this run's);
    `stopped` (`stopping()` said so while waiting; the folder stays: the caller knows whether
    the run was lost or the worker shuts down); `expired` (the wait is over, the render
    dropped); `failed` (refused: `code`, `message`, `retryable`)."""

    kind: str
    code: str = ""
    message: str = ""
    retryable: bool = False


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link where the data directory is one file system (instant, no space), so the
    pending folder keeps its files until the outputs are recorded."""
    target.parent.mkdir(exist_ok=True)  # a colour's folder, in a several-colour job
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


class Uploads:
    def __init__(self, settings: QueueSettings, db: Database, storage: Storage,
                 client: ServiceClient | None) -> None:
        self.settings = settings
        self.db = db
        self.storage = storage
        self.client = client

    def keep(self, job_id: str, token: str, out: Path,
             event: ProgressEvent | None) -> PendingUpload:
        """Move the verified outputs in `out` to the job's pending folder. Raises
        StorageFailed when the disk cannot take the note."""
        counts = {k: getattr(event, k) for k in COUNTS} if event is not None else {}
        upload = PendingUpload(job_id, token, self.storage.upload_dir(job_id), time.time(),
                               counts)
        with self.storage.reporting():
            PendingUpload(job_id, token, out, upload.finished_at, counts).save()
            upload.folder.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(upload.folder, ignore_errors=True)  # a stale one of an earlier run
            shutil.move(out, upload.folder)
        return upload

    def pending(self) -> list[PendingUpload]:
        """The finished renders left by an earlier run of this worker, oldest first."""
        found = []
        for job_id in self.storage.pending_upload_ids():
            folder = self.storage.upload_dir(job_id)
            try:
                found.append(PendingUpload.load(folder))
            except (OSError, ValueError, KeyError, TypeError):
                _log.warning("%s has no readable %s; removed", folder, PENDING_FILE)
                shutil.rmtree(folder, ignore_errors=True)
        return sorted(found, key=lambda upload: upload.finished_at)

    def adopt(self, upload: PendingUpload) -> bool:
        """Whether the job of a render left by an earlier run is this run's: still held by its
        token, or requeued by the stall check while the worker was down and taken by nobody
        since, then taken back (the render is delivered, not done again; the attempt it spent
        counts once)."""
        with self.db.session() as session:
            row = session.execute(select(RenderJob.status, RenderJob.worker_id)
                                  .where(RenderJob.id == upload.job_id)).first()
            if row is None or row.status in RUNNING_VALUES:
                return row is not None and row.worker_id == upload.token
            if row.status != JobStatus.PENDING:
                return False
            try:
                if not transition(session, upload.job_id, JobStatus.COMPOSITING,
                                  worker_id=upload.token, heartbeat_at=utcnow(),
                                  stage=STAGE_UPLOADING, error_code=None, error_message=None):
                    return False
                transition(session, upload.job_id, JobStatus.RENDERING)
            except InvalidTransition:
                return False  # taken by another worker, or cancelled, meanwhile
        _log.info("job %s: requeued while this worker was down; taken back with its finished "
                  "render", upload.job_id)
        return True

    def discard(self, upload: PendingUpload) -> None:
        shutil.rmtree(upload.folder, ignore_errors=True)

    # -- delivering ----------------------------------------------------------------------------

    def deliver(self, upload: PendingUpload, stopping: Callable[[], bool], *,
                held: bool = False) -> Delivery:
        """Deliver until it is done, refused, no longer ours, over time, or `stopping()`.
        `held`: the caller just saw the job is still this run's (no write before the first
        try); otherwise each try first writes the stage, which also proves it."""
        tries = 0
        while True:
            try:
                if (tries or not held) and not self._touch(
                        upload, STAGE_WAITING if tries else STAGE_UPLOADING):
                    return self._end(upload, Delivery("lost"))
                self._send(upload)
            except OUTAGE_ERRORS as error:
                tries += 1
                reason = outage_reason(error)
                waited = time.time() - upload.finished_at
                if waited >= self.settings.upload_retry_for_s:
                    return self._end(upload, Delivery(
                        "expired", "service_unreachable",
                        f"Gave up after {waited / 3600:.1f} h: {reason} The finished render "
                        "was dropped; the job goes back to the queue."))
                delay = self.settings.outage_delay(tries)
                _log.warning("job %s: %s The finished render waits on this disk (try %d, "
                             "next in %.1f s).", upload.job_id, reason, tries, delay)
                if not wait(delay, stopping):  # the job's heartbeat goes on meanwhile
                    return Delivery("stopped")
            except (Conflict, InvalidTransition, NotFound):
                return self._end(upload, Delivery("lost"))
            except StorageFailed as error:
                return self._end(upload, Delivery("failed", error.code, error.message, False))
            except TshirtError as error:
                return self._end(upload, Delivery("failed", error.code, error.message, True))
            else:
                if tries:
                    _log.info("job %s: delivered after %d failed tries", upload.job_id, tries)
                return self._end(upload, Delivery("delivered"))

    def _end(self, upload: PendingUpload, delivery: Delivery) -> Delivery:
        self.discard(upload)
        return delivery

    def _touch(self, upload: PendingUpload, stage: str) -> bool:
        """The job's heartbeat and stage; False once the job is no longer this run's."""
        with self.db.session() as session:
            return record_progress(session, upload.job_id, upload.token,
                                   JobStatus.RENDERING.value, upload.event(stage))

    def _send(self, upload: PendingUpload) -> None:
        if self.client is not None:
            self.client.upload_outputs(upload.job_id, upload.folder)
            return
        manifest_text = (upload.folder / MANIFEST_NAME).read_text(encoding="utf-8")
        manifest = Manifest.from_json(manifest_text)

        def save(staging: Path) -> list[str]:
            for output in manifest.outputs:
                _link_or_copy(upload.folder / output.file, staging / output.file)
            return [output.file for output in manifest.outputs]

        with self.db.session() as session, self.storage.reporting():
            record_outputs(session, self.storage, upload.job_id, manifest_text, save)
