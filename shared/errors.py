"""The project's one exception family.

Every boundary catches `TshirtError` once and reports it its own way: the add-on's operator
calls `report()`, the CLI prints one line to stderr and exits with `exit_code`, the service
answers JSON `{"code", "message"}` with `http_status`. The `code` is a stable machine-readable
string (it travels through the CLI's exit code back to the worker), the message is one sentence
for a person.
"""

from __future__ import annotations

from typing import ClassVar

# CLI exit codes by error code. Distinct per cause so a worker that only sees the exit status of
# a child Blender still knows what went wrong and whether a retry can help.
EXIT_CODES: dict[str, int] = {
    "invalid_input": 2,
    "invalid_id": 2,
    "file_not_found": 3,
    "unsupported_media_type": 4,
    "corrupt_image": 5,
    "unknown_preset": 6,
    "invalid_color": 7,
    "output_not_writable": 8,
    "unknown_template": 9,
    "invalid_template": 9,
    "file_too_large": 10,
    "image_too_large": 11,
    "invalid_spec": 12,
    "print_out_of_area": 13,
    "model_too_large": 14,
    "empty_design": 15,
    "render_failed": 20,
    "cancelled": 130,  # the shell convention for "stopped by SIGINT"
}
# Exit codes are shared by a few codes (9); the reverse map picks the first code listed.
ERROR_CODE_FOR_EXIT: dict[int, str] = {}
for _code, _exit in EXIT_CODES.items():
    ERROR_CODE_FOR_EXIT.setdefault(_exit, _code)


class TshirtError(Exception):
    """Base of every error the project raises on purpose."""

    default_code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 500
    #: Whether doing the same thing again may succeed (a crash, a dead store), as opposed to bad
    #: input that will fail the same way every time.
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.code, 1)

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class InvalidInput(TshirtError):
    """The caller asked for something that can never work: a bad file, preset, colour or spec."""

    default_code = "invalid_input"
    http_status = 422


class FileTooLarge(InvalidInput):
    default_code = "file_too_large"
    http_status = 413


class UnsupportedMediaType(InvalidInput):
    default_code = "unsupported_media_type"
    http_status = 415


class NotFound(TshirtError):
    default_code = "not_found"
    http_status = 404


class InvalidTransition(TshirtError):
    """A job status change the state machine forbids (e.g. cancelling a completed job)."""

    default_code = "invalid_transition"
    http_status = 409


class RenderFailed(TshirtError):
    """Blender crashed, timed out or produced something unusable; trying again may work."""

    default_code = "render_failed"
    retryable = True


class RenderCancelled(TshirtError):
    default_code = "cancelled"
    http_status = 409


class SyncFailed(TshirtError):
    """The commerce backend or the sync service could not be reached or refused a request."""

    default_code = "sync_failed"
    http_status = 502
    retryable = True


def error_for_exit_code(exit_code: int, message: str) -> TshirtError:
    """Rebuild the error a child CLI process reported through its exit status."""
    code = ERROR_CODE_FOR_EXIT.get(exit_code)
    if code == "cancelled":
        return RenderCancelled(message)
    if code is None or code == "render_failed":
        return RenderFailed(message)
    return InvalidInput(message, code=code)
