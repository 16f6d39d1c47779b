"""A job's designs on the machine that renders it: each print's design, from the data directory
or (on a remote worker) downloaded from the service and checked against its sha256, normalised
into the copy the renderer prints (`jobs.uploads.print_copy`). A design that several prints
share is fetched and normalised once."""

from __future__ import annotations

from pathlib import Path

from shared.errors import TshirtError

from ..jobs.storage import Storage
from ..jobs.uploads import print_copy
from ..models import RenderJob, RenderJobPrint
from .outcomes import Failure, fetch_failures
from .remote import ServiceClient


def print_copies(job: RenderJob, work: Path, storage: Storage,
                 client: ServiceClient | None) -> list[Path]:
    """The print copy of each of `job`'s prints, in order, written into `work`. Raises
    Failure for a design that is gone or damaged; an outage error when the service is away
    (the service's trouble, not the job's: see `worker.run`)."""
    copies: dict[str, Path] = {}
    for row in job.prints:
        if row.design_path not in copies:
            design = _fetch(job, row, work, storage, client)
            try:
                copies[row.design_path] = print_copy(design, work, len(copies))
            except TshirtError as error:  # a file damaged since its upload: never retried
                raise Failure(error.code, error.message, False) from None
    return [copies[row.design_path] for row in job.prints]


def _fetch(job: RenderJob, row: RenderJobPrint, work: Path, storage: Storage,
           client: ServiceClient | None) -> Path:
    if client is None:
        path = storage.path(row.design_path)
        if not path.is_file():
            raise Failure("design_missing", "A design of the job is no longer stored.", False)
        return path
    target = work / Path(row.design_path).name
    with fetch_failures():
        client.download_design(job.id, target, row.design_sha256, position=row.position)
    return target
