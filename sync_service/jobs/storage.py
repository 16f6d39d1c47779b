"""Files under the data directory: each job's folder, its designs and outputs.

The database stores locations relative to the data directory (`jobs/<job id>/design.png`), so
the directory can move between machines; absolute paths are derived here and only from
relative paths the service wrote itself, after checking they stay inside the data directory.

A disk that is full or read-only is reported as `StorageFailed` (`storage_full`,
`storage_unwritable`; HTTP 507), never as a bare OSError: the API answers it as JSON and the
worker fails the job with that code instead of calling it a crash.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from shared.errors import InvalidInput, TshirtError

from ..ids import is_job_id

_log = logging.getLogger(__name__)

JOBS_DIR = "jobs"
TMP_DIR = "tmp"
#: Finished renders of this machine that wait to be delivered (see `queue.uploads`).
UPLOADS_DIR = "uploads"
OUTPUTS_DIR = "outputs"
#: A random id of the data directory (see `data_id`).
DATA_ID_FILE = "data-id"
DESIGN_STEM = "design"
DESIGN_SUFFIX = {"png": ".png", "jpeg": ".jpg"}
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
UNWRITABLE_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
#: What `check_writable` writes: a disk that cannot take this much is full for a render.
PROBE_BYTES = 64 * 1024


class StorageFailed(TshirtError):
    """The data directory cannot take a file now: its disk is full (`storage_full`) or it is
    read-only or not ours to write (`storage_unwritable`). Not the job's fault, and the same
    job would fail the same way until someone frees space."""

    default_code = "storage_full"
    http_status = 507


def storage_failure(error: OSError, root: Path) -> StorageFailed | None:
    """The StorageFailed that `error` means, or None when it is not about the disk."""
    if error.errno in FULL_ERRNOS:
        return StorageFailed(f"The disk of the data directory {root} is full.",
                             code="storage_full")
    if error.errno in UNWRITABLE_ERRNOS:
        return StorageFailed(f"The data directory {root} cannot be written "
                             f"({os.strerror(error.errno)}).", code="storage_unwritable")
    return None


class Storage:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def ensure(self) -> None:
        (self.root / JOBS_DIR).mkdir(parents=True, exist_ok=True)
        (self.root / TMP_DIR).mkdir(parents=True, exist_ok=True)

    # -- relative locations --------------------------------------------------------------------

    @staticmethod
    def job_dir(job_id: str) -> str:
        if not is_job_id(job_id):
            raise InvalidInput(f"Invalid job id {job_id!r}.", code="invalid_id")
        return f"{JOBS_DIR}/{job_id}"

    def design_path(self, job_id: str, kind: str, index: int = 0) -> str:
        """Where a job's `index`-th distinct design file goes: `design.png` for the first (as
        every job had before several prints), then `design-1.png`, `design-2.jpg`, ..."""
        stem = DESIGN_STEM if index == 0 else f"{DESIGN_STEM}-{index}"
        return f"{self.job_dir(job_id)}/{stem}{DESIGN_SUFFIX[kind]}"

    def outputs_dir(self, job_id: str) -> str:
        return f"{self.job_dir(job_id)}/{OUTPUTS_DIR}"

    def path(self, relative: str) -> Path:
        """The absolute path of a stored relative location, refusing anything that escapes."""
        rel = PurePosixPath(relative)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise ValueError(f"not a data-directory location: {relative!r}")
        full = (self.root / rel).resolve()
        if self.root not in full.parents:
            raise ValueError(f"not a data-directory location: {relative!r}")
        return full

    # -- writing -------------------------------------------------------------------------------

    def write_bytes(self, relative: str, data: bytes) -> None:
        """Write atomically: a reader sees the whole file or none of it."""
        target = self.path(relative)
        with self.reporting():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

    @contextlib.contextmanager
    def reporting(self) -> Iterator[None]:
        """Turn an OSError that means a full or read-only disk into StorageFailed."""
        try:
            yield
        except OSError as error:
            failure = storage_failure(error, self.root)
            if failure is None:
                raise
            raise failure from None

    def check_writable(self) -> None:
        """Raise StorageFailed unless a small file can be written and synced under `tmp/`:
        asked after a render failed, so that a full disk is called that, not a crash."""
        probe = self.root / TMP_DIR / f".probe-{os.getpid()}-{threading.get_ident()}"
        try:
            with self.reporting(), open(probe, "wb") as handle:
                handle.write(bytes(PROBE_BYTES))
                handle.flush()
                os.fsync(handle.fileno())
        finally:
            with contextlib.suppress(OSError):
                probe.unlink()

    def copy(self, source: str, target: str) -> None:
        src, dst = self.path(source), self.path(target)
        with self.reporting():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)

    def staging_dir(self, job_id: str) -> Path:
        """A fresh folder inside the job's folder (same file system, so it can be renamed)."""
        parent = self.path(self.job_dir(job_id))
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=parent, prefix=".staging-"))

    def remove_tree(self, relative: str) -> None:
        shutil.rmtree(self.path(relative), ignore_errors=True)

    def remove_job(self, job_id: str) -> None:
        self.remove_tree(self.job_dir(job_id))

    def exists(self, relative: str) -> bool:
        try:
            return self.path(relative).is_file()
        except ValueError:
            return False

    def disk_free(self) -> int:
        return shutil.disk_usage(self.root).free

    def data_id(self, *, create: bool = False) -> str | None:
        """This data directory's random id, made once (by the service, `create`): a worker
        compares it with the one the service publishes to know whether it shares its disk."""
        path = self.root / DATA_ID_FILE
        try:
            return path.read_text(encoding="ascii").strip() or None
        except FileNotFoundError:
            if not create:
                return None
        with self.reporting():
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".data-id-")
            try:
                with os.fdopen(fd, "w", encoding="ascii") as handle:
                    handle.write(secrets.token_hex(16))
                os.link(tmp, path)  # never replaces an id another process made first
            except FileExistsError:
                pass
            finally:
                Path(tmp).unlink(missing_ok=True)
        return path.read_text(encoding="ascii").strip()

    def upload_dir(self, job_id: str) -> Path:
        """Where a finished render of `job_id` waits to be delivered."""
        if not is_job_id(job_id):
            raise InvalidInput(f"Invalid job id {job_id!r}.", code="invalid_id")
        return self.root / UPLOADS_DIR / job_id

    def pending_upload_ids(self) -> list[str]:
        folder = self.root / UPLOADS_DIR
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and is_job_id(p.name))

    def job_ids_on_disk(self) -> list[str]:
        jobs = self.root / JOBS_DIR
        if not jobs.is_dir():
            return []
        return sorted(p.name for p in jobs.iterdir() if p.is_dir() and is_job_id(p.name))
