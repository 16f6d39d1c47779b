"""The dashboard's pages: the job list (with a row fragment the list script swaps in when a job
changes), a job's page and its cancel / retry / push-again buttons, the submit form, the
templates, and the login. Reads and actions go through the API's own view functions and the
jobs layer, so a page does exactly what the same API call would."""

from __future__ import annotations

from typing import Any

from flask import Response, redirect, request, url_for
from werkzeug.datastructures import MultiDict

from shared.colors import COMMON_SHIRT_COLORS
from shared.errors import InvalidInput, TshirtError
from shared.jobs import JobStatus, MediaSyncStatus
from shared.presets import CM_PER_INCH, IDEAL_PRINT_DPI, MIN_PRINT_DPI, PRESETS
from shared.prints import MAX_OFFSET_CM, MAX_PRINTS, MAX_SCALE, MIN_SCALE
from shared.quality import DEFAULT_QUALITY, QUALITY_LEVELS

from ..api import health, render_jobs, templates
from ..db import get_session
from ..jobs import queries
from ..media.push import push_status
from . import listing, session
from .blueprint import bp, page, safe_next, service
from .display import push_words
from .submit import print_rows, submit_job

# -- the job list ------------------------------------------------------------------------------


def _rows(jobs: list[tuple[Any, Any]]) -> list[tuple[dict[str, Any], str]]:
    """(job as the API shows it, its push state in words) for each (job row, its prints) of a
    page."""
    items = [render_jobs.job_to_dict(job, prints) for job, prints in jobs]
    pushes = service().db.read(
        lambda connection: listing.latest_pushes(connection, [j["id"] for j in items]))
    rows = []
    for item in items:
        push = pushes.get(item["id"])
        words = push_words(item["media_sync_status"], push.attempts if push else 0,
                           push.last_error if push else None)
        rows.append((item, words))
    return rows


@bp.get("/")
def jobs() -> tuple[str, int]:
    status, problem = 200, None
    try:
        flt = listing.parse_list_filter(request.args)
    except InvalidInput as error:
        status, problem = 422, error.message
        flt = listing.parse_list_filter({})

    def read(connection: Any) -> tuple[Any, int, dict[str, int]]:
        found, total = listing.list_page(connection, flt)
        return (queries.with_prints(connection, found), total,
                listing.status_counts(connection))

    found, total, counts = service().db.read(read)
    checks, _code = health.health()
    pages = max(1, -(-total // listing.PAGE_SIZE))
    return page("jobs.html", status, rows=_rows(list(found)), total=total, flt=flt,
                pages=pages, counts=counts, health=checks, problem=problem,
                args=request.args, statuses=list(JobStatus),
                push_states=list(MediaSyncStatus))


@bp.get("/jobs/<job_id>/row")
def row(job_id: str) -> tuple[str, int]:
    job = service().db.read(lambda connection: queries.get_job_view(connection, job_id))
    return page("row.html", rows=_rows([job]))


@bp.get("/api/render-jobs/<job_id>")
def poll(job_id: str) -> dict[str, Any]:
    """The API's job JSON, for the pages' polling script (which has a cookie, not a token)."""
    return render_jobs.get_job(job_id)


# -- one job -----------------------------------------------------------------------------------


def _job_page(job_id: str, problem: str | None = None, status: int = 200) -> tuple[str, int]:
    db_session = get_session()
    record = queries.get_job(db_session, job_id)
    job = render_jobs.job_to_dict(record)
    push = push_status(db_session, job_id)
    error = (push or {}).get("error") or {}
    words = push_words(job["media_sync_status"], (push or {}).get("attempts", 0),
                         error.get("message"))
    return page("job.html", status, job=job, manifest=record.manifest or {}, push=push,
                push_text=words, can_push=service().push is not None, problem=problem)


@bp.get("/jobs/<job_id>")
def job(job_id: str) -> tuple[str, int]:
    return _job_page(job_id)


def _act(job_id: str, action: Any) -> Any:
    """Run an API action; on success show the job it leads to, on refusal say why."""
    try:
        result = action(job_id)
    except TshirtError as error:
        return _job_page(job_id, problem=error.message, status=error.http_status)
    data = result[0] if isinstance(result, tuple) else result
    return redirect(url_for("dashboard.job", job_id=data["id"]), code=303)


@bp.post("/jobs/<job_id>/cancel")
def cancel(job_id: str) -> Any:
    return _act(job_id, render_jobs.cancel_job)


@bp.post("/jobs/<job_id>/retry")
def retry(job_id: str) -> Any:
    return _act(job_id, render_jobs.retry_job)


@bp.post("/jobs/<job_id>/push")
def push(job_id: str) -> Any:
    return _act(job_id, render_jobs.push_job)


@bp.get("/jobs/<job_id>/outputs/<name>")
def output(job_id: str, name: str) -> Response:
    return render_jobs.job_output(job_id, name)


@bp.get("/jobs/<job_id>/design")
def design(job_id: str) -> Response:
    return render_jobs.job_design(job_id)


# -- submitting --------------------------------------------------------------------------------


def _form_page(values: MultiDict[str, str], problem: str | None = None,
               status: int = 200) -> tuple[str, int]:
    active = [t for t in templates.list_templates()["items"] if t["active"]]
    chosen = next((t for t in active if t["id"] == values.get("template_id")),
                  next((t for t in active if t["is_default"]), active[0] if active else None))
    return page("submit.html", status, values=values, problem=problem, presets=PRESETS,
                rows=print_rows(values)[:MAX_PRINTS], max_prints=MAX_PRINTS,
                supported=set(chosen["supported_presets"] or PRESETS) if chosen else set(PRESETS),
                chosen_template=chosen["id"] if chosen else None,
                limits={"offset": MAX_OFFSET_CM, "min_scale": MIN_SCALE, "max_scale": MAX_SCALE},
                shirt_colors=COMMON_SHIRT_COLORS, templates=active, qualities=QUALITY_LEVELS,
                default_quality=DEFAULT_QUALITY, min_dpi=MIN_PRINT_DPI,
                ideal_dpi=IDEAL_PRINT_DPI, cm_per_inch=CM_PER_INCH,
                posted=request.method == "POST")


@bp.get("/new")
def new_job() -> tuple[str, int]:
    return _form_page(request.args)


@bp.post("/new")
def submit() -> Any:
    try:
        created = submit_job(get_session(), service(), request.form,
                             request.files.getlist("design"))
    except TshirtError as error:
        return _form_page(request.form, problem=error.message, status=error.http_status)
    return redirect(url_for("dashboard.job", job_id=created.id), code=303)


@bp.get("/templates")
def template_list() -> tuple[str, int]:
    return page("templates.html", items=templates.list_templates()["items"])


# -- logging in and out ------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    target = safe_next(request.values.get("next"))
    if session.open_without_login() or (request.method == "GET" and session.signed_in()):
        return redirect(target)
    if request.method == "GET":
        return page("login.html", next=target)
    token = request.form.get("token", "").strip()
    if not session.token_is_valid(token):
        return page("login.html", 401, next=target, problem="That token is not valid.")
    response = redirect(target, code=303)
    session.start_session(response, token)
    return response


@bp.post("/logout")
def logout() -> Response:
    response = redirect(url_for("dashboard.login"), code=303)
    session.end_session(response)
    return response
