"""`/admin/render-jobs` and `/admin/products/<id>/render-jobs`: create, read, list, cancel,
retry, receive outputs, push again, and serve a job's files."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, request, send_file
from sqlalchemy import Row

from shared.errors import InvalidInput, NotFound
from shared.job_colors import check_output_name
from shared.jobs import JobSource, JobStatus, MediaSyncStatus, progress_percent
from shared.prints import MAX_PRINTS, print_warning

from ..config import MAX_JOB_REQUEST_BYTES, MAX_MANIFEST_BYTES, MAX_OUTPUTS_REQUEST_BYTES
from ..db import get_session
from ..errors import BadRequest, Conflict
from ..jobs import commands, forms, prints, queries, transitions
from ..jobs.publish import PublishOptions
from ..media.push import allow_again, push_status
from ..models import RenderJob
from . import bodies

bp = Blueprint("render_jobs", __name__)


def _ext() -> Any:
    return current_app.extensions["tshirt"]


def iso(value: datetime | None) -> str | None:
    """UTC ISO 8601 with a Z. SQLite hands back naive datetimes, which are UTC here."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.isoformat() + "Z"
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def job_to_dict(job: RenderJob | Row[Any], print_rows: Sequence[Any] | None = None
                ) -> dict[str, Any]:
    """The job as clients see it, from an ORM object or a Core row with its print rows (the
    read paths use rows: several times cheaper for a 40-column table). URLs are derived from
    the job id and the stored file names; stored paths never leave the service."""
    j = queries.job_mapping(job)
    if print_rows is None:
        if not isinstance(job, RenderJob):
            raise TypeError("a job row needs its print rows (queries.get_job_view)")
        print_rows = job.prints
    base = f"{request.script_root}/admin/render-jobs/{j['id']}"
    outputs = []
    colors = queries.job_colors(job)
    by_color: dict[str, dict[str, Any]] = {c: {"stills": {}, "turntable": None} for c in colors}
    for output in j["outputs"] or []:
        name = _output_name(output)
        color = output.get("color") or j["color"]
        url = f"{base}/outputs/{quote(name)}"
        outputs.append({
            "kind": output["kind"], "angle": output.get("angle"), "frame": output.get("frame"),
            "file": name, "width": output["width"], "height": output["height"],
            "sha256": output["sha256"], "size_bytes": output["size_bytes"], "color": color,
            "url": url,
        })
        if output["kind"] == "still" and output.get("angle") and color in by_color:
            by_color[color]["stills"][output["angle"]] = url
        elif output["kind"] == "animation" and color in by_color:
            by_color[color]["turntable"] = url
    placed = [_print_to_dict(row, len(print_rows), base) for row in print_rows]
    return {
        "id": j["id"],
        "product_id": j["product_id"],
        "preset": j["preset"],
        "color": j["color"],
        "colors": colors,
        "template_id": j["template_id"],
        "quality": j["quality"],
        "animation": j["animation"],
        "background": j["background"],
        "source": j["source"],
        "status": j["status"],
        "progress": progress_percent(j["status"], images_done=j["images_done"],
                                     images_total=j["images_total"],
                                     frames_done=j["frames_done"],
                                     frames_total=j["frames_total"]),
        "stage": j["stage"],
        "counts": {"images_done": j["images_done"], "images_total": j["images_total"],
                   "frames_done": j["frames_done"], "frames_total": j["frames_total"]},
        # the first print's, as version-1 clients read it
        "design": {**placed[0]["design"], "dpi": placed[0]["dpi"], "url": f"{base}/design"},
        "prints": placed,
        "warnings": [warning for item in placed for warning in item["warnings"]],
        "outputs": outputs,
        "outputs_by_color": by_color if outputs else {},
        "error": ({"code": j["error_code"], "message": j["error_message"]}
                  if j["error_code"] else None),
        "attempts": j["attempts"],
        "retried_from": j["retried_from"],
        "media_sync_status": j["media_sync_status"],
        "worker_id": j["worker_id"],
        "heartbeat_at": iso(j["heartbeat_at"]),
        "created_at": iso(j["created_at"]),
        "started_at": iso(j["started_at"]),
        "completed_at": iso(j["completed_at"]),
        "updated_at": iso(j["updated_at"]),
        "metadata": j["metadata"] or {},
        "publish": j["publish"] or PublishOptions().to_dict(),
        "url": base,
    }


def _print_to_dict(row: Any, count: int, base: str) -> dict[str, Any]:
    """One print of a job: its placement, its design, how sharp it prints at its final size
    (the width and height are the upright image's, `shared.validation`)."""
    placed = prints.placed(prints.spec_of(row, row.design_path), row.design_width,
                           row.design_height)
    return {
        "position": row.position, "preset": row.preset,
        "offset_cm": [row.offset_x_cm, row.offset_y_cm], "scale": row.scale,
        "rotation_deg": row.rotation_deg,
        "design": {"name": row.design_name, "media_type": row.design_type,
                   "size_bytes": row.design_size, "sha256": row.design_sha256,
                   "width": row.design_width, "height": row.design_height,
                   "url": f"{base}/design?position={row.position}"},
        "dpi": round(placed.dpi, 1),
        "warnings": [w for w in [print_warning(placed, row.position, count)] if w],
    }


def _output_name(output: dict[str, Any]) -> str:
    """An output's name in the job's outputs folder (`<rrggbb>/<file>` for a colour of a
    several-colour job); recorded with the output, or the last part of its path."""
    return output.get("file") or PurePosixPath(output["path"]).name


def _page(jobs: Any, total: int, flt: queries.JobFilter) -> dict[str, Any]:
    return {"items": [job_to_dict(j, p) for j, p in jobs], "total": total, "limit": flt.limit,
            "offset": flt.offset}


def _listed(connection: Any, flt: queries.JobFilter) -> tuple[Any, int]:
    jobs, total = queries.list_jobs(connection, flt)
    return queries.with_prints(connection, jobs), total


def _json_body() -> dict[str, Any]:
    """An optional JSON object body, or the form fields."""
    if request.mimetype == "application/json":
        return bodies.json_object()
    return request.form.to_dict()


@bp.post("/render-jobs")
def create_job() -> tuple[dict[str, Any], int]:
    # a design for each print (`jobs.prints`): more than one design's worth
    request.max_content_length = MAX_JOB_REQUEST_BYTES
    ext = _ext()
    made = commands.create_requested(
        get_session(), ext.storage, request.form, request.files,
        check_product=ext.check_product, store_configured=ext.push is not None,
        idempotency_key=request.headers.get("Idempotency-Key"))
    if made.created and made.job.source == JobSource.API:
        ext.enqueue(made.job.id)
    body = job_to_dict(made.job)
    if made.store_warning:  # 202 all the same: the push waits for the store
        body["warnings"].append(made.store_warning)
    return body, 202


def _idempotency_key() -> str | None:
    """A POST that creates a job, sent again with the same key, answers with the same job."""
    return commands.check_idempotency_key(request.headers.get("Idempotency-Key"))


@bp.get("/render-jobs")
def list_jobs() -> dict[str, Any]:
    flt = queries.parse_filter(request.args)
    jobs, total = _ext().db.read(lambda connection: _listed(connection, flt))
    return _page(jobs, total, flt)


@bp.get("/products/<product_id>/render-jobs")
def list_product_jobs(product_id: str) -> dict[str, Any]:
    flt = queries.parse_filter(request.args, product_id=product_id)
    jobs, total = _ext().db.read(lambda connection: _listed(connection, flt))
    return _page(jobs, total, flt)


@bp.get("/render-jobs/<job_id>")
def get_job(job_id: str) -> dict[str, Any]:
    # A kept connection rather than a session: this is what clients poll.
    row, job_prints = _ext().db.read(lambda connection: queries.get_job_view(connection,
                                                                             job_id))
    data = job_to_dict(row, job_prints)
    if data["media_sync_status"] != MediaSyncStatus.NOT_CONFIGURED:
        data["media_push"] = _media_push(job_id)
    return data


def _media_push(job_id: str) -> dict[str, Any] | None:
    """The job's push to the store: status, attempts, last error, remote ids."""
    with _ext().db.session() as session:
        return push_status(session, job_id)


@bp.post("/render-jobs/<job_id>/cancel")
def cancel_job(job_id: str) -> dict[str, Any]:
    session = get_session()
    changed = transitions.transition(session, job_id, JobStatus.CANCELLED, stage="cancelled")
    if changed:
        _ext().cancelled(job_id)
    return job_to_dict(queries.get_job(session, job_id))


@bp.post("/render-jobs/<job_id>/retry")
def retry_job(job_id: str) -> tuple[dict[str, Any], int]:
    session = get_session()
    job, created = commands.retry_job(session, _ext().storage, job_id, _json_body(),
                                      store_configured=_ext().push is not None,
                                      idempotency_key=_idempotency_key())
    if created:
        _ext().enqueue(job.id)
    return job_to_dict(job), 202


@bp.post("/render-jobs/<job_id>/outputs")
def upload_outputs(job_id: str) -> dict[str, Any]:
    # Stills plus a turntable are far bigger than one design; this endpoint alone allows it.
    request.max_content_length = MAX_OUTPUTS_REQUEST_BYTES
    request.max_form_memory_size = MAX_MANIFEST_BYTES
    session = get_session()
    queries.get_job(session, job_id)
    manifest = request.form.get("manifest")
    if manifest is None and "manifest" in request.files:
        manifest = request.files["manifest"].read()
    if not manifest:
        raise BadRequest("Send the manifest as a multipart field named 'manifest'.")
    uploads = request.files.getlist("files")

    def save(directory: Any) -> list[str]:
        names = []
        for upload in uploads:
            name = upload.filename or ""
            # Only names that a manifest can list (a plain name, or one in a colour's folder);
            # any other path is refused.
            folder = name.rpartition("/")[0]
            try:
                check_output_name(name, f"#{folder}" if folder else None)
            except InvalidInput:
                raise BadRequest(f"Output file name {name!r} must be a plain file name, or one "
                                 f"in a colour's folder.") from None
            if name in names:
                raise BadRequest(f"Output file {name!r} was sent twice.")
            (directory / name).parent.mkdir(exist_ok=True)
            upload.save(directory / name)
            names.append(name)
        return names

    job = commands.record_outputs(session, _ext().storage, job_id, manifest, save)
    _ext().completed(job.id)
    return job_to_dict(job)


@bp.post("/render-jobs/<job_id>/push")
def push_job(job_id: str) -> tuple[dict[str, Any], int]:
    session = get_session()
    job = queries.get_job(session, job_id)
    if job.status != JobStatus.COMPLETED:
        raise Conflict(f"Only completed jobs can be pushed; this one is {job.status}.",
                       code="invalid_transition")
    ext = _ext()
    if ext.push is None:
        raise Conflict("No commerce backend is configured, so there is nothing to push to.",
                       code="media_not_configured")
    replaced_by = (push_status(session, job_id) or {}).get("replaced_by")
    if replaced_by and not forms.parse_bool("force", _json_body().get("force")
                                            or request.args.get("force") or "false"):
        raise Conflict(f"A newer render ({replaced_by}) replaced this job's images on the "
                       f"product; push with force=true to put these back instead.",
                       code="replaced")
    if replaced_by:
        allow_again(session, job_id)
    transitions.set_media_status(session, job_id, MediaSyncStatus.PENDING)
    ext.push(job_id)
    session.expire_all()
    data = job_to_dict(queries.get_job(session, job_id))
    data["media_push"] = _media_push(job_id)
    return data, 202


def _send(relative: str, media_type: str | None = None) -> Response:
    storage = _ext().storage
    if not storage.exists(relative):
        raise NotFound("This file is no longer stored.")
    return send_file(storage.path(relative), mimetype=media_type, max_age=3600,
                     conditional=True, etag=True)


@bp.get("/render-jobs/<job_id>/design")
def job_design(job_id: str) -> Response:
    """The design of the print at `?position=` (0, the first, by default)."""
    position = queries.int_arg("position", request.args.get("position"), 0, 0, MAX_PRINTS - 1)
    found = queries.get_print(get_session(), job_id, position)
    return _send(found.design_path, found.design_type)


@bp.get("/render-jobs/<job_id>/outputs/<path:name>")
def job_output(job_id: str, name: str) -> Response:
    """Serve an output by its recorded name; the path comes from the database, not the URL."""
    job = queries.get_job(get_session(), job_id)
    for output in job.outputs or []:
        if _output_name(output) == name:
            return _send(output["path"])
    raise NotFound(f"Job {job_id} has no output {name!r}.")
