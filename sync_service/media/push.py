"""Push one completed render to the store, idempotently, and record what was pushed.

A push reads the product, uploads the job's stills and turntable in one request (or reuses the
uploads an earlier attempt recorded), and sets the product's images to: every image it already
had, minus the previous render of the same preset and colour (in `replace` mode), with this
render's stills in angle order (the six views, then a close-up a print adds, such as the neck
label's) where that render was (or at the end), and the front view as thumbnail. This render's
images are recognised by their upload URLs, so a second push of the same job, or a retry after
a request whose answer was lost, finds them attached and keeps them instead of adding copies.

What belongs to us is known from two records: our `media_pushes` rows and the product's
`metadata["tshirt_renders"]` (job id -> preset, colour, design hash, upload and image ids),
since Medusa drops per-image metadata. An image neither record names was not made by this
service and is always kept.

Fitting how the shop sells (issue 15): where the product has a colour option, this render's
stills are linked to the variants of its colour (Medusa's variant images), so each variant shows
its own colour; a colour no variant has stays on the product level and the push carries a
warning. The thumbnail follows the job's `thumbnail` policy, and the one we set is remembered in
`metadata["tshirt_thumbnail"]`, so a later render updates our own but never the shop's. The
turntable's URL is in `metadata["tshirt_turntables"]` by colour. A job whose images a newer
render replaced is refused (`replaced`) until `allow_again` (a forced push) clears the mark.

Known limit: when the upload request itself succeeds but its answer is lost, its files are not
known to us and stay in the store's file storage unattached (never on the product); the retry
uploads again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.angles import ANGLE_IDS, STILL_IDS, THUMBNAIL_ANGLE
from shared.errors import NotFound, SyncFailed
from shared.http import media_type
from shared.jobs import JobStatus, MediaSyncStatus
from shared.validation import ascii_filename

from ..db import Database
from ..jobs.publish import PublishOptions
from ..jobs.queries import job_colors
from ..jobs.storage import Storage
from ..jobs.transitions import set_media_status
from ..models import MediaPush, RenderJob, utcnow
from .roles import TURNTABLE, is_turntable, of_color, role
from .sink import ImageRef, MediaSink, Product, StoreRejected, UploadFile
from .variants import choose_thumbnail, link_variants

_log = logging.getLogger(__name__)

METADATA_KEY = "tshirt_renders"
THUMBNAIL_KEY = "tshirt_thumbnail"
TURNTABLES_KEY = "tshirt_turntables"


@dataclass
class PushResult:
    job_id: str
    product_id: str
    #: role (`media.roles`: the angle, or `<rrggbb>/<angle>` with several colours) -> the
    #: product image id now showing it
    image_ids: dict[str, str]
    #: role (stills and turntables) -> the uploaded file's id
    file_ids: dict[str, str]
    thumbnail: str
    uploaded: bool
    replaced_jobs: list[str] = field(default_factory=list)
    deleted_uploads: list[str] = field(default_factory=list)
    #: the variants this render's stills were linked to
    variant_ids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def idempotency_key(sink: str, job_id: str) -> str:
    return f"{sink}:{job_id}"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _files_to_push(job: RenderJob, storage: Storage) -> list[tuple[str, UploadFile]]:
    """(role, file) for each colour's stills in angle order, then its turntable video if there
    is one. Names are ASCII and say which job and view they show (the store keeps the name)."""
    colors = job_colors(job)
    chosen = []
    for color in colors:
        outputs = [o for o in job.outputs or [] if (o.get("color") or job.color) == color]
        stills = {o["angle"]: o for o in outputs if o["kind"] == "still" and o.get("angle")}
        if not stills:
            raise StoreRejected(f"Job {job.id} has no still images of {color} to push.",
                                code="no_outputs")
        chosen += [(role(colors, color, angle), stills[angle]) for angle in STILL_IDS
                   if angle in stills]
        animation = next((o for o in outputs if o["kind"] == "animation"), None)
        if animation is not None:
            chosen.append((role(colors, color, TURNTABLE), animation))
    files = []
    for name_of, output in chosen:
        if not storage.exists(output["path"]):
            raise StoreRejected(f"The output {PurePosixPath(output['path']).name} of job "
                                f"{job.id} is no longer stored.", code="outputs_missing")
        suffix = PurePosixPath(output["path"]).suffix.lower()
        name = ascii_filename(f"tshirt-{job.id}-{name_of.replace('/', '-')}{suffix}")
        files.append((name_of, UploadFile(name=name, data=storage.path(output["path"]).read_bytes(),
                                       media_type=media_type(name))))
    return files


def _get_record(session: Session, job_id: str, sink: str) -> MediaPush:
    record = session.scalar(select(MediaPush).where(
        MediaPush.idempotency_key == idempotency_key(sink, job_id)))
    if record is None:
        now = utcnow()
        record = MediaPush(job_id=job_id, sink=sink, status=MediaSyncStatus.PENDING.value,
                           attempts=0, idempotency_key=idempotency_key(sink, job_id),
                           remote_files={}, remote_images={}, created_at=now, updated_at=now)
        session.add(record)
        session.flush()
    return record


def _save(session: Session, record: MediaPush, **values: Any) -> None:
    """Write a push record's fields now (one UPDATE, committed), so a crash right after a
    remote call still leaves what it did on record."""
    values["updated_at"] = utcnow()
    session.execute(update(MediaPush).where(MediaPush.id == record.id).values(**values)
                    .execution_options(synchronize_session=False))
    session.commit()
    for key, value in values.items():
        setattr(record, key, value)


@dataclass
class _Ours:
    """What we know of our own images on one product: by image id and by URL, the job each
    belongs to."""

    jobs_by_image_id: dict[str, str] = field(default_factory=dict)
    jobs_by_url: dict[str, str] = field(default_factory=dict)
    files_by_job: dict[str, set[str]] = field(default_factory=dict)
    #: (preset, colours): a render replaces an earlier one of the same preset and colours
    render_key_by_job: dict[str, tuple[str, str]] = field(default_factory=dict)

    def job_of(self, image_id: str, url: str) -> str | None:
        return self.jobs_by_image_id.get(image_id) or self.jobs_by_url.get(url)


def _colors_key(colors: list[Any]) -> str:
    return ",".join(str(c) for c in colors)


def _collect_ours(session: Session, product: Product, sink: str, job: RenderJob) -> _Ours:
    ours = _Ours()
    entries = product.metadata.get(METADATA_KEY)
    if isinstance(entries, dict):
        for job_id, entry in entries.items():
            if not isinstance(entry, dict):
                continue
            ours.render_key_by_job[job_id] = (
                str(entry.get("preset")), _colors_key(entry.get("colors") or [entry.get("color")]))
            for image_id in (entry.get("image_ids") or {}).values():
                if image_id:
                    ours.jobs_by_image_id[str(image_id)] = job_id
            for url in (entry.get("urls") or {}).values():
                if url:
                    ours.jobs_by_url[str(url)] = job_id
            ours.files_by_job.setdefault(job_id, set()).update(
                str(f) for f in (entry.get("file_ids") or {}).values() if f)
    rows = session.execute(
        select(MediaPush, RenderJob.preset, RenderJob.color, RenderJob.colors)
        .join(RenderJob, RenderJob.id == MediaPush.job_id)
        .where(RenderJob.product_id == product.id, MediaPush.sink == sink)
    ).all()
    for record, preset, color, colors in rows:
        ours.render_key_by_job[record.job_id] = (preset, _colors_key(colors or [color]))
        for image_id in (record.remote_images or {}).values():
            ours.jobs_by_image_id[str(image_id)] = record.job_id
        files = (record.remote_files or {}).get("files") or {}
        if (record.remote_files or {}).get("deleted_at"):
            continue
        for item in files.values():
            ours.jobs_by_url[item["url"]] = record.job_id
            ours.files_by_job.setdefault(record.job_id, set()).add(item["id"])
    return ours


def _plan_images(product: Product, job: RenderJob, urls: dict[str, str], ours: _Ours,
                 replace: bool) -> tuple[list[ImageRef], list[str]]:
    """The product's new image list, and the jobs whose images it drops."""
    own_urls = {url: name for name, url in urls.items() if not is_turntable(name)}
    key = (job.preset, _colors_key(job_colors(job)))
    replaced: set[str] = set()
    kept: list[ImageRef] = []
    attached: dict[str, str] = {}  # angle -> id of this render's image already on the product
    slot: int | None = None
    for image in product.images:
        angle = own_urls.get(image.url)
        owner = ours.job_of(image.id, image.url)
        if angle is not None or owner == job.id:
            if angle is not None and angle not in attached:
                attached[angle] = image.id
            slot = len(kept) if slot is None else slot
            continue  # placed below, once, in angle order
        if (replace and owner is not None and owner != job.id
                and ours.render_key_by_job.get(owner) == key):
            replaced.add(owner)
            slot = len(kept) if slot is None else slot
            continue
        kept.append(ImageRef(url=image.url, id=image.id))
    block = [ImageRef(url=url, id=attached.get(name))
             for name, url in urls.items() if not is_turntable(name)]
    slot = len(kept) if slot is None else slot
    return kept[:slot] + block + kept[slot:], sorted(replaced)


def _metadata_entry(job: RenderJob, files: dict[str, dict[str, str]],
                    image_ids: dict[str, str]) -> dict[str, Any]:
    return {
        "job_id": job.id,
        "preset": job.preset,
        "color": job.color,
        "colors": job_colors(job),
        "design_sha256": job.design_sha256,
        "image_ids": {name: image_ids.get(name) for name in files if not is_turntable(name)},
        "urls": {role: item["url"] for role, item in files.items()},
        "file_ids": {role: item["id"] for role, item in files.items()},
        "pushed_at": _now_iso(),
    }


def push_to_sink(session: Session, storage: Storage, sink: MediaSink, job_id: str, *,
                 replace: bool = True) -> PushResult:
    """Publish job `job_id` through `sink`; see the module docstring. Raises `SyncFailed`
    (retryable) or `StoreRejected` (not); on success the push record is `pushed`."""
    started = time.monotonic()
    job = session.get(RenderJob, job_id)
    if job is None:
        raise NotFound(f"No render job {job_id!r}.")
    if job.status != JobStatus.COMPLETED:
        raise StoreRejected(f"Only completed jobs can be pushed; job {job_id} is {job.status}.",
                            code="invalid_transition")
    record = _get_record(session, job_id, sink.name)
    replaced_by = (record.remote_files or {}).get("replaced_by")
    if replaced_by:
        raise StoreRejected(f"Job {job_id}'s images were replaced by the newer render "
                            f"{replaced_by}; push it with force to put them back.",
                            code="replaced")
    _save(session, record, attempts=record.attempts + 1, status=MediaSyncStatus.PENDING.value)
    publish = PublishOptions.from_dict(job.publish)
    to_push = _files_to_push(job, storage)

    product = sink.get_product(job.product_id)

    recorded = dict(record.remote_files or {})
    files: dict[str, dict[str, str]] = recorded.get("files") or {}
    uploaded = False
    if recorded.get("deleted_at") or set(files) != {role for role, _ in to_push}:
        remote = sink.upload([item for _, item in to_push])
        files = {role: {"id": r.id, "url": r.url, "name": item.name}
                 for (role, item), r in zip(to_push, remote, strict=True)}
        _save(session, record, remote_files={"files": files, "uploaded_at": _now_iso()})
        uploaded = True
    urls = {role: item["url"] for role, item in files.items()}

    ours = _collect_ours(session, product, sink.name, job)
    images, replaced = _plan_images(product, job, urls, ours, replace)
    colors = job_colors(job)
    first = of_color(urls, colors, colors[0])
    thumbnail_url = first[THUMBNAIL_ANGLE] if THUMBNAIL_ANGLE in first else next(
        first[a] for a in ANGLE_IDS if a in first)
    thumbnail = choose_thumbnail(product, thumbnail_url, set(ours.jobs_by_url),
                                 publish.thumbnail, set_before=product.metadata.get(THUMBNAIL_KEY))

    metadata = dict(product.metadata)
    if thumbnail == thumbnail_url:
        metadata[THUMBNAIL_KEY] = thumbnail
    turntables = {color: of_color(urls, colors, color)[TURNTABLE] for color in colors
                  if TURNTABLE in of_color(urls, colors, color)}
    if turntables:
        earlier = metadata.get(TURNTABLES_KEY)
        metadata[TURNTABLES_KEY] = {**(earlier if isinstance(earlier, dict) else {}),
                                    **turntables}
    entries = dict(metadata.get(METADATA_KEY) or {}) if isinstance(
        metadata.get(METADATA_KEY), dict) else {}
    for old in replaced:
        entries.pop(old, None)
    ids_by_url = {ref.url: ref.id for ref in images if ref.id}
    known_ids = {angle: ids_by_url[url] for angle, url in urls.items() if url in ids_by_url}
    entries[job.id] = _metadata_entry(job, files, known_ids)
    metadata[METADATA_KEY] = entries

    current = [(i.id, i.url) for i in product.images]
    unchanged = (all(i.id for i in images) and [(i.id, i.url) for i in images] == current
                 and product.thumbnail == thumbnail)
    if not unchanged:
        product = sink.set_images(job.product_id, images, thumbnail, metadata)
    by_url = {}
    for image in product.images:
        by_url.setdefault(image.url, image.id)
    image_ids = {name: by_url[url] for name, url in urls.items()
                 if not is_turntable(name) and url in by_url}
    missing = [a for a in urls if not is_turntable(a) and a not in image_ids]
    if missing:
        raise SyncFailed(f"Medusa did not keep the images for {', '.join(missing)}.",
                         code="store_error")
    _save(session, record, remote_images=image_ids)
    final_entry = _metadata_entry(job, files, image_ids)
    stored = (product.metadata.get(METADATA_KEY) or {}).get(job.id) or {}
    if stored.get("image_ids") != final_entry["image_ids"] or any(
            old in (product.metadata.get(METADATA_KEY) or {}) for old in replaced):
        entries[job.id] = final_entry
        metadata = {**product.metadata, METADATA_KEY: entries}
        sink.set_metadata(job.product_id, metadata)

    variant_ids, warnings = [], []
    for color in colors:  # each colour's stills onto the variants of that colour
        linked, said = link_variants(sink, product, color, of_color(image_ids, colors, color),
                                     publish)
        variant_ids += linked
        warnings += said
    if warnings != recorded.get("warnings", []):
        _save(session, record, remote_files={**(record.remote_files or {}),
                                             "warnings": warnings})

    deleted = _delete_replaced_uploads(session, sink, replaced, ours, keep=set(
        item["id"] for item in files.values()), replaced_by=job.id)

    now = utcnow()
    _save(session, record, status=MediaSyncStatus.PUSHED.value, pushed_at=now,
          last_error=None, last_error_code=None)
    set_media_status(session, job_id, MediaSyncStatus.PUSHED)
    _log.info("job %s: pushed %d image(s) to product %s in %.2f s%s%s", job_id, len(image_ids),
              job.product_id, time.monotonic() - started, "" if uploaded else " (no upload)",
              f", replacing {', '.join(replaced)}" if replaced else "")
    return PushResult(job_id=job_id, product_id=job.product_id, image_ids=image_ids,
                      file_ids={role: item["id"] for role, item in files.items()},
                      thumbnail=thumbnail, uploaded=uploaded, replaced_jobs=replaced,
                      deleted_uploads=deleted, variant_ids=variant_ids, warnings=warnings)


def allow_again(session: Session, job_id: str) -> None:
    """A forced push of a replaced job: clear the mark, so its next push puts it back (its
    uploads were deleted: it uploads again) and replaces the newer render in turn."""
    for record in session.scalars(select(MediaPush).where(MediaPush.job_id == job_id)):
        files = dict(record.remote_files or {})
        if files.pop("replaced_by", None) is not None:
            _save(session, record, remote_files=files)


def _delete_replaced_uploads(session: Session, sink: MediaSink, replaced: Iterable[str],
                             ours: _Ours, *, keep: set[str], replaced_by: str) -> list[str]:
    """Delete the uploads of renders this push replaced (after the product stopped pointing at
    them). A failure here is logged, not raised: the push itself has landed."""
    deleted: list[str] = []
    for old_job in replaced:
        for file_id in sorted(ours.files_by_job.get(old_job, set()) - keep):
            try:
                sink.delete_upload(file_id)
                deleted.append(file_id)
            except SyncFailed as error:
                _log.warning("could not delete upload %s of replaced job %s: %s", file_id,
                             old_job, error.message)
        old = session.scalar(select(MediaPush).where(MediaPush.job_id == old_job,
                                                     MediaPush.sink == sink.name))
        if old is not None:
            _save(session, old, remote_files={**(old.remote_files or {}),
                                              "deleted_at": _now_iso(),
                                              "replaced_by": replaced_by},
                  remote_images={})
    return deleted


# ---------------------------------------------------------------------------------------------
# Records of failures (the task decides between retrying and giving up)


def record_failure(db: Database, job_id: str, sink: str, error: SyncFailed, *,
                   final: bool) -> None:
    """Put the error on the push record; `final` (or a non-retryable error) makes the push and
    the job's media status `failed`, otherwise they stay `pending` for the next attempt."""
    status = (MediaSyncStatus.FAILED if final or not error.retryable
              else MediaSyncStatus.PENDING)
    with db.session() as session:
        record = _get_record(session, job_id, sink)
        _save(session, record, status=status.value, last_error_code=error.code,
              last_error=error.message)
        set_media_status(session, job_id, status)


def push_job(db: Database, storage: Storage, sink: MediaSink, job_id: str, *,
             replace: bool = True) -> PushResult:
    """Push one job in a session of its own; errors are recorded on the job's push record
    (status `pending` while retryable, `failed` otherwise) and raised."""
    with db.session() as session:
        try:
            set_media_status(session, job_id, MediaSyncStatus.PENDING)
            return push_to_sink(session, storage, sink, job_id, replace=replace)
        except SyncFailed as error:
            session.rollback()
            _log.warning("job %s: push failed (%s): %s", job_id, error.code, error.message)
            record_failure(db, job_id, sink.name, error, final=False)
            raise


def push_status(session: Session, job_id: str) -> dict[str, Any] | None:
    """The latest push of a job as clients see it (None before any)."""
    record = session.scalar(select(MediaPush).where(MediaPush.job_id == job_id)
                            .order_by(MediaPush.id.desc()).limit(1))
    if record is None:
        return None
    files = (record.remote_files or {}).get("files") or {}
    return {
        "sink": record.sink,
        "status": record.status,
        "attempts": record.attempts,
        "error": ({"code": record.last_error_code, "message": record.last_error}
                  if record.last_error_code else None),
        "image_ids": dict(record.remote_images or {}),
        "file_ids": {role: item["id"] for role, item in files.items()},
        "replaced_by": (record.remote_files or {}).get("replaced_by"),
        # the first colour's (the only one, in most jobs)
        "turntable_url": next((item["url"] for name, item in files.items()
                               if is_turntable(name)), None),
        "warnings": list((record.remote_files or {}).get("warnings") or []),
        "pushed_at": record.pushed_at.isoformat() if record.pushed_at else None,
    }
