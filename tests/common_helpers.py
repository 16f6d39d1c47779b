"""Helpers the service, queue and store tests share (a module of its own: test modules import it
by this name, which no other folder's helpers use)."""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart


def multipart(fields: dict[str, Any]) -> dict[str, Any]:
    """Encode a multipart body in memory for the Flask test client; a `(stream, filename)`
    value is a file. (The test client spools big bodies to a temporary file it never closes,
    which `filterwarnings = error` reports as an unclosed file.)"""
    encoded = {
        key: FileStorage(value[0], filename=value[1]) if isinstance(value, tuple) else value
        for key, value in fields.items()
    }
    stream, _length, boundary = stream_encode_multipart(encoded, use_tempfile=False)
    return {"data": stream.getvalue(),
            "content_type": f"multipart/form-data; boundary={boundary}"}


def free_port() -> int:
    """A loopback TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_url(variable: str, script: str) -> str:
    """The URL of a test server that `script` starts, from the environment `variable`: a missing
    one fails the test in CI (which starts them all) and skips it anywhere else."""
    url = os.environ.get(variable)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{variable} is not set in CI; run `export {variable}=$({script})` first.")
        pytest.skip(f"{variable} is not set (start one with {script})")
    return url
