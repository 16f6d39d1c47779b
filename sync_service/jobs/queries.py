"""Reading jobs: one by id (as a mapped object, or as a plain row for the hot poll path), their
prints, and pages of them by validated query-string filters."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, Row, bindparam, func, select
from sqlalchemy.orm import Session

from shared.errors import InvalidInput, NotFound
from shared.jobs import JobSource, JobStatus
from shared.presets import get_preset
from shared.validation import check_safe_id

from ..models import RenderJob, RenderJobPrint
from .forms import parse_source

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
#: Deeper pages than any shop has jobs; the bound keeps the value inside every database's
#: integer (SQLite's and PostgreSQL's OFFSET are 64-bit; past that the driver overflows).
MAX_OFFSET = 1_000_000_000
ORDERS = ("asc", "desc")
# ASCII digits only: `int()` also takes "1_000", " 5 " and other scripts' digits.
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,18}")


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


def job_colors(job: RenderJob | Row[Any]) -> list[str]:
    """Every colour of a job, in order (one-colour jobs, and all made before 0004: `color`)."""
    j = job_mapping(job)
    return list(j["colors"] or [j["color"]])


PRINTS = RenderJobPrint.__table__
_PRINT_COLUMNS = tuple(c for c in PRINTS.c if c.name != "job_id")


class PrintRow(NamedTuple):
    """A print as the job view reads it (the columns of `render_job_prints` but the job's id)."""

    position: int
    preset: str
    offset_x_cm: float
    offset_y_cm: float
    scale: float
    rotation_deg: float
    design_path: str
    design_name: str
    design_type: str
    design_size: int
    design_sha256: str
    design_width: int
    design_height: int


assert PrintRow._fields == tuple(c.name for c in _PRINT_COLUMNS), "PrintRow lags the model"

# Built once: the poll is the hottest path of the API, and building a 40-column SELECT costs
# more than running it. One statement for the job and its prints (a row per print): a second
# query would cost the poll as much again.
_SELECT_VIEW_BY_ID = (
    select(*VIEW_COLUMNS, *(c.label(f"print_{c.name}") for c in _PRINT_COLUMNS))
    .select_from(JOBS.join(PRINTS, PRINTS.c.job_id == JOBS.c.id, isouter=True))
    .where(JOBS.c.id == bindparam("job_id")).order_by(PRINTS.c.position))
_JOB_FIELDS = len(VIEW_COLUMNS)


def get_job_view(connection: Connection, job_id: str) -> tuple[Row[Any], list[PrintRow]]:
    """The job as a plain Core row, with its prints in order, for reading: a fraction of the
    cost of a mapped object."""
    rows = connection.execute(_SELECT_VIEW_BY_ID, {"job_id": job_id}).all()
    if not rows:
        raise NotFound(f"No render job {job_id!r}.")
    prints = [PrintRow(*row[_JOB_FIELDS:]) for row in rows if row[_JOB_FIELDS] is not None]
    return rows[0], prints


_SELECT_PRINTS = (select(PRINTS).where(PRINTS.c.job_id.in_(bindparam("job_ids", expanding=True)))
                  .order_by(PRINTS.c.job_id, PRINTS.c.position))


def with_prints(connection: Connection, rows: Sequence[Row[Any]]
                ) -> list[tuple[Row[Any], list[Row[Any]]]]:
    """Each job row of a page with its prints in order, read in one query for all of them."""
    if not rows:
        return []
    prints: dict[str, list[Row[Any]]] = {row.id: [] for row in rows}
    for item in connection.execute(_SELECT_PRINTS, {"job_ids": list(prints)}):
        prints[item.job_id].append(item)
    return [(row, prints[row.id]) for row in rows]


def get_print(session: Session, job_id: str, position: int) -> RenderJobPrint:
    found = session.get(RenderJobPrint, (job_id, position))
    if found is None:
        get_job(session, job_id)  # no such job says so
        raise NotFound(f"Job {job_id} has no print at position {position}.")
    return found


def unqueued_job_ids(session: Session, changed_before: datetime) -> list[str]:
    """API jobs waiting for a render with no queue task recorded (the enqueue met a broker
    outage, or the process died between the insert and the enqueue), oldest first. Jobs changed
    at or after `changed_before` are left out: their enqueue may be under way."""
    if session.get_bind().dialect.name == "sqlite":
        changed_before = _naive_utc(changed_before)
    return list(session.scalars(
        select(RenderJob.id).where(RenderJob.status == JobStatus.PENDING.value,
                                   RenderJob.source == JobSource.API.value,
                                   RenderJob.task_id.is_(None),
                                   RenderJob.updated_at < changed_before)
        .order_by(RenderJob.created_at, RenderJob.id)))


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


def int_arg(name: str, text: str | None, default: int, low: int, high: int) -> int:
    """A whole-number query argument, or 422 naming it."""
    if text in (None, ""):
        return default
    if not _WHOLE_NUMBER.fullmatch(text):
        raise InvalidInput(f"{name} must be a whole number between {low} and {high}, not "
                           f"{text[:40]!r}.")
    value = int(text)
    if not low <= value <= high:
        raise InvalidInput(f"{name} must be between {low} and {high}, not {value}.")
    return value


def _time_arg(name: str, text: str | None) -> datetime | None:
    if text in (None, ""):
        return None
    try:
        value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        # Year 1 east of UTC or year 9999 west of it is outside what a datetime can hold.
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidInput(
            f"{name} must be an ISO 8601 date-time, not {text[:40]!r}.") from None


def parse_filter(args: Mapping[str, str], product_id: str | None = None) -> JobFilter:
    """Query-string filters; every value is validated (422) rather than silently ignored."""
    statuses: tuple[str, ...] = ()
    if args.get("status"):
        parts = [p.strip() for p in args["status"].split(",") if p.strip()]
        for part in parts:
            if part not in JobStatus.__members__.values():
                raise InvalidInput(
                    f"Unknown status {part[:40]!r}; statuses are: {', '.join(JobStatus)}.")
        statuses = tuple(dict.fromkeys(parts))
    product = product_id or args.get("product_id") or None
    if product is not None:
        check_safe_id(product, "product id")
    preset = get_preset(args["preset"]).id if args.get("preset") else None
    source = parse_source(args["source"]).value if args.get("source") else None
    order = (args.get("order") or "desc").lower()
    if order not in ORDERS:
        raise InvalidInput(f"order must be asc or desc, not {order[:40]!r}.")
    return JobFilter(
        statuses=statuses, product_id=product, preset=preset, source=source,
        created_after=_time_arg("created_after", args.get("created_after")),
        created_before=_time_arg("created_before", args.get("created_before")),
        limit=int_arg("limit", args.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT),
        offset=int_arg("offset", args.get("offset"), 0, 0, MAX_OFFSET),
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

