"""The JSON Schemas of what the API sends and takes, for `/openapi.json`.

Every field a response carries is described, with the values `shared/` allows, so a client can
be generated from the document and the schema-driven fuzz test (`tests/service/test_fuzz.py`)
can check every answer against it. Enumerations come from `shared/`, never copied.
"""

from __future__ import annotations

from typing import Any

from shared.angles import STILL_IDS
from shared.colors import COMMON_SHIRT_COLORS
from shared.contracts import BACKGROUND_KINDS, OUTPUT_KINDS
from shared.job_colors import MAX_COLORS
from shared.jobs import JobSource, JobStatus, MediaSyncStatus
from shared.presets import PRESET_IDS
from shared.prints import MAX_PRINTS
from shared.quality import QUALITY_NAMES

from ..models import WORKER_KINDS
from .health import (
    CONSUMER_STATES,
    DATABASE_STATES,
    DISK_STATES,
    HEALTH_STATES,
    QUEUE_STATES,
)


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _string(description: str | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", **extra}
    if description:
        schema["description"] = description
    return schema


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: dict[str, Any], description: str | None = None,
            required: tuple[str, ...] | None = None) -> dict[str, Any]:
    """An object whose listed properties are always present unless `required` says less."""
    schema: dict[str, Any] = {"type": "object", "properties": properties,
                              "required": list(properties if required is None else required)}
    if description:
        schema["description"] = description
    return schema


_COUNT = {"type": "integer", "minimum": 0}
_TIME = _string("UTC, ISO 8601 with a Z", format="date-time")
_HEX_COLOR = _string("#rrggbb", pattern="^#[0-9a-f]{6}$")
_SHA256 = _string(pattern="^[0-9a-f]{64}$")
_SAFE_ID = _string("1-128 letters, digits, '_' or '-', starting with a letter or digit",
                   pattern="^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_SHIRT_NAMES = ", ".join(name.lower() for name, _hex in COMMON_SHIRT_COLORS)
#: What a colour field takes (its text is the one in `shared.colors`).
COLOR_INPUT = _string(
    "#RGB, #RRGGBB or a colour name (shirt-blank names such as navy first: "
    f"{_SHIRT_NAMES}; then CSS names); any case, spaces and hyphens ignored",
    maxLength=64)
#: What a job's `color` takes: several colours render in one job (`shared.job_colors`).
COLORS_INPUT = _string(
    f"{COLOR_INPUT['description']}; or several, as a comma list or the field repeated: at "
    f"most {MAX_COLORS} colours in one job, the first is its `color`", maxLength=12 * 65)
BACKGROUND_INPUT = _string(f"{' or '.join(BACKGROUND_KINDS)} or a colour (as for color)",
                           maxLength=64)


def _error_schema() -> dict[str, Any]:
    return _object({"code": _string("stable, machine-readable"),
                    "message": _string("one sentence for a person")})


def _job_schema() -> dict[str, Any]:
    design = _object({
        "name": _string("the uploaded file name, reduced to safe ASCII"),
        "media_type": _string(enum=["image/png", "image/jpeg"]),
        "size_bytes": _COUNT, "sha256": _SHA256,
        "width": _COUNT, "height": _COUNT,
        "dpi": {"type": "number", "minimum": 0,
                "description": "design pixels per printed inch at the first print's size"},
        "url": _string("where the design file is downloaded (token required)"),
    }, "The first print's design, as stored; width and height of the upright image (EXIF "
       "turn applied)")
    job_print = _object({
        "position": {"type": "integer", "minimum": 0, "maximum": MAX_PRINTS - 1,
                     "description": "0 for the first print"},
        "preset": _string(enum=list(PRESET_IDS)),
        "offset_cm": {"type": "array", "items": {"type": "number"}, "minItems": 2,
                      "maxItems": 2, "description": "[x, y] in cm from the preset's anchor: "
                      "x toward the viewer's right, y down"},
        "scale": {"type": "number", "exclusiveMinimum": 0,
                  "description": "1: the largest size that fits the preset's area"},
        "rotation_deg": {"type": "number", "description": "clockwise as seen"},
        "design": _object({**{name: design["properties"][name] for name in (
            "name", "media_type", "size_bytes", "sha256", "width", "height")},
            "url": _string("where the design file is downloaded (token required)")}),
        "dpi": {"type": "number", "minimum": 0,
                "description": "design pixels per printed inch at the print's final size"},
        "warnings": {"type": "array", "items": _string(), "description":
                     "its print resolution below 300 DPI (naming the print when there are "
                     "several)"},
    }, "One print of the job: a design at a placement, moved, scaled and turned")
    output = _object({
        "kind": _string(enum=list(OUTPUT_KINDS)),
        "angle": _nullable(_string("one of the six views, or a close-up a print adds",
                                   enum=list(STILL_IDS))),
        "frame": _nullable(_COUNT),
        "file": _string("a plain file name; in a several-colour job <rrggbb>/<name>, in its "
                        "colour's folder"),
        "width": _COUNT, "height": _COUNT, "sha256": _SHA256, "size_bytes": _COUNT,
        "color": _HEX_COLOR,
        "url": _string("where the file is downloaded (token required)"),
    }, "One rendered file, as listed in the render's manifest")
    counts = _object({"images_done": _COUNT, "images_total": _COUNT, "frames_done": _COUNT,
                      "frames_total": _COUNT}, "Stills and turntable frames, done and planned")
    properties: dict[str, Any] = {
        "id": _string("rjob_ + a ULID"),
        "product_id": _string("the store's product id"),
        "preset": _string(enum=list(PRESET_IDS)),
        "color": _HEX_COLOR,
        "colors": {"type": "array", "items": _HEX_COLOR, "minItems": 1,
                   "maxItems": MAX_COLORS, "description": "every colour of the job, in order; "
                   "the first is color"},
        "template_id": _string(),
        "quality": _string(enum=list(QUALITY_NAMES)),
        "animation": {"type": "boolean", "description": "whether a turntable is rendered"},
        "background": _string(f"{', '.join(BACKGROUND_KINDS)} or #rrggbb"),
        "source": _string("api: rendered by the service; blender, cli: reported by the "
                          "add-on or the CLI", enum=list(JobSource)),
        "status": _string(enum=list(JobStatus)),
        "progress": {"type": "integer", "minimum": 0, "maximum": 100},
        "stage": _string("what the renderer is doing, e.g. queued, rendering, done"),
        "counts": counts,
        "design": design,
        "prints": {"type": "array", "items": job_print, "minItems": 1, "maxItems": MAX_PRINTS,
                   "description": "every print in order; the first is also preset and design"},
        "warnings": {"type": "array", "items": _string(), "description":
                     "for whoever prints it: each print's resolution below 300 DPI, with its "
                     "figure (will print blurry below 150); in the answer to a submit, also "
                     "that the store could not be reached to check the product"},
        "outputs": {"type": "array", "items": output},
        "outputs_by_color": {"type": "object", "description": "the outputs' URLs by colour "
                             "(#rrggbb): stills by angle, and the turntable (or null); empty "
                             "before the outputs", "additionalProperties": _object({
                                 "stills": {"type": "object",
                                            "additionalProperties": _string()},
                                 "turntable": _nullable(_string())})},
        "error": _nullable(ref("Error")),
        "attempts": _COUNT,
        "retried_from": _nullable(_string("the job this one retries")),
        "media_sync_status": _string(enum=list(MediaSyncStatus)),
        "worker_id": _nullable(_string("the render run that holds the job")),
        "heartbeat_at": _nullable(_TIME),
        "created_at": _TIME,
        "started_at": _nullable(_TIME),
        "completed_at": _nullable(_TIME),
        "updated_at": _TIME,
        "metadata": {"type": "object", "description": "the client's own data, as sent"},
        "publish": _object({
            "thumbnail": _string("whose thumbnail the product keeps",
                                 enum=["if-empty", "replace", "keep"]),
            "color_option": _nullable(_string("the product option holding the colour; "
                                              "default Color or Colour")),
            "color_values": {"type": "object", "additionalProperties": _HEX_COLOR,
                             "description": "the shop's value words, as colours"},
        }, "how the render goes onto the store's product"),
        "url": _string("this job"),
        "media_push": _nullable(ref("MediaPush")),
    }
    required = tuple(name for name in properties if name != "media_push")
    return _object(properties, "A render job; `media_push` only where a store is configured",
                   required)


def _media_push_schema() -> dict[str, Any]:
    ids = {"type": "object", "additionalProperties": {"type": "string"}}
    return _object({
        "sink": _string("the store, e.g. medusa"),
        "status": _string(enum=list(MediaSyncStatus)),
        "attempts": _COUNT,
        "error": _nullable(ref("Error")),
        "image_ids": {**ids, "description": "the store's image id by angle"},
        "file_ids": {**ids, "description": "the store's file id by role"},
        "replaced_by": _nullable(_string("the job whose push replaced these images")),
        "turntable_url": _nullable(_string("the uploaded turntable video")),
        "warnings": {"type": "array", "items": _string(),
                     "description": "e.g. a colour that no variant of the product has"},
        "pushed_at": _nullable(_string("when the push landed, ISO 8601")),
    }, "The latest push of the job's images to the store")


def _template_schema() -> dict[str, Any]:
    return _object({
        "id": _string(),
        "name": _string(),
        "description": _string(),
        "model_path": _nullable(_string("relative to the templates folder")),
        "thumbnail_path": _nullable(_string("relative to the templates folder")),
        "supported_presets": {"type": "array", "items": _string(enum=list(PRESET_IDS)),
                              "description": "empty: every preset"},
        "default_color": _HEX_COLOR,
        "active": {"type": "boolean"},
        "is_default": {"type": "boolean"},
        "created_at": _TIME,
        "updated_at": _TIME,
    }, "A shirt model jobs can use")


def template_input(*, creating: bool) -> dict[str, Any]:
    """The body of POST (with `id` and `name` required) and PATCH: unknown fields are 422."""
    location = _nullable(_string("relative to the templates folder", maxLength=500))
    properties: dict[str, Any] = {
        "name": _string(minLength=1, maxLength=200),
        "description": _nullable(_string(maxLength=5000)),
        "model_path": location,
        "thumbnail_path": location,
        "supported_presets": {"type": "array", "items": _string(enum=list(PRESET_IDS))},
        "default_color": COLOR_INPUT,
        "active": {"type": "boolean"},
        "is_default": {"type": "boolean"},
    }
    if creating:
        properties = {"id": _SAFE_ID, **properties}
    return {"type": "object", "properties": properties, "additionalProperties": False,
            "required": ["id", "name"] if creating else []}


def _health_schema() -> dict[str, Any]:
    age = {"type": "number", "minimum": 0, "description": "seconds"}
    worker = _object({
        "name": _string("its TSHIRT_WORKER_NAME, the start of a job's worker_id"),
        "kind": _string(enum=list(WORKER_KINDS)),
        "host": _string(), "pid": _COUNT, "render_threads": _COUNT,
        "alive": {"type": "boolean", "description": "it beats and has not stopped"},
        "last_seen": _TIME, "heartbeat_age_s": age,
        "exits": {**_COUNT, "description": "ends its supervisor did not ask for"},
        "last_exit": _nullable(_string("how the last end went, e.g. killed by SIGKILL")),
    }, "A queue process seen in the last 24 h")
    return _object({
        "status": _string("unhealthy (503) when rendering cannot progress",
                          enum=list(HEALTH_STATES)),
        "database": _string(enum=list(DATABASE_STATES)),
        "queue": _string("the broker (the SQLite queue file, or Redis)",
                         enum=list(QUEUE_STATES)),
        "consumer": _string("the queue process serve runs and restarts",
                            enum=list(CONSUMER_STATES)),
        "consumer_heartbeat_age_s": _nullable(age),
        "workers": {"type": "array", "items": worker, "description": "the newest first"},
        "render_threads_alive": {**_COUNT, "description": "0: no job can start"},
        "oldest_pending_age_s": _nullable({**age, "description": "the oldest waiting job"}),
        "disk": _string("low below the free-space floor", enum=list(DISK_STATES)),
        "disk_free_bytes": _COUNT,
    }, "Can rendering progress? One field per component (see sync_service/api/health.py)")


def _page_schema() -> dict[str, Any]:
    return _object({"items": {"type": "array", "items": ref("RenderJob")},
                    "total": _COUNT, "limit": _COUNT, "offset": _COUNT}, "A page of jobs")


def _template_list_schema() -> dict[str, Any]:
    return _object({"items": {"type": "array", "items": ref("RenderTemplate")},
                    "total": _COUNT})


def components() -> dict[str, Any]:
    return {
        "Error": _error_schema(),
        "RenderJob": _job_schema(),
        "MediaPush": _media_push_schema(),
        "JobPage": _page_schema(),
        "RenderTemplate": _template_schema(),
        "TemplateList": _template_list_schema(),
        "Health": _health_schema(),
    }
