"""Render jobs: creation, the one way to change a status, listing, retry and outputs.

Every status change goes through `transition`, a single conditional UPDATE
(`... WHERE id = ? AND status IN sources_for(target)`): when two writers race (a cancel and a
completion, two workers claiming a job), the database lets exactly one of them match.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, bindparam, func, select, update
from sqlalchemy.orm import Session

from shared.colors import parse_color
from shared.contracts import Manifest, normalize_background
from shared.errors import InvalidInput, NotFound
from shared.jobs import (
    RUNNING,
    TERMINAL,
    JobSource,
    JobStatus,
    MediaSyncStatus,
    check_transition,
    media_sources_for,
    progress_percent,
    sources_for,
)
from shared.presets import get_preset
from shared.quality import DEFAULT_QUALITY, get_quality
from shared.validation import DesignInfo, ascii_filename, check_safe_id

from .errors import BadRequest, Conflict
from .ids import new_job_id
from .models import RenderJob, utcnow
from .storage import Storage
from .templates_service import resolve_template

_log = logging.getLogger(__name__)

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_METADATA_BYTES = 16 * 1024
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidInput(f"{name} must be true or false, not {value!r}.")


def parse_metadata(value: Any) -> dict[str, Any]:
    """Free-form client data: a JSON object (or its text), kept small."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise InvalidInput("metadata must be a JSON object.") from None
    if not isinstance(value, dict):
        raise InvalidInput("metadata must be a JSON object.")
    if len(json.dumps(value)) > MAX_METADATA_BYTES:
        raise InvalidInput(f"metadata is larger than {MAX_METADATA_BYTES // 1024} KB.")
    return value


@dataclass(frozen=True)
class JobOptions:
    """What to render, validated against `shared/` and the template table."""

    preset: str
    color: str
    template_id: str
    quality: str = DEFAULT_QUALITY
    animation: bool = True
    background: str = "transparent"
    metadata: dict[str, Any] = field(default_factory=dict)


def parse_options(session: Session, values: Mapping[str, Any],
                  base: JobOptions | None = None) -> JobOptions:
    """Options from request fields; with `base`, fields left out keep the base's values."""

    def given(name: str) -> bool:
        return values.get(name) not in (None, "")

    if base is None:
        for name in ("preset", "color"):
            if not given(name):
                raise BadRequest(f"The field {name!r} is required.")
    preset = get_preset(values["preset"]).id if given("preset") else base.preset  # type: ignore[union-attr]
    color = parse_color(values["color"]).hex if given("color") else base.color  # type: ignore[union-attr]
    quality = (get_quality(values["quality"]).name if given("quality")
               else base.quality if base else DEFAULT_QUALITY)
    animation = (parse_bool("animation", values["animation"]) if given("animation")
                 else base.animation if base else True)
    background = (normalize_background(values["background"]) if given("background")
                  else base.background if base else "transparent")
    if len(background) > 16:
        raise InvalidInput("background is too long.")
    metadata = (parse_metadata(values.get("metadata")) if given("metadata")
                else dict(base.metadata) if base else {})
    template_id = values.get("template_id") or None
    if template_id is not None:
        check_safe_id(template_id, "template id")
    elif base is not None:
        template_id = base.template_id
    template = resolve_template(session, template_id, preset)
    return JobOptions(preset=preset, color=color, template_id=template.id, quality=quality,
                      animation=animation, background=background, metadata=metadata)


def parse_source(value: Any) -> JobSource:
    if value in (None, ""):
        return JobSource.API
    try:
        return JobSource(str(value))
    except ValueError:
        raise InvalidInput(
            f"Unknown source {value!r}; use one of: {', '.join(JobSource)}."
        ) from None


def create_job(session: Session, storage: Storage, *, product_id: str, options: JobOptions,
               design: bytes, design_info: DesignInfo, design_name: str,
               source: JobSource = JobSource.API, retried_from: str | None = None) -> RenderJob:
    """Store the design under a new job's folder and insert the job.

    Jobs from the API start `pending` (the caller enqueues them); a render reported by the
    add-on or the CLI is already running on the artist's machine, so it starts `rendering` and
    waits for its outputs.
    """
    job_id = new_job_id()
    relative = storage.design_path(job_id, design_info.kind)
    storage.write_bytes(relative, design)
    now = utcnow()
    status = JobStatus.PENDING if source == JobSource.API else JobStatus.RENDERING
    job = RenderJob(
        id=job_id, product_id=product_id, preset=options.preset, color=options.color,
        template_id=options.template_id, quality=options.quality, animation=options.animation,
        background=options.background, source=source.value, status=status.value,
        progress=0, stage="queued" if status == JobStatus.PENDING else "rendering",
        images_done=0, images_total=0, frames_done=0, frames_total=0,
        design_path=relative, design_name=ascii_filename(design_name),
        design_type=design_info.media_type, design_size=design_info.size_bytes,
        design_sha256=design_info.sha256, design_width=design_info.width,
        design_height=design_info.height, attempts=0, retried_from=retried_from,
        media_sync_status=MediaSyncStatus.NOT_CONFIGURED.value, created_at=now, updated_at=now,
        started_at=None if status == JobStatus.PENDING else now, meta=options.metadata,
    )
    session.add(job)
    try:
        session.commit()
    except BaseException:
        session.rollback()
        storage.remove_job(job_id)
        raise
    return job


def get_job(session: Session, job_id: str) -> RenderJob:
    job = session.get(RenderJob, job_id)
    if job is None:
        raise NotFound(f"No render job {job_id!r}.")
    return job


JOBS = RenderJob.__table__
#: What the API shows of a job: everything but the full manifest (large JSON, not shown).
VIEW_COLUMNS = tuple(c for c in JOBS.c if c.name != "manifest")
_ATTRIBUTES = {column.name: prop.key for prop in RenderJob.__mapper__.column_attrs
               for column in prop.columns}


def job_mapping(job: RenderJob | Row[Any]) -> Mapping[str, Any]:
    """A job's columns by column name, from a mapped object or a Core row."""
    if isinstance(job, RenderJob):
        return {name: getattr(job, key) for name, key in _ATTRIBUTES.items()}
    return job._mapping


# Built once: the poll is the hottest path of the API, and building a 40-column SELECT costs
# more than running it.
_SELECT_VIEW_BY_ID = select(*VIEW_COLUMNS).where(JOBS.c.id == bindparam("job_id"))


def get_job_row(connection: Connection, job_id: str) -> Row[Any]:
    """The job as a plain Core row, for reading: a fraction of the cost of a mapped object."""
    row = connection.execute(_SELECT_VIEW_BY_ID, {"job_id": job_id}).first()
    if row is None:
        raise NotFound(f"No render job {job_id!r}.")
    return row


def transition(session: Session, job_id: str, target: str | JobStatus,
               **values: Any) -> bool:
    """Move a job to `target` if the state machine allows it from the job's current status,
    setting `values` in the same UPDATE. Commits.

    Returns True when this call changed the status, False when the job already had `target`
    (a no-op). Raises NotFound, or InvalidTransition (409) when the job is in a status `target`
    cannot be entered from -- including when another writer changed it first.
    """
    target = JobStatus(target)
    now = utcnow()
    changes: dict[str, Any] = {"status": target.value, "updated_at": now, **values}
    if target in RUNNING:
        changes.setdefault("started_at", func.coalesce(RenderJob.started_at, now))
    if target in TERMINAL:
        changes.setdefault("completed_at", now)
    if target == JobStatus.COMPLETED:
        changes.setdefault("progress", 100)
    current = _update_if(session, job_id, RenderJob.status, sources_for(target), changes)
    if current is None:
        return True
    check_transition(current, target)  # raises unless current == target
    return False


def _update_if(session: Session, job_id: str, column: Any, sources: Iterable[str],
               values: dict[str, Any]) -> str | None:
    """One conditional UPDATE of a job whose `column` is in `sources`, so that of two writers
    racing on a job only one can win. None when it won; otherwise the column's current value."""
    result = session.execute(
        update(RenderJob)
        .where(RenderJob.id == job_id, column.in_(sorted(str(s) for s in sources)))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        session.commit()
        session.expire_all()
        return None
    session.rollback()
    current = session.scalar(select(column).where(RenderJob.id == job_id))
    if current is None:
        raise NotFound(f"No render job {job_id!r}.")
    return current


def set_media_status(session: Session, job_id: str, target: str | MediaSyncStatus,
                     **values: Any) -> bool:
    """The media-sync counterpart of `transition` (issue 7 drives it)."""
    target = MediaSyncStatus(target)
    current = _update_if(session, job_id, RenderJob.media_sync_status,
                         media_sources_for(target),
                         {"media_sync_status": target.value, "updated_at": utcnow(), **values})
    if current is None:
        return True
    if current != target.value:
        raise Conflict(f"Media sync cannot go from {current} to {target.value}.",
                       code="invalid_transition")
    return False


def record_progress(session: Session, job_id: str, *, stage: str, images_done: int,
                    images_total: int, frames_done: int, frames_total: int,
                    worker_id: str | None = None) -> bool:
    """Store a running job's counts, stage text, progress and heartbeat; ignored (False) once the
    job has left the running states, so a late event cannot resurrect a cancelled job."""
    status = session.scalar(select(RenderJob.status).where(RenderJob.id == job_id))
    if status is None:
        raise NotFound(f"No render job {job_id!r}.")
    percent = progress_percent(status, images_done=images_done, images_total=images_total,
                               frames_done=frames_done, frames_total=frames_total)
    now = utcnow()
    values: dict[str, Any] = dict(
        stage=stage[:200], images_done=images_done, images_total=images_total,
        frames_done=frames_done, frames_total=frames_total, progress=percent,
        heartbeat_at=now, updated_at=now,
    )
    if worker_id is not None:
        values["worker_id"] = worker_id
    result = session.execute(
        update(RenderJob)
        .where(RenderJob.id == job_id, RenderJob.status.in_(sorted(s.value for s in RUNNING)))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount == 1


# ---------------------------------------------------------------------------------------------
# Listing


@dataclass(frozen=True)
class JobFilter:
    statuses: tuple[str, ...] = ()
    product_id: str | None = None
    preset: str | None = None
    source: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    descending: bool = True


def _int_arg(name: str, text: str | None, default: int, low: int, high: int | None) -> int:
    if text in (None, ""):
        return default
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number, not {text!r}.") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidInput(f"{name} must be {bound}, not {value}.")
    return value


def _time_arg(name: str, text: str | None) -> datetime | None:
    if text in (None, ""):
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} must be an ISO 8601 date-time, not {text!r}.") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_filter(args: Mapping[str, str], product_id: str | None = None) -> JobFilter:
    """Query-string filters; every value is validated (422) rather than silently ignored."""
    statuses: tuple[str, ...] = ()
    if args.get("status"):
        parts = [p.strip() for p in args["status"].split(",") if p.strip()]
        for part in parts:
            if part not in JobStatus.__members__.values():
                raise InvalidInput(
                    f"Unknown status {part!r}; statuses are: {', '.join(JobStatus)}.")
        statuses = tuple(dict.fromkeys(parts))
    product = product_id or args.get("product_id") or None
    if product is not None:
        check_safe_id(product, "product id")
    preset = get_preset(args["preset"]).id if args.get("preset") else None
    source = parse_source(args["source"]).value if args.get("source") else None
    order = (args.get("order") or "desc").lower()
    if order not in ("asc", "desc"):
        raise InvalidInput(f"order must be asc or desc, not {order!r}.")
    return JobFilter(
        statuses=statuses, product_id=product, preset=preset, source=source,
        created_after=_time_arg("created_after", args.get("created_after")),
        created_before=_time_arg("created_before", args.get("created_before")),
        limit=_int_arg("limit", args.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT),
        offset=_int_arg("offset", args.get("offset"), 0, 0, None),
        descending=order == "desc",
    )


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def list_jobs(connection: Connection, flt: JobFilter) -> tuple[Sequence[Row[Any]], int]:
    conditions: list[ColumnElement[bool]] = []
    if flt.statuses:
        conditions.append(RenderJob.status.in_(flt.statuses))
    if flt.product_id:
        conditions.append(RenderJob.product_id == flt.product_id)
    if flt.preset:
        conditions.append(RenderJob.preset == flt.preset)
    if flt.source:
        conditions.append(RenderJob.source == flt.source)
    dialect = connection.dialect.name
    for bound, op in ((flt.created_after, "ge"), (flt.created_before, "lt")):
        if bound is not None:
            # SQLite stores naive UTC text; PostgreSQL compares aware timestamps.
            value = _naive_utc(bound) if dialect == "sqlite" else bound
            column = RenderJob.created_at
            conditions.append(column >= value if op == "ge" else column < value)
    order = ((RenderJob.created_at.desc(), RenderJob.id.desc()) if flt.descending
             else (RenderJob.created_at.asc(), RenderJob.id.asc()))
    items = connection.execute(
        select(*VIEW_COLUMNS).where(*conditions).order_by(*order).limit(flt.limit)
        .offset(flt.offset)
    ).all()
    total = connection.execute(
        select(func.count()).select_from(JOBS).where(*conditions)).scalar() or 0
    return items, total


# ---------------------------------------------------------------------------------------------
# Cancel, retry, outputs


def options_of(job: RenderJob) -> JobOptions:
    return JobOptions(preset=job.preset, color=job.color, template_id=job.template_id,
                      quality=job.quality, animation=job.animation, background=job.background,
                      metadata=dict(job.meta or {}))


def retry_job(session: Session, storage: Storage, job_id: str,
              overrides: Mapping[str, Any]) -> RenderJob:
    """A new `pending` job with the old one's design and options (overridable), pointing back
    at it. Only failed or cancelled jobs can be retried; the old job never changes."""
    old = get_job(session, job_id)
    if old.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
        raise Conflict(f"Only failed or cancelled jobs can be retried; this one is {old.status}.",
                       code="invalid_transition")
    options = parse_options(session, overrides, base=options_of(old))
    if not storage.exists(old.design_path):
        raise Conflict(f"The design of job {job_id} is no longer stored.", code="design_missing")
    data = storage.path(old.design_path).read_bytes()
    info = DesignInfo(kind="png" if old.design_type == "image/png" else "jpeg",
                      width=old.design_width, height=old.design_height,
                      size_bytes=old.design_size, sha256=old.design_sha256)
    return create_job(session, storage, product_id=old.product_id, options=options,
                      design=data, design_info=info, design_name=old.design_name,
                      source=JobSource.API, retried_from=old.id)


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
    if manifest.spec.preset != job.preset or manifest.spec.color != job.color:
        raise InvalidInput("The manifest's preset or colour differs from the job's.",
                           code="manifest_mismatch")
    if not manifest.stills:
        raise InvalidInput("The manifest lists no still images.", code="manifest_mismatch")
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
