"""A template's model file, checked before anything parses it: inside the template's folder,
what its name says it is (by its first bytes), and not too large.

Standard library only: the service checks an uploaded template with it and the renderer a
template folder before Blender opens the file. Blender's own readers are the last line (they
refuse a file that is not theirs); these checks turn a wrong or hostile file into one clear
refusal first, and keep a model from reaching files outside its folder.
"""

from __future__ import annotations

import gzip
import json
import struct
import zlib
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from .errors import FileTooLarge, InvalidInput

#: The largest model file (with the files a .gltf refers to) a template may bring.
MAX_MODEL_BYTES = 200 * 1024 * 1024
#: File name endings each model kind accepts.
MODEL_SUFFIXES = {"blend": (".blend",), "gltf": (".glb", ".gltf")}

_BLEND_MAGIC = b"BLENDER"
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# Blender writes a compressed .blend in zstd's seekable format: a skippable frame at the end
# holding the seek table, closed by this footer magic.
_ZSTD_SKIPPABLE_SEEK_TABLE = 0x184D2A5E
_ZSTD_SEEK_TABLE_FOOTER = 0x8F92EAB1
_GLB_MAGIC = b"glTF"
_GLB_JSON_CHUNK = 0x4E4F534A  # "JSON", little-endian
_GLB_HEADER = struct.Struct("<4sIIII")  # magic, version, length, first chunk's length and type


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_template")


def _too_large(what: str, size: int) -> FileTooLarge:
    return FileTooLarge(
        f"{what} is {size / 1e6:.1f} MB; a template's model may have at most "
        f"{MAX_MODEL_BYTES / 1e6:.0f} MB.",
        code="model_too_large",
    )


def inside(directory: Path, relative: str | Path) -> Path | None:
    """``relative`` resolved under ``directory`` (itself resolved), symlinks followed; None
    when it leads out of the folder (``..``, an absolute path, a link), loops or is unusable."""
    try:
        candidate = (directory / relative).resolve()
    except (OSError, RuntimeError, ValueError):  # a link loop, a NUL byte
        return None
    return candidate if directory in candidate.parents else None


def check_model_file(directory: Path, relative: str, kind: str) -> Path:
    """The model file of a ``kind`` ("blend" or "gltf") template, checked; its resolved path."""
    suffix = PurePosixPath(relative).suffix.lower()
    if suffix not in MODEL_SUFFIXES[kind]:
        raise _refuse(
            f"a {kind} model must be a {' or '.join(MODEL_SUFFIXES[kind])} file, "
            f"not {relative!r}."
        )
    path = inside(directory, relative)
    if path is None:
        raise _refuse(f"'model.file' {relative!r} must stay inside the template folder.")
    if not path.is_file():
        raise _refuse(f"model file {relative!r} does not exist.")
    size = path.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise _too_large(f"model file {relative!r}", size)
    with path.open("rb") as stream:
        if suffix == ".blend":
            _check_blend(stream, size, relative)
        elif suffix == ".glb":
            _check_gltf_document(_glb_json(stream, size, relative), directory, path, size)
        else:
            _check_gltf_document(_json(stream.read(), relative), directory, path, size)
    return path


def _check_blend(stream: Any, size: int, name: str) -> None:
    head = stream.read(len(_BLEND_MAGIC))
    if head.startswith(_BLEND_MAGIC):
        return
    if head.startswith(_GZIP_MAGIC):  # Blender before 3.0 compressed with gzip
        stream.seek(0)
        try:
            with gzip.GzipFile(fileobj=stream) as unzipped:
                if unzipped.read(len(_BLEND_MAGIC)) == _BLEND_MAGIC:
                    return
        except (OSError, EOFError, zlib.error):
            pass
    elif head.startswith(_ZSTD_MAGIC) and _has_zstd_seek_table(stream, size):
        # The standard library cannot decompress zstd before Python 3.14, so the decompressed
        # head is left to Blender's reader, which refuses anything that is not a .blend.
        return
    raise _refuse(f"model file {name!r} is not a .blend file (no 'BLENDER' header).")


def _has_zstd_seek_table(stream: Any, size: int) -> bool:
    """Whether the file ends with the seek table Blender writes after its zstd frames."""
    if size < len(_ZSTD_MAGIC) + 8 + 9:
        return False
    stream.seek(size - 9)
    frames, descriptor, magic = struct.unpack("<IBI", stream.read(9))
    if magic != _ZSTD_SEEK_TABLE_FOOTER:
        return False
    table = frames * (12 if descriptor & 0x80 else 8) + 9
    start = size - table - 8
    if start < len(_ZSTD_MAGIC):
        return False
    stream.seek(start)
    skippable, frame_size = struct.unpack("<II", stream.read(8))
    return skippable == _ZSTD_SKIPPABLE_SEEK_TABLE and frame_size == table


def _glb_json(stream: Any, size: int, name: str) -> object:
    """The JSON chunk of a binary glTF, after its header has been checked."""
    header = stream.read(_GLB_HEADER.size)
    if len(header) < _GLB_HEADER.size or not header.startswith(_GLB_MAGIC):
        raise _refuse(f"model file {name!r} is not a binary glTF (no 'glTF' header).")
    _, version, length, chunk_length, chunk_type = _GLB_HEADER.unpack(header)
    if version != 2:
        raise _refuse(f"model file {name!r} is glTF version {version}; version 2 is needed.")
    if length != size:
        raise _refuse(f"model file {name!r} says it has {length} bytes but has {size}.")
    if chunk_type != _GLB_JSON_CHUNK or chunk_length > size - _GLB_HEADER.size:
        raise _refuse(f"model file {name!r} does not start with a glTF JSON chunk.")
    return _json(stream.read(chunk_length), name)


def _json(data: bytes, name: str) -> object:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError
        raise _refuse(f"model file {name!r} is not glTF JSON ({exc}).") from None


def _check_gltf_document(document: object, directory: Path, path: Path, size: int) -> None:
    """A glTF 2.0 document whose buffers and images stay inside the folder and the size limit.

    The importer would read any file a ``uri`` names (an absolute path, ``../..``), so only
    ``data:`` URIs and relative paths inside the template folder are allowed.
    """
    name = path.name
    asset = document.get("asset") if isinstance(document, dict) else None
    if not isinstance(asset, dict):
        raise _refuse(f"model file {name!r} is not a glTF document (no 'asset').")
    if str(asset.get("version", "")).split(".")[0] != "2":
        raise _refuse(f"model file {name!r} is glTF {asset.get('version')!r}; 2.0 is needed.")
    total = size
    for key in ("buffers", "images"):
        items = document.get(key, [])
        if not isinstance(items, list):
            raise _refuse(f"model file {name!r}: '{key}' must be a list.")
        for item in items:
            uri = item.get("uri") if isinstance(item, dict) else None
            if uri is None or (isinstance(uri, str) and uri.startswith("data:")):
                continue
            if not isinstance(uri, str) or urlsplit(uri).scheme:
                raise _refuse(f"model file {name!r} refers to {uri!r}; only data: URIs and "
                              "files inside the template folder may be used.")
            referenced = inside(directory, path.parent / unquote(uri))
            if referenced is None:
                raise _refuse(f"model file {name!r} refers to {uri!r}, outside the template "
                              "folder; its files must stay inside it.")
            if not referenced.is_file():
                raise _refuse(f"model file {name!r} refers to {uri!r}, which does not exist.")
            total += referenced.stat().st_size
    if total > MAX_MODEL_BYTES:
        raise _too_large(f"model file {name!r} with the files it refers to", total)
