"""Job status and media-sync status, with the one table of allowed transitions.

The service turns `sources_for(target)` into a conditional UPDATE (`... WHERE status IN
(...)`), so two writers racing on the same job cannot both win; everything else asks
`can_transition`.
"""

from __future__ import annotations

from enum import StrEnum

from .errors import InvalidTransition


class JobStatus(StrEnum):
    PENDING = "pending"
    COMPOSITING = "compositing"  # scene being built: shirt, design, lights
    RENDERING = "rendering"  # stills and turntable frames being rendered
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


RUNNING: frozenset[JobStatus] = frozenset({JobStatus.COMPOSITING, JobStatus.RENDERING})
TERMINAL: frozenset[JobStatus] = frozenset(
    {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED}
)

# target -> the statuses it may be entered from. Terminal states are never left: a retry is a
# new job pointing at the old one. A running job goes back to `pending` only when its worker is
# lost (crash, stall) and the queue will run it again.
_SOURCES: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.PENDING: RUNNING,
    JobStatus.COMPOSITING: frozenset({JobStatus.PENDING}),
    JobStatus.RENDERING: frozenset({JobStatus.COMPOSITING}),
    JobStatus.COMPLETED: frozenset({JobStatus.RENDERING}),
    JobStatus.FAILED: RUNNING,
    JobStatus.CANCELLED: frozenset({JobStatus.PENDING}) | RUNNING,
}


def _status(value: str | JobStatus) -> JobStatus:
    try:
        return JobStatus(value)
    except ValueError:
        raise InvalidTransition(
            f"Unknown job status {value!r}; statuses are: {', '.join(JobStatus)}.",
            code="invalid_status",
        ) from None


def sources_for(target: str | JobStatus) -> frozenset[JobStatus]:
    """The statuses from which `target` may be entered (not counting `target` itself)."""
    return _SOURCES[_status(target)]


def can_transition(current: str | JobStatus, target: str | JobStatus) -> bool:
    """Whether a job in `current` may be set to `target`. Setting the same status again is
    allowed and changes nothing."""
    current, target = _status(current), _status(target)
    return current == target or current in _SOURCES[target]


def check_transition(current: str | JobStatus, target: str | JobStatus) -> bool:
    """Raise `InvalidTransition` unless allowed; return whether anything actually changes."""
    if not can_transition(current, target):
        raise InvalidTransition(
            f"A {JobStatus(current).value} job cannot become {JobStatus(target).value}.",
        )
    return JobStatus(current) != JobStatus(target)


class JobSource(StrEnum):
    """Where a job came from: the service's own API (queued and rendered by its workers), or a
    render reported by the add-on or the command line (rendered there, never queued)."""

    API = "api"
    BLENDER = "blender"
    CLI = "cli"


class MediaSyncStatus(StrEnum):
    """Whether a completed render reached the store. Independent of the render status."""

    NOT_CONFIGURED = "not_configured"  # no commerce backend set up: nothing to do
    WAITING_FOR_RENDER = "waiting_for_render"  # a store is configured; the render is not done
    NO_RENDER = "no_render"  # the render failed or was cancelled: nothing will be pushed
    PENDING = "pending"  # queued or being retried
    PUSHED = "pushed"
    FAILED = "failed"  # gave up after retries, or the store refused it; can be pushed again


# Any status can be asked to push (again); only a push in progress can land or fail; a job
# starts `waiting_for_render` (or `not_configured`) and ends `no_render` when it stops unrendered.
_MEDIA_SOURCES: dict[MediaSyncStatus, frozenset[MediaSyncStatus]] = {
    MediaSyncStatus.NOT_CONFIGURED: frozenset({MediaSyncStatus.PENDING}),
    MediaSyncStatus.WAITING_FOR_RENDER: frozenset(),
    MediaSyncStatus.NO_RENDER: frozenset({MediaSyncStatus.WAITING_FOR_RENDER}),
    MediaSyncStatus.PENDING: frozenset(MediaSyncStatus),
    MediaSyncStatus.PUSHED: frozenset({MediaSyncStatus.PENDING}),
    MediaSyncStatus.FAILED: frozenset({MediaSyncStatus.PENDING}),
}


def media_sources_for(target: str | MediaSyncStatus) -> frozenset[MediaSyncStatus]:
    return _MEDIA_SOURCES[MediaSyncStatus(target)]


def can_media_transition(current: str | MediaSyncStatus, target: str | MediaSyncStatus) -> bool:
    current, target = MediaSyncStatus(current), MediaSyncStatus(target)
    return current == target or current in _MEDIA_SOURCES[target]


# Share of the progress bar for each part of a render. Building the scene is quick and fixed;
# stills and turntable frames are weighed by their count, a frame costing about a third of a
# still (smaller and cheaper per pixel), so the bar moves at a steady pace.
_BUILD_SHARE = 5.0
_FRAME_WEIGHT = 1 / 3


def progress_percent(
    status: str | JobStatus,
    *,
    images_done: int = 0,
    images_total: int = 0,
    frames_done: int = 0,
    frames_total: int = 0,
) -> int:
    """Overall progress 0-100 from the real stage and counts of a render.

    `pending` and `compositing` are 0 and `completed` is 100; while rendering, progress moves
    from 5 to 99 by the work done, so the bar never shows 100 before the outputs are verified.
    For `failed` and `cancelled` it is the progress the counts had reached.
    """
    status = _status(status)
    if status == JobStatus.COMPLETED:
        return 100
    if status in (JobStatus.PENDING, JobStatus.COMPOSITING):
        return 0
    total = images_total + frames_total * _FRAME_WEIGHT
    done = min(images_done, images_total) + min(frames_done, frames_total) * _FRAME_WEIGHT
    fraction = done / total if total > 0 else 0.0
    return min(99, int(_BUILD_SHARE + (100 - _BUILD_SHARE) * fraction))
