"""Changing jobs beyond a status: creating one (its prints' designs stored under its folder),
retrying one as a new job, and accepting a render's outputs.

Creating is idempotent where a client asks for it: a POST's `Idempotency-Key` is stored on the
job it made (unique), so the same key finds the same job, also when two requests race. A retry
is idempotent always: the n-th retry of a job takes the slot `<job>:<n>` (unique), so of two
concurrent retries only one inserts and the other answers with its job; while that retry is
alive (not failed or cancelled) every retry of the old job answers with it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.contracts import Manifest
from shared.errors import InvalidInput
from shared.jobs import RUNNING, JobSource, JobStatus, MediaSyncStatus
from shared.validation import ascii_filename, check_safe_id

from ..errors import BadRequest, Conflict
from ..ids import new_job_id
from ..models import RenderJob, RenderJobPrint, utcnow
from .forms import JobOptions, options_of, parse_options, parse_source
from .prints import JobPrint, checked_prints, requested_prints, stored_prints, with_first_preset
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
               prints: Sequence[JobPrint], source: JobSource = JobSource.API,
               retried_from: str | None = None, publish: Mapping[str, Any] | None = None,
               store_configured: bool = False, idempotency_key: str | None = None,
               retry_slot: str | None = None) -> RenderJob:
    """Store the prints' designs under a new job's folder (each file once, however many prints
    share it) and insert the job with its prints; the job's own `preset` and design columns
    are its first print's.

    Jobs from the API start `pending` (the caller enqueues them); a render reported by the
    add-on or the CLI is already running on the artist's machine, so it starts `rendering` and
    waits for its outputs. With a store configured its media sync starts `waiting_for_render`.
    Raises IntegrityError when `idempotency_key` or `retry_slot` is taken (see `create_once`).
    """
    job_id = new_job_id()
    now = utcnow()
    status = JobStatus.PENDING if source == JobSource.API else JobStatus.RENDERING
    try:
        paths = _store_designs(storage, job_id, prints)
        rows = [RenderJobPrint(position=position, preset=p.spec.preset,
                               offset_x_cm=p.spec.offset_cm[0], offset_y_cm=p.spec.offset_cm[1],
                               scale=p.spec.scale, rotation_deg=p.spec.rotation_deg,
                               **_design_columns(p, paths[p.design.info.sha256]))
                for position, p in enumerate(prints)]
        job = RenderJob(
            id=job_id, product_id=product_id, preset=prints[0].spec.preset,
            color=options.color, colors=list(options.colors) or None,
            template_id=options.template_id, quality=options.quality,
            animation=options.animation, background=options.background, source=source.value,
            status=status.value, progress=0,
            stage="queued" if status == JobStatus.PENDING else "rendering",
            images_done=0, images_total=0, frames_done=0, frames_total=0,
            **_design_columns(prints[0], paths[prints[0].design.info.sha256]),
            attempts=0, retried_from=retried_from,
            media_sync_status=(MediaSyncStatus.WAITING_FOR_RENDER if store_configured
                               else MediaSyncStatus.NOT_CONFIGURED).value,
            created_at=now, updated_at=now,
            started_at=None if status == JobStatus.PENDING else now, meta=options.metadata,
            publish=dict(publish) if publish is not None else None,
            idempotency_key=idempotency_key, retry_slot=retry_slot, prints=rows,
        )
        session.add(job)
        session.commit()
    except BaseException:
        session.rollback()
        storage.remove_job(job_id)
        raise
    return job


def _store_designs(storage: Storage, job_id: str, prints: Sequence[JobPrint]) -> dict[str, str]:
    """Write (or copy, for a retry) each distinct design file once; its location by sha256."""
    paths: dict[str, str] = {}
    for job_print in prints:
        design = job_print.design
        if design.info.sha256 in paths:
            continue
        relative = storage.design_path(job_id, design.info.kind, len(paths))
        if design.data is not None:
            storage.write_bytes(relative, design.data)
        elif design.stored is not None and storage.exists(design.stored):
            storage.copy(design.stored, relative)
        else:
            raise Conflict(f"The design {design.name} ({design.stored}) is no longer stored.",
                           code="design_missing")
        paths[design.info.sha256] = relative
    return paths


def _design_columns(job_print: JobPrint, relative: str) -> dict[str, Any]:
    """The design columns of a print, the same on the job (its first print) and on the print."""
    info = job_print.design.info
    return {"design_path": relative, "design_name": ascii_filename(job_print.design.name),
            "design_type": info.media_type, "design_size": info.size_bytes,
            "design_sha256": info.sha256, "design_width": info.width,
            "design_height": info.height}


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


@dataclass(frozen=True)
class Requested:
    """What a create request led to: the job, whether this request made it (False: an earlier
    one with the same Idempotency-Key did), and a warning for the submitter when the store
    could not be asked about the product."""

    job: RenderJob
    created: bool
    store_warning: str | None


def create_requested(session: Session, storage: Storage, form: Mapping[str, Any],
                     files: Mapping[str, Any], *, check_product: Callable[[str], str | None],
                     store_configured: bool, idempotency_key: str | None = None) -> Requested:
    """A job from a create request's fields and file parts (`POST /admin/render-jobs`, and the
    dashboard's submit form in the same shape): every field and every print checked before
    anything is stored. `check_product` asks the store (raising when it lacks the product);
    `idempotency_key` is the header as sent. The caller queues a new job from the API."""
    wanted = requested_prints(form, files)
    product_id = form.get("product_id", "")
    if not product_id:
        raise BadRequest("The field 'product_id' is required.")
    check_safe_id(product_id, "product id")
    # with a store configured, it must have the product; a store that cannot be asked
    # answers a warning instead (the push waits for the store anyway)
    store_warning = check_product(product_id)
    source = parse_source(form.get("source"))
    options = parse_options(session, form, [spec.preset for spec in wanted])
    publish = parse_publish(form)
    job_prints = checked_prints(wanted, files)
    job, created = create_once(
        session, storage, idempotency_key=check_idempotency_key(idempotency_key),
        product_id=product_id, options=options, prints=job_prints, source=source,
        publish=publish.to_dict(), store_configured=store_configured)
    return Requested(job, created, store_warning)


def _live_retry(session: Session, job_id: str) -> RenderJob | None:
    return session.scalar(select(RenderJob).where(
        RenderJob.retried_from == job_id, RenderJob.status.not_in(_DEAD))
        .order_by(RenderJob.created_at.desc()).limit(1))


def retry_job(session: Session, storage: Storage, job_id: str, overrides: Mapping[str, Any],
              *, store_configured: bool = False, idempotency_key: str | None = None
              ) -> tuple[RenderJob, bool]:
    """A new `pending` job with the old one's prints and options (overridable; `preset` moves
    its first print), pointing back at it; True when this call made it. Only failed or
    cancelled jobs can be retried; the old job never changes. A retry that is alive, or one
    made with the same key, is answered."""
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
    prints = with_first_preset(stored_prints(old), overrides.get("preset"))
    options = parse_options(session, overrides, [p.spec.preset for p in prints],
                            base=options_of(old))
    publish = parse_publish(overrides, base=PublishOptions.from_dict(old.publish))
    earlier = session.scalar(select(func.count()).select_from(RenderJob)
                             .where(RenderJob.retried_from == job_id)) or 0
    live = _live_retry(session, job_id)
    if live is not None:
        return live, False
    try:
        job = create_job(session, storage, product_id=old.product_id, options=options,
                         prints=prints, source=JobSource.API, retried_from=old.id,
                         publish=publish.to_dict(), store_configured=store_configured,
                         idempotency_key=idempotency_key,
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
    if ([p.preset for p in manifest.spec.prints] != [p.preset for p in job.prints]
            or list(manifest.spec.all_colors) != job_colors(job)):
        raise InvalidInput("The manifest's prints or colours differ from the job's.",
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
