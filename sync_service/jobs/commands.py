"""Changing jobs beyond a status: creating one (its design stored under its folder), retrying
one as a new job, and accepting a render's outputs.

Creating is idempotent where a client asks for it: a POST's `Idempotency-Key` is stored on the
job it made (unique), so the same key finds the same job, also when two requests race. A retry
is idempotent always: the n-th retry of a job takes the slot `<job>:<n>` (unique), so of two
concurrent retries only one inserts and the other answers with its job; while that retry is
alive (not failed or cancelled) every retry of the old job answers with it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.contracts import Manifest
from shared.errors import InvalidInput
from shared.jobs import RUNNING, JobSource, JobStatus, MediaSyncStatus
from shared.validation import DesignInfo, ascii_filename

from ..errors import Conflict
from ..ids import new_job_id
from ..models import RenderJob, utcnow
from .forms import JobOptions, options_of, parse_options
from .publish import PublishOptions, parse_publish
from .queries import get_job, job_colors
from .storage import Storage
from .transitions import transition

MAX_IDEMPOTENCY_KEY = 128
#: Statuses of a retry that no longer stands for its job: a new retry may be made.
_DEAD = (JobStatus.FAILED.value, JobStatus.CANCELLED.value)


def check_idempotency_key(value: str | None) -> str | None:
    """The `Idempotency-Key` header as stored: printable ASCII, at most 128 characters."""
    if value is None or value == "":
        return None
    if len(value) > MAX_IDEMPOTENCY_KEY or not value.isascii() or not value.isprintable():
        raise InvalidInput(f"Idempotency-Key must be printable ASCII of at most "
                           f"{MAX_IDEMPOTENCY_KEY} characters.", code="invalid_idempotency_key")
    return value


def job_with_key(session: Session, key: str | None) -> RenderJob | None:
    if key is None:
        return None
    return session.scalar(select(RenderJob).where(RenderJob.idempotency_key == key))


def create_job(session: Session, storage: Storage, *, product_id: str, options: JobOptions,
               design: bytes, design_info: DesignInfo, design_name: str,
               source: JobSource = JobSource.API, retried_from: str | None = None,
               publish: Mapping[str, Any] | None = None, store_configured: bool = False,
               idempotency_key: str | None = None, retry_slot: str | None = None) -> RenderJob:
    """Store the design under a new job's folder and insert the job.

    Jobs from the API start `pending` (the caller enqueues them); a render reported by the
    add-on or the CLI is already running on the artist's machine, so it starts `rendering` and
    waits for its outputs. With a store configured its media sync starts `waiting_for_render`.
    Raises IntegrityError when `idempotency_key` or `retry_slot` is taken (see `create_once`).
    """
    job_id = new_job_id()
    relative = storage.design_path(job_id, design_info.kind)
    storage.write_bytes(relative, design)
    now = utcnow()
    status = JobStatus.PENDING if source == JobSource.API else JobStatus.RENDERING
    job = RenderJob(
        id=job_id, product_id=product_id, preset=options.preset, color=options.color,
        colors=list(options.colors) or None,
        template_id=options.template_id, quality=options.quality, animation=options.animation,
        background=options.background, source=source.value, status=status.value,
        progress=0, stage="queued" if status == JobStatus.PENDING else "rendering",
        images_done=0, images_total=0, frames_done=0, frames_total=0,
        design_path=relative, design_name=ascii_filename(design_name),
        design_type=design_info.media_type, design_size=design_info.size_bytes,
        design_sha256=design_info.sha256, design_width=design_info.width,
        design_height=design_info.height, attempts=0, retried_from=retried_from,
        media_sync_status=(MediaSyncStatus.WAITING_FOR_RENDER if store_configured
                           else MediaSyncStatus.NOT_CONFIGURED).value,
        created_at=now, updated_at=now,
        started_at=None if status == JobStatus.PENDING else now, meta=options.metadata,
        publish=dict(publish) if publish is not None else None,
        idempotency_key=idempotency_key, retry_slot=retry_slot,
    )
    session.add(job)
    try:
        session.commit()
    except BaseException:
        session.rollback()
        storage.remove_job(job_id)
        raise
    return job


def create_once(session: Session, storage: Storage, *, idempotency_key: str | None,
                **fields: Any) -> tuple[RenderJob, bool]:
    """`create_job`, or the job an earlier request with the same key made; True when new."""
    existing = job_with_key(session, idempotency_key)
    if existing is not None:
        return existing, False
    try:
        return create_job(session, storage, idempotency_key=idempotency_key, **fields), True
    except IntegrityError:
        existing = job_with_key(session, idempotency_key)
        if existing is None:
            raise
        return existing, False


def _live_retry(session: Session, job_id: str) -> RenderJob | None:
    return session.scalar(select(RenderJob).where(
        RenderJob.retried_from == job_id, RenderJob.status.not_in(_DEAD))
        .order_by(RenderJob.created_at.desc()).limit(1))


def retry_job(session: Session, storage: Storage, job_id: str, overrides: Mapping[str, Any],
              *, store_configured: bool = False, idempotency_key: str | None = None
              ) -> tuple[RenderJob, bool]:
    """A new `pending` job with the old one's design and options (overridable), pointing back
    at it; True when this call made it. Only failed or cancelled jobs can be retried; the old
    job never changes. A retry that is alive, or one made with the same key, is answered."""
    keyed = job_with_key(session, idempotency_key)
    if keyed is not None:
        if keyed.retried_from != job_id:
            raise Conflict("This Idempotency-Key was used for another request.",
                           code="idempotency_key_reused")
        return keyed, False
    old = get_job(session, job_id)
    if old.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
        raise Conflict(f"Only failed or cancelled jobs can be retried; this one is {old.status}.",
                       code="invalid_transition")
    # Counted before looking for a live retry: one committed in between is then either seen
    # as live, or takes the slot this call computes (and this call answers with it).
    # Checked first: a request with bad fields is refused even while a retry is alive.
    options = parse_options(session, overrides, base=options_of(old))
    publish = parse_publish(overrides, base=PublishOptions.from_dict(old.publish))
    earlier = session.scalar(select(func.count()).select_from(RenderJob)
                             .where(RenderJob.retried_from == job_id)) or 0
    live = _live_retry(session, job_id)
    if live is not None:
        return live, False
    if not storage.exists(old.design_path):
        raise Conflict(f"The design of job {job_id} is no longer stored.", code="design_missing")
    data = storage.path(old.design_path).read_bytes()
    info = DesignInfo(kind="png" if old.design_type == "image/png" else "jpeg",
                      width=old.design_width, height=old.design_height,
                      size_bytes=old.design_size, sha256=old.design_sha256)
    try:
        job = create_job(session, storage, product_id=old.product_id, options=options,
                         design=data, design_info=info, design_name=old.design_name,
                         source=JobSource.API, retried_from=old.id, publish=publish.to_dict(),
                         store_configured=store_configured, idempotency_key=idempotency_key,
                         retry_slot=f"{old.id}:{earlier + 1}")
    except IntegrityError:
        winner = job_with_key(session, idempotency_key) or _live_retry(session, job_id)
        if winner is None:
            raise
        return winner, False
    return job, True


def record_outputs(session: Session, storage: Storage, job_id: str, manifest_text: str | bytes,
                   save_files: Any) -> RenderJob:
    """Accept a render's outputs: the manifest plus every file it lists, each checked against
    its size and sha256, for a job that is running. The job becomes `completed`.

    `save_files(directory)` writes the uploaded files into `directory` (a staging folder inside
    the job's folder) and returns their names.
    """
    job = get_job(session, job_id)
    if job.status not in RUNNING:
        raise Conflict(f"Outputs are accepted only while a job is running; this one is "
                       f"{job.status}.", code="invalid_transition")
    manifest = Manifest.from_json(manifest_text)
    if manifest.spec.job_id not in (None, job.id):
        raise InvalidInput("The manifest belongs to another job.", code="manifest_mismatch")
    if manifest.spec.preset != job.preset or list(manifest.spec.all_colors) != job_colors(job):
        raise InvalidInput("The manifest's preset or colours differ from the job's.",
                           code="manifest_mismatch")
    bare = [c for c in manifest.spec.all_colors if not manifest.stills_of(c)]
    if bare:
        raise InvalidInput(f"The manifest lists no still images of {', '.join(bare)}.",
                           code="manifest_mismatch")
    staging = storage.staging_dir(job_id)
    final_rel = storage.outputs_dir(job_id)
    final = storage.path(final_rel)
    moved = False
    try:
        names = set(save_files(staging))
        listed = {o.file for o in manifest.outputs}
        extra = sorted(names - listed)
        if extra:
            raise InvalidInput(f"Files not in the manifest: {', '.join(extra)}.",
                               code="manifest_mismatch")
        manifest.verify(staging)
        (staging / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
        try:
            os.rename(staging, final)
        except OSError:
            raise Conflict("Outputs for this job are already being recorded.",
                           code="invalid_transition") from None
        moved = True
        outputs = [
            {**o.to_dict(), "path": f"{final_rel}/{o.file}"} for o in manifest.outputs
        ]
        stills = sum(1 for o in manifest.outputs if o.kind == "still")
        transition(session, job_id, JobStatus.COMPLETED, outputs=outputs,
                   manifest=manifest.to_dict(), stage="done", images_done=stills,
                   images_total=stills, error_code=None, error_message=None)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if moved:
            shutil.rmtree(final, ignore_errors=True)
        raise
    return get_job(session, job_id)
