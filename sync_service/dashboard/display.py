"""How a job reads on the dashboard: its views in store order, its push state in words, its
prints and the print resolution of each, sizes and times for people. Works on the API's job JSON
(`render_jobs.job_to_dict`), so the pages show exactly what API clients see."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.angles import STILLS, THUMBNAIL_ANGLE
from shared.design_image import PrintResolution
from shared.jobs import RUNNING, JobStatus, MediaSyncStatus
from shared.presets import PRESETS
from shared.prints import PrintSpec, sharpness

from ..jobs.prints import placed

#: Statuses a job can still leave by itself: the pages keep polling while a job is in one.
LIVE_STATUSES = frozenset({JobStatus.PENDING, *RUNNING})
CANCELLABLE = LIVE_STATUSES
RETRYABLE = frozenset({JobStatus.FAILED, JobStatus.CANCELLED})


def stills(job: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, output) for each still, in the order the store shows them (a close-up that a
    print adds, such as the neck label's, after the six views)."""
    by_angle = {o["angle"]: o for o in job["outputs"] if o["kind"] == "still"}
    return [(angle.label, by_angle[angle.id]) for angle in STILLS if angle.id in by_angle]


def thumbnail(job: dict[str, Any]) -> dict[str, Any] | None:
    return next((o for o in job["outputs"]
                 if o["kind"] == "still" and o["angle"] == THUMBNAIL_ANGLE), None)


def animation(job: dict[str, Any]) -> dict[str, Any] | None:
    return next((o for o in job["outputs"] if o["kind"] == "animation"), None)


def is_live(job: dict[str, Any]) -> bool:
    """Whether the job or its push may still change without anyone acting."""
    return (job["status"] in LIVE_STATUSES
            or job["media_sync_status"] == MediaSyncStatus.PENDING)


def push_words(state: str, attempts: int = 0, error: str | None = None) -> str:
    """The store-push state as a sentence, with the store's last error where there is one."""
    if state == MediaSyncStatus.NOT_CONFIGURED:
        return "Not sent: no store is configured."
    if state == MediaSyncStatus.PUSHED:
        return "In the store."
    if state == MediaSyncStatus.FAILED:
        return f"Push failed: {error}" if error else "Push failed."
    if state == MediaSyncStatus.WAITING_FOR_RENDER:
        return "Goes to the store once the render is done."
    if state == MediaSyncStatus.NO_RENDER:
        return "Not sent: the render did not finish."
    if error:
        return f"Pushing again (attempt {attempts + 1}); last try: {error}"
    return "Waiting to be sent to the store."


def placement_label(preset_id: str) -> str:
    preset = PRESETS.get(preset_id)
    return preset.label if preset else preset_id


def print_resolutions(job: dict[str, Any]) -> list[tuple[dict[str, Any],
                                                        PrintResolution | None]]:
    """Each print of the job with how sharp it prints at its final size: the API's own rule,
    whose sentences are the job's `warnings`."""
    found = []
    for item in job["prints"]:
        width, height = item["design"]["width"], item["design"]["height"]
        if item["preset"] not in PRESETS or not width or not height:
            found.append((item, None))
            continue
        spec = PrintSpec(design=item["design"]["name"], preset=item["preset"],
                         offset_cm=tuple(item["offset_cm"]), scale=item["scale"],
                         rotation_deg=item["rotation_deg"])
        found.append((item, sharpness(placed(spec, width, height))))
    return found


def placement_changes(item: dict[str, Any]) -> str:
    """How a print is moved, scaled and turned from its preset, in words; empty when not."""
    x, y = item["offset_cm"]
    words = []
    if x or y:
        words.append(f"moved {x:g} cm right, {y:g} cm down")
    if item["scale"] != 1:
        words.append(f"scale {item['scale']:g}")
    if item["rotation_deg"]:
        words.append(f"turned {item['rotation_deg']:g}° clockwise")
    return ", ".join(words)


def human_bytes(size: int | None) -> str:
    if size is None:
        return ""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    if size < 1024 * 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{size / (1024 * 1024 * 1024):.1f} GB"


def when(text: str | None) -> str:
    """An API timestamp (ISO 8601, UTC) as people read it."""
    if not text:
        return ""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"
