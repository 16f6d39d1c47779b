"""The reads only the dashboard needs: a page of jobs filtered by store-push state as well as
product and status, the latest push of each job on a page, and the jobs per status.

The API's `queries.list_jobs` has no push-state filter, and its `JobFilter` is the API's
contract, so the dashboard keeps its own page query here; its other filters are validated by
the API's own `queries.parse_filter`, so both accept and refuse the same values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, func, select

from shared.errors import InvalidInput
from shared.jobs import MediaSyncStatus

from ..jobs import queries
from ..models import MediaPush

PAGE_SIZE = 20
_PAGE = re.compile(r"[0-9]{1,9}")  # ASCII digits: str.isdigit() also takes "²"
JOBS = queries.JOBS


@dataclass(frozen=True)
class ListFilter:
    jobs: queries.JobFilter
    push: str | None
    page: int

    def args(self, **changes: Any) -> dict[str, Any]:
        """The query string of this filter with `changes`, for links (paging, clearing)."""
        values: dict[str, Any] = {"product_id": self.jobs.product_id,
                                  "status": ",".join(self.jobs.statuses), "push": self.push,
                                  "page": self.page, **changes}
        return {key: value for key, value in values.items() if value not in (None, "", 1)}


def parse_list_filter(args: Mapping[str, str]) -> ListFilter:
    push = args.get("push") or None
    if push is not None and push not in MediaSyncStatus.__members__.values():
        raise InvalidInput(f"Unknown push state {push!r}; states are: "
                           f"{', '.join(MediaSyncStatus)}.")
    page_text = args.get("page") or "1"
    if not _PAGE.fullmatch(page_text) or int(page_text) < 1:
        raise InvalidInput(f"page must be a whole number from 1, not {page_text[:40]!r}.")
    page = int(page_text)
    jobs = queries.parse_filter({"status": args.get("status", ""),
                                 "product_id": args.get("product_id", ""),
                                 "limit": str(PAGE_SIZE), "offset": str((page - 1) * PAGE_SIZE)})
    return ListFilter(jobs=jobs, push=push, page=page)


def list_page(connection: Connection, flt: ListFilter) -> tuple[Sequence[Row[Any]], int]:
    """One page of jobs, newest first, and how many match in all."""
    where: list[ColumnElement[bool]] = []
    if flt.jobs.statuses:
        where.append(JOBS.c.status.in_(flt.jobs.statuses))
    if flt.jobs.product_id:
        where.append(JOBS.c.product_id == flt.jobs.product_id)
    if flt.push:
        where.append(JOBS.c.media_sync_status == flt.push)
    rows = connection.execute(
        select(*queries.VIEW_COLUMNS).where(*where)
        .order_by(JOBS.c.created_at.desc(), JOBS.c.id.desc())
        .limit(flt.jobs.limit).offset(flt.jobs.offset)).all()
    total = connection.execute(select(func.count()).select_from(JOBS).where(*where)).scalar()
    return rows, total or 0


def latest_pushes(connection: Connection, job_ids: Sequence[str]) -> dict[str, Row[Any]]:
    """The newest push record of each of `job_ids` that has one."""
    if not job_ids:
        return {}
    rows = connection.execute(
        select(MediaPush.job_id, MediaPush.status, MediaPush.attempts,
               MediaPush.last_error_code, MediaPush.last_error, MediaPush.pushed_at)
        .where(MediaPush.job_id.in_(job_ids)).order_by(MediaPush.id)).all()
    return {row.job_id: row for row in rows}  # ordered by id: the newest one is kept


def status_counts(connection: Connection) -> dict[str, int]:
    rows = connection.execute(select(JOBS.c.status, func.count()).group_by(JOBS.c.status))
    return {status: count for status, count in rows}
