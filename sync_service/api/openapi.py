"""`GET /openapi.json`: an OpenAPI 3.1 description of every route, every status code it answers
and every field it returns, for clients and fuzzers.

A test checks that every rule in the app's URL map is described here, so a new route cannot
ship undocumented; the schema-driven fuzz test checks every answer against this document.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from shared.jobs import JobSource, JobStatus
from shared.presets import PRESET_IDS
from shared.prints import MAX_OFFSET_CM, MAX_PRINTS, MAX_SCALE, MIN_SCALE
from shared.quality import QUALITY_NAMES
from shared.template_files import MAX_MODEL_BYTES
from shared.validation import MAX_DESIGN_BYTES

from ..jobs.forms import MAX_METADATA_BYTES
from ..jobs.queries import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, ORDERS
from .schemas import BACKGROUND_INPUT, COLORS_INPUT, components, ref, template_input

bp = Blueprint("openapi", __name__)

_ERRORS = {
    400: "Malformed request: a required field or file missing, a body that is not JSON",
    401: "Missing or unknown bearer token",
    404: "No such job, template, file or store product",
    409: "Not allowed in the current state (e.g. cancelling a finished job)",
    413: "The request is larger than this endpoint accepts",
    415: "The design is not a PNG or JPEG (judged by its bytes)",
    416: "The requested byte range is outside the file",
    422: "A value is out of range or unknown (the message says which)",
    507: "The data directory's disk is full or read-only (storage_full, storage_unwritable)",
}
_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    """The error answers `codes`, and the 503 every route that touches the database may give."""
    return {**{str(code): _json(ref("Error"), _ERRORS[code]) for code in codes},
            "503": {**_json(ref("Error"), "The database is busy or unreachable "
                                          "(database_unavailable); nothing was changed"),
                    "headers": {"Retry-After": {
                        "description": "Seconds to wait before trying again",
                        "schema": {"type": "integer"}}}}}


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "pattern": _ID_PATTERN, "maxLength": 128}}


def _or_empty(schema: dict[str, Any], *, null: bool = False) -> dict[str, Any]:
    """An optional field that may also come empty (as HTML forms send them): empty, like
    absent, means the default."""
    choices = [schema, {"type": "string", "maxLength": 0}]
    return {"anyOf": [*choices, {"type": "null"}] if null else choices}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": _or_empty(schema)}


def _file(description: str, *media_types: str) -> dict[str, Any]:
    content = {media_type: {"schema": {"type": "string", "format": "binary"}}
               for media_type in media_types}
    return {"description": description, "content": content}


def _file_responses(description: str, *media_types: str) -> dict[str, Any]:
    """A stored file: conditional requests and byte ranges as the HTTP spec has them."""
    return {"200": _file(description, *media_types),
            "206": _file("Part of the file (a Range request)", *media_types),
            "304": {"description": "Not modified since the ETag or date sent"},
            **_errors(401, 404, 416, 422)}


_JOB_ID = _path_param("job_id", "A render job id (rjob_...).")
_TEMPLATE_ID = _path_param("template_id", "A render template id.")
_LIST_PARAMS = [
    _query("status", {"type": "string", "maxLength": 200},
           "Comma-separated statuses, any of: " + ", ".join(JobStatus)),
    _query("product_id", {"type": "string", "pattern": _ID_PATTERN, "maxLength": 128},
           "Only this product's jobs."),
    _query("preset", {"type": "string", "enum": list(PRESET_IDS)}, "Only this preset."),
    _query("source", {"type": "string", "enum": list(JobSource)}, "Only this source."),
    _query("created_after", {"type": "string", "format": "date-time"},
           "Created at or after (ISO 8601; without an offset, UTC)."),
    _query("created_before", {"type": "string", "format": "date-time"}, "Created before."),
    _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                     "default": DEFAULT_LIMIT}, "Page size."),
    _query("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
           "Jobs to skip."),
    _query("order", {"type": "string", "enum": list(ORDERS), "default": "desc"},
           "By creation time."),
]
_PRESET = {"type": "string", "enum": list(PRESET_IDS)}
#: The options of a job beyond preset and colour: each may be left out or empty.
_MORE_OPTIONS: dict[str, Any] = {
    "template_id": {"type": "string", "pattern": _ID_PATTERN, "maxLength": 128,
                    "description": "an active template (default: the default template)"},
    "quality": {"type": "string", "enum": list(QUALITY_NAMES)},
    "animation": {"type": "boolean", "description": "render the turntable (default true)"},
    "background": BACKGROUND_INPUT,
}
_METADATA_TEXT = {"type": "string", "maxLength": MAX_METADATA_BYTES,
                  "description": f"a JSON object, at most {MAX_METADATA_BYTES // 1024} KB"}
_SECURED = [{"bearer": []}]
_DESIGN_PART = {"type": "string", "format": "binary",
                "description": f"PNG or JPEG, at most {MAX_DESIGN_BYTES // 2**20} MB"}
#: A job's prints as a create request sends them (`jobs.prints`).
_PRINT_ITEM = {
    "type": "object", "required": ["file", "preset"], "additionalProperties": False,
    "properties": {
        "file": {"type": "string", "description": "the name of the file part with its design"},
        "preset": _PRESET,
        "offset_cm": {"type": "array", "items": {"type": "number", "minimum": -MAX_OFFSET_CM,
                                                 "maximum": MAX_OFFSET_CM},
                      "minItems": 2, "maxItems": 2, "default": [0, 0],
                      "description": "[x, y] in cm from the preset's anchor: x toward the "
                                     "viewer's right, y down"},
        "scale": {"type": "number", "minimum": MIN_SCALE, "maximum": MAX_SCALE, "default": 1,
                  "description": "1: the largest size that fits the preset's area"},
        "rotation_deg": {"type": "number", "minimum": -360, "maximum": 360, "default": 0,
                         "description": "clockwise as seen"}}}
_PRINTS_FIELD = {
    "type": "string", "contentMediaType": "application/json",
    "contentSchema": {"type": "array", "items": _PRINT_ITEM, "minItems": 1,
                      "maxItems": MAX_PRINTS},
    "description": f"a JSON list of 1 to {MAX_PRINTS} prints, in order: "
                   '[{"file": "front", "preset": "chest-medium", "offset_cm": [0, 5], '
                   '"scale": 0.8, "rotation_deg": 0}, {"file": "back", "preset": "back-large"}]'}
_REGISTRATION = {"type": "object", "required": ["template", "model"], "properties": {
    "template": {"type": "string", "description": "template.json (a minimal one: id, name, "
                                                  "model, supported_presets, default_color)"},
    "model": {"type": "string", "format": "binary",
              "description": "the .glb, .gltf or .blend file template.json's model.file names, "
                             f"at most {MAX_MODEL_BYTES // 10**6} MB"}}}
_TEMPLATE_FILES = {"type": "object", "required": ["items"], "properties": {"items": {
    "type": "array", "items": {"type": "object", "required": ["name", "size", "sha256"],
                               "properties": {"name": {"type": "string"},
                                              "size": {"type": "integer", "minimum": 0},
                                              "sha256": {"type": "string",
                                                         "pattern": "^[0-9a-f]{64}$"}}}}}}


def _job_paths() -> dict[str, Any]:
    job = ref("RenderJob")
    page = _json(ref("JobPage"), "A page of jobs")
    job_fields = {
        "product_id": {"type": "string", "pattern": _ID_PATTERN, "maxLength": 128},
        "color": COLORS_INPUT,
        **{name: _or_empty(field) for name, field in {
            "source": {"type": "string", "enum": list(JobSource),
                       "description": "api (default): render here; blender or cli: a "
                                      "render the add-on or the CLI runs and reports"},
            **_MORE_OPTIONS, "metadata": _METADATA_TEXT}.items()}}
    # One schema for both shapes rather than a oneOf: fuzzers cannot yet negate a oneOf of
    # forms with files, and the shapes differ only in which of their fields they send.
    create_form = {
        "type": "object", "required": ["product_id", "color"],
        "description": "Either one design at a preset (the file part `design` and the field "
                       "`preset`: unmoved, at scale 1, upright), or several prints: the field "
                       "`prints` and the file parts it names (any names; one part may serve "
                       "several prints). Each print is placed on the reference shirt and "
                       "refused (422 print_out_of_area, naming it) when it leaves its side's "
                       "printable area; each design is checked as the one of a single print; "
                       "a request refused stores nothing.",
        "properties": {"design": _DESIGN_PART, "preset": _PRESET, "prints": _PRINTS_FIELD,
                       **job_fields},
        "additionalProperties": _DESIGN_PART}
    # Every field optional: what is left out (or empty, or null) keeps the old job's value.
    retry_body = {"type": "object", "properties": {
        name: _or_empty(field, null=True) for name, field in {
            "preset": _PRESET, "color": COLORS_INPUT, **_MORE_OPTIONS,
            "metadata": {"anyOf": [{"type": "object"}, _METADATA_TEXT]}}.items()}}
    outputs_form = {"type": "object", "required": ["manifest", "files"], "properties": {
        "manifest": {"type": "string", "description": "manifest.json"},
        "files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}
    return {
        "/admin/render-jobs": {
            "post": {
                "summary": "Create a render job from an uploaded design, or several designs "
                           "with their prints.",
                "requestBody": {"required": True, "content": {
                    "multipart/form-data": {"schema": create_form}}},
                "responses": {"202": _json(job, "Created (pending; or rendering when "
                                                "reported by the add-on or CLI)"),
                              **_errors(400, 401, 404, 413, 415, 422, 507)}},
            "get": {"summary": "List render jobs, newest first.", "parameters": _LIST_PARAMS,
                    "responses": {"200": page, **_errors(401, 422)}}},
        "/admin/products/{product_id}/render-jobs": {"get": {
            "summary": "A product's render history.",
            "parameters": [_path_param("product_id", "The store's product id"),
                           *[p for p in _LIST_PARAMS if p["name"] != "product_id"]],
            "responses": {"200": page, **_errors(401, 422)}}},
        "/admin/render-jobs/{job_id}": {"get": {
            "summary": "One job with its progress, file URLs and store push.",
            "parameters": [_JOB_ID],
            "responses": {"200": _json(job, "The job"), **_errors(401, 404, 422)}}},
        "/admin/render-jobs/{job_id}/cancel": {"post": {
            "summary": "Cancel a pending or running job.", "parameters": [_JOB_ID],
            "responses": {"200": _json(job, "Cancelled (or already was)"),
                          **_errors(401, 404, 409, 422)}}},
        "/admin/render-jobs/{job_id}/retry": {"post": {
            "summary": "A new job from a failed or cancelled one, with optional overrides.",
            "parameters": [_JOB_ID],
            "requestBody": {"required": False, "content": {
                "application/json": {"schema": retry_body}}},
            "responses": {"202": _json(job, "The new job"),
                          **_errors(400, 401, 404, 409, 413, 422, 507)}}},
        "/admin/render-jobs/{job_id}/outputs": {"post": {
            "summary": "A running job's outputs: the manifest and every file it lists.",
            "parameters": [_JOB_ID],
            "requestBody": {"required": True, "content": {
                "multipart/form-data": {"schema": outputs_form}}},
            "responses": {"200": _json(job, "Completed"),
                          **_errors(400, 401, 404, 409, 413, 422, 507)}}},
        "/admin/render-jobs/{job_id}/push": {"post": {
            "summary": "Push a completed job's images to the store again.",
            "parameters": [_JOB_ID],
            "responses": {"202": _json(job, "Push queued"), **_errors(401, 404, 409, 422)}}},
        "/admin/render-jobs/{job_id}/design": {"get": {
            "summary": "The design of one of the job's prints (the first by default).",
            "parameters": [_JOB_ID, _query(
                "position", {"type": "integer", "minimum": 0, "maximum": MAX_PRINTS - 1,
                             "default": 0}, "The print's position (0: the first).")],
            "responses": _file_responses("The design", "image/png", "image/jpeg")}},
        "/admin/render-jobs/{job_id}/outputs/{name}": {"get": {
            "summary": "One of the job's output files.",
            "parameters": [_JOB_ID, {"name": "name", "in": "path", "required": True,
                                     "description": "An output's file name (in a several-"
                                                    "colour job <rrggbb>/<name>)",
                                     "schema": {"type": "string"}}],
            "responses": _file_responses("The file", "image/png", "video/mp4")}},
    }


def _template_paths() -> dict[str, Any]:
    template = ref("RenderTemplate")
    return {
        "/admin/render-templates": {
            "get": {"summary": "List render templates.",
                    "parameters": [_query("active", {"type": "string",
                                                     "enum": ["true", "false"]},
                                          "Only active (true) or inactive (false) ones.")],
                    "responses": {"200": _json(ref("TemplateList"), "Templates"),
                                  **_errors(401, 422)}},
            "post": {"summary": "Add a render template: a row (JSON), or a template with its "
                                "model, validated and stored by the service (multipart).",
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": template_input(creating=True)}, "multipart/form-data": {
                         "schema": _REGISTRATION}}},
                     "responses": {"201": _json(template, "Created"),
                                   **_errors(400, 401, 409, 413, 422, 507)}}},
        "/admin/render-templates/{template_id}": {
            "get": {"summary": "One render template.", "parameters": [_TEMPLATE_ID],
                    "responses": {"200": _json(template, "The template"),
                                  **_errors(401, 404, 422)}},
            "patch": {"summary": "Change a render template.", "parameters": [_TEMPLATE_ID],
                      "requestBody": {"required": True, "content": {"application/json": {
                          "schema": template_input(creating=False)}}},
                      "responses": {"200": _json(template, "Changed"),
                                    **_errors(400, 401, 404, 413, 422)}},
            "delete": {"summary": "Delete a template no job uses.", "parameters": [_TEMPLATE_ID],
                       "responses": {"204": {"description": "Deleted"},
                                     **_errors(401, 404, 409, 422)}}},
        "/admin/render-templates/{template_id}/files": {"get": {
            "summary": "A registered template's files (none for a bundled or JSON-only one).",
            "parameters": [_TEMPLATE_ID],
            "responses": {"200": _json(_TEMPLATE_FILES, "Its files"), **_errors(401, 404, 422)}}},
        "/admin/render-templates/{template_id}/files/{name}": {"get": {
            "summary": "One of a registered template's files.",
            "parameters": [_TEMPLATE_ID, {"name": "name", "in": "path", "required": True,
                                          "description": "A name its file list gives",
                                          "schema": {"type": "string"}}],
            "responses": _file_responses("The file", "application/octet-stream")}},
    }


def build_spec() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/health": {"get": {
            "summary": "Database, queue and disk status (no token).", "security": [],
            "responses": {"200": _json(ref("Health"), "Healthy"),
                          "503": _json(ref("Health"), "Unhealthy: rendering cannot progress")}}},
        "/openapi.json": {"get": {
            "summary": "This document.", "security": [],
            "responses": {"200": _json({"type": "object"}, "OpenAPI document")}}},
        **_job_paths(),
        **_template_paths(),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "T-shirt render sync service", "version": "1"},
        "security": _SECURED,
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": components(),
        },
    }


@bp.get("/openapi.json")
def openapi() -> dict[str, Any]:
    return build_spec()
