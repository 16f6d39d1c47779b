"""Files under the data directory: each job's folder, its design and outputs.

The database stores locations relative to the data directory (`jobs/<job id>/design.png`), so
the directory can move between machines; absolute paths are derived here and only from
relative paths the service wrote itself, after checking they stay inside the data directory.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from shared.errors import InvalidInput

from ..ids import is_job_id

_log = logging.getLogger(__name__)

JOBS_DIR = "jobs"
TMP_DIR = "tmp"
OUTPUTS_DIR = "outputs"
DESIGN_STEM = "design"
DESIGN_SUFFIX = {"png": ".png", "jpeg": ".jpg"}


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

    def design_path(self, job_id: str, kind: str) -> str:
        return f"{self.job_dir(job_id)}/{DESIGN_STEM}{DESIGN_SUFFIX[kind]}"

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
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def copy(self, source: str, target: str) -> None:
        src, dst = self.path(source), self.path(target)
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

    def job_ids_on_disk(self) -> list[str]:
        jobs = self.root / JOBS_DIR
        if not jobs.is_dir():
            return []
        return sorted(p.name for p in jobs.iterdir() if p.is_dir() and is_job_id(p.name))
