"""Registered templates on disk: `<data dir>/templates/<id>/` holds the `template.json` and the
one model file (.glb, .gltf or .blend) that a client uploaded (`POST /admin/render-templates`).

An upload is written into a fresh folder under the data directory's `tmp/`, validated there by
`shared.templates.load_template` (the model's kind, first bytes and size, a path that stays in
the folder: the renderer's own checks), and only then renamed into place, so a reader sees the
whole folder or none of it and a refused upload leaves nothing behind. The folder is flat:
`model.file` is a plain file name, the name the upload carries, so a .gltf must hold its buffers
and images inline (data URIs); a .glb always does.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from shared import template_files as model_files
from shared.errors import FileTooLarge, InvalidInput, NotFound
from shared.templates import TEMPLATE_FILE, Template, load_template
from shared.validation import check_safe_id, file_sha256

from ..errors import Conflict
from .forms import loads
from .storage import TMP_DIR, Storage

#: Where registered templates live, relative to the data directory.
TEMPLATES_DIR = "templates"
#: Room for template.json and the multipart framing beside a model at the size limit.
REQUEST_SLACK_BYTES = 1024 * 1024
#: template.json is a few hundred bytes; this is generous and keeps it in memory.
MAX_TEMPLATE_JSON_BYTES = 256 * 1024
#: A model file name this long or longer cannot be a name every file system takes.
MAX_MODEL_NAME = 200
_STAGING_PREFIX = ".template-"


def max_request_bytes() -> int:
    """The largest registration request: a model at `shared.template_files`' limit (read at
    each call: tests lower it) and the rest."""
    return model_files.MAX_MODEL_BYTES + REQUEST_SLACK_BYTES


def too_large() -> FileTooLarge:
    """The refusal of a request too large to hold a model within the limit."""
    return FileTooLarge(f"The upload is larger than a template's model may be "
                        f"({model_files.MAX_MODEL_BYTES / 1e6:.0f} MB).", code="model_too_large")


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(f"template.json: {message}", code="invalid_template")


@dataclass(frozen=True)
class Draft:
    """What an upload's template.json says before it is validated: enough to name the folder
    and the model file."""

    template_id: str
    model_name: str


def read_draft(text: str) -> Draft:
    """The id and the model file name of an uploaded template.json (422 when it has none)."""
    try:
        data = loads(text)  # strictly: a document Python reads but JSON is not, is refused
    except ValueError as error:
        raise _invalid(f"not JSON ({error}).") from None
    if not isinstance(data, dict):
        raise _invalid("the top level must be an object.")
    template_id = check_safe_id(data.get("id"), "template id")
    model = data.get("model")
    name = model.get("file") if isinstance(model, dict) else None
    if not isinstance(name, str) or not name:
        raise _invalid("'model.file' must name the uploaded model file.")
    if ("\\" in name or name in (".", "..") or PurePosixPath(name).name != name
            or len(name) > MAX_MODEL_NAME or not name.isprintable()):
        raise _invalid("'model.file' must be a plain file name in the template's folder "
                       f"(not {name!r}).")
    return Draft(template_id, name)


def relative_folder(template_id: str) -> str:
    return f"{TEMPLATES_DIR}/{check_safe_id(template_id, 'template id')}"


def model_location(draft: Draft) -> str:
    """The model's location relative to the data directory, as the template row records it."""
    return f"{relative_folder(draft.template_id)}/{draft.model_name}"


def folder(storage: Storage, template_id: str) -> Path:
    """The absolute folder of a registered template (it may not exist)."""
    return storage.path(relative_folder(template_id))


def is_registered(storage: Storage, template_id: str) -> bool:
    return (folder(storage, template_id) / TEMPLATE_FILE).is_file()


@dataclass(frozen=True)
class StoredFile:
    name: str
    size: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "sha256": self.sha256}


@functools.lru_cache(maxsize=256)
def _sha256(path: str, _size: int, _mtime_ns: int, _inode: int) -> str:
    """A stored file's digest, computed once per version of the file (a model may be 200 MB;
    the stat fields in the key make a replaced file a new entry)."""
    return file_sha256(path)


def stored_files(storage: Storage, template_id: str) -> list[StoredFile]:
    """The files of a registered template, by name; empty for any other template."""
    if not is_registered(storage, template_id):
        return []
    found = []
    for entry in sorted(folder(storage, template_id).iterdir()):
        if entry.is_symlink() or not entry.is_file():
            continue
        stat = entry.stat()
        found.append(StoredFile(entry.name, stat.st_size,
                                _sha256(str(entry), stat.st_size, stat.st_mtime_ns, stat.st_ino)))
    return found


def stored_file(storage: Storage, template_id: str, name: str) -> Path:
    """The path of one of a registered template's files; the name must be one of them (404)."""
    if name not in {f.name for f in stored_files(storage, template_id)}:
        raise NotFound(f"Template {template_id!r} has no stored file {name!r}.")
    return folder(storage, template_id) / name


class Staging:
    """One upload's folder under `tmp/`, removed on exit whatever happened."""

    def __init__(self, storage: Storage, root: Path) -> None:
        self.storage = storage
        self.root = root

    def write(self, draft: Draft, text: str, save_model: Callable[[Path], None]) -> Template:
        """Write template.json and the model, then validate them as the renderer would (a
        model over the limit: 413 `model_too_large`)."""
        directory = self.root / draft.template_id
        with self.storage.reporting():
            directory.mkdir()
            (directory / TEMPLATE_FILE).write_text(text, encoding="utf-8")
            save_model(directory / draft.model_name)
        return load_template(directory)

    def install(self, draft: Draft) -> Path:
        """Rename the validated folder into place (409 when that template's folder exists)."""
        target = folder(self.storage, draft.template_id)
        with self.storage.reporting():
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(self.root / draft.template_id, target)
            except OSError as error:
                if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
                raise Conflict(f"Template {draft.template_id!r} already has stored files.",
                               code="already_exists") from None
        return target


@contextlib.contextmanager
def staging(storage: Storage) -> Iterator[Staging]:
    with storage.reporting():
        parent = storage.root / TMP_DIR
        parent.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(dir=parent, prefix=_STAGING_PREFIX))
    try:
        yield Staging(storage, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def remove(storage: Storage, template_id: str) -> None:
    """Delete a registered template's folder (nothing when there is none)."""
    shutil.rmtree(folder(storage, template_id), ignore_errors=True)
