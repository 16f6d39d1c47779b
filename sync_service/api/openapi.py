"""`GET /openapi.json`: an OpenAPI 3.1 description of every route, for clients and fuzzers.

A test checks that every rule in the app's URL map is described here, so a new route cannot
ship undocumented.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from shared.jobs import JobSource, JobStatus, MediaSyncStatus
from shared.presets import PRESET_IDS
from shared.quality import QUALITY_NAMES

from ..jobs.queries import MAX_LIMIT

bp = Blueprint("openapi", __name__)

_ERROR = {"$ref": "#/components/schemas/Error"}
_JOB = {"$ref": "#/components/schemas/RenderJob"}
_TEMPLATE = {"$ref": "#/components/schemas/RenderTemplate"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _json(_ERROR, "Error") for code in codes}


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string"}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


_JOB_ID = _path_param("job_id", "A render job id (rjob_...).")
_TEMPLATE_ID = _path_param("template_id", "A render template id.")
_LIST_PARAMS = [
    _query("status", {"type": "string"}, "Comma-separated statuses: " + ", ".join(JobStatus)),
    _query("product_id", {"type": "string"}, "Only this product's jobs."),
    _query("preset", {"type": "string", "enum": list(PRESET_IDS)}, "Only this preset."),
    _query("source", {"type": "string", "enum": list(JobSource)}, "Only this source."),
    _query("created_after", {"type": "string", "format": "date-time"}, "Created at or after."),
    _query("created_before", {"type": "string", "format": "date-time"}, "Created before."),
    _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 20},
           "Page size."),
    _query("offset", {"type": "integer", "minimum": 0, "default": 0}, "Items to skip."),
    _query("order", {"type": "string", "enum": ["asc", "desc"], "default": "desc"},
           "By creation time."),
]
_OPTION_FIELDS: dict[str, Any] = {
    "preset": {"type": "string", "enum": list(PRESET_IDS)},
    "color": {"type": "string", "description": "#RGB, #RRGGBB or a CSS colour name"},
    "template_id": {"type": "string"},
    "quality": {"type": "string", "enum": list(QUALITY_NAMES)},
    "animation": {"type": "boolean"},
    "background": {"type": "string", "description": "transparent, studio or a colour"},
    "metadata": {"type": "string", "description": "a JSON object"},
}
_SECURED = [{"bearer": []}]


def build_spec() -> dict[str, Any]:
    page = {"type": "object", "required": ["items", "total", "limit", "offset"],
            "properties": {"items": {"type": "array", "items": _JOB},
                           "total": {"type": "integer"}, "limit": {"type": "integer"},
                           "offset": {"type": "integer"}}}
    template_body = {"type": "object", "properties": {
        "id": {"type": "string"}, "name": {"type": "string"},
        "description": {"type": "string"}, "model_path": {"type": "string"},
        "thumbnail_path": {"type": "string"},
        "supported_presets": {"type": "array", "items": {"type": "string",
                                                         "enum": list(PRESET_IDS)}},
        "default_color": {"type": "string"}, "active": {"type": "boolean"},
        "is_default": {"type": "boolean"}}}
    admin_errors = (401, 404)
    paths: dict[str, Any] = {
        "/health": {"get": {
            "summary": "Database, queue and disk status (no token).", "security": [],
            "responses": {"200": _json({"type": "object"}, "Healthy"),
                          "503": _json({"type": "object"}, "Unhealthy")}}},
        "/openapi.json": {"get": {
            "summary": "This document.", "security": [],
            "responses": {"200": _json({"type": "object"}, "OpenAPI document")}}},
        "/admin/render-jobs": {
            "post": {
                "summary": "Create a render job from an uploaded design.",
                "requestBody": {"required": True, "content": {"multipart/form-data": {
                    "schema": {"type": "object", "required": ["design", "product_id",
                                                              "preset", "color"],
                               "properties": {
                                   "design": {"type": "string", "format": "binary",
                                              "description": "PNG or JPEG, at most 10 MB"},
                                   "product_id": {"type": "string"},
                                   "source": {"type": "string", "enum": list(JobSource)},
                                   **_OPTION_FIELDS}}}}},
                "responses": {"202": _json(_JOB, "Created (pending; or rendering when "
                                                 "reported by the add-on or CLI)"),
                              **_errors(400, 401, 413, 415, 422)}},
            "get": {"summary": "List render jobs.", "parameters": _LIST_PARAMS,
                    "responses": {"200": _json(page, "A page of jobs"),
                                  **_errors(401, 422)}}},
        "/admin/products/{product_id}/render-jobs": {"get": {
            "summary": "A product's render history.",
            "parameters": [_path_param("product_id", "The store's product id"),
                           *[p for p in _LIST_PARAMS if p["name"] != "product_id"]],
            "responses": {"200": _json(page, "A page of jobs"), **_errors(401, 422)}}},
        "/admin/render-jobs/{job_id}": {"get": {
            "summary": "One job with its progress and file URLs.", "parameters": [_JOB_ID],
            "responses": {"200": _json(_JOB, "The job"), **_errors(*admin_errors)}}},
        "/admin/render-jobs/{job_id}/cancel": {"post": {
            "summary": "Cancel a pending or running job.", "parameters": [_JOB_ID],
            "responses": {"200": _json(_JOB, "Cancelled (or already was)"),
                          **_errors(401, 404, 409)}}},
        "/admin/render-jobs/{job_id}/retry": {"post": {
            "summary": "A new job from a failed or cancelled one, with optional overrides.",
            "parameters": [_JOB_ID],
            "requestBody": {"required": False, "content": {"application/json": {
                "schema": {"type": "object", "properties": _OPTION_FIELDS}}}},
            "responses": {"202": _json(_JOB, "The new job"),
                          **_errors(400, 401, 404, 409, 422)}}},
        "/admin/render-jobs/{job_id}/outputs": {"post": {
            "summary": "A running job's outputs: the manifest and every file it lists.",
            "parameters": [_JOB_ID],
            "requestBody": {"required": True, "content": {"multipart/form-data": {
                "schema": {"type": "object", "required": ["manifest", "files"], "properties": {
                    "manifest": {"type": "string", "description": "manifest.json"},
                    "files": {"type": "array", "items": {"type": "string",
                                                         "format": "binary"}}}}}}},
            "responses": {"200": _json(_JOB, "Completed"),
                          **_errors(400, 401, 404, 409, 413, 422)}}},
        "/admin/render-jobs/{job_id}/push": {"post": {
            "summary": "Push a completed job's images to the store again.",
            "parameters": [_JOB_ID],
            "responses": {"202": _json(_JOB, "Push queued"), **_errors(401, 404, 409)}}},
        "/admin/render-jobs/{job_id}/design": {"get": {
            "summary": "The job's design file.", "parameters": [_JOB_ID],
            "responses": {"200": {"description": "The image",
                                  "content": {"image/png": {}, "image/jpeg": {}}},
                          **_errors(*admin_errors)}}},
        "/admin/render-jobs/{job_id}/outputs/{name}": {"get": {
            "summary": "One of the job's output files.",
            "parameters": [_JOB_ID, _path_param("name", "An output file name")],
            "responses": {"200": {"description": "The file"}, **_errors(*admin_errors)}}},
        "/admin/render-templates": {
            "get": {"summary": "List render templates.",
                    "parameters": [_query("active", {"type": "boolean"}, "Filter")],
                    "responses": {"200": _json({"type": "object", "properties": {
                        "items": {"type": "array", "items": _TEMPLATE},
                        "total": {"type": "integer"}}}, "Templates"), **_errors(401, 422)}},
            "post": {"summary": "Add a render template.",
                     "requestBody": {"required": True, "content": {
                         "application/json": {"schema": template_body}}},
                     "responses": {"201": _json(_TEMPLATE, "Created"),
                                   **_errors(400, 401, 409, 422)}}},
        "/admin/render-templates/{template_id}": {
            "get": {"summary": "One render template.", "parameters": [_TEMPLATE_ID],
                    "responses": {"200": _json(_TEMPLATE, "The template"),
                                  **_errors(*admin_errors)}},
            "patch": {"summary": "Change a render template.", "parameters": [_TEMPLATE_ID],
                      "requestBody": {"required": True, "content": {
                          "application/json": {"schema": template_body}}},
                      "responses": {"200": _json(_TEMPLATE, "Changed"),
                                    **_errors(400, 401, 404, 422)}},
            "delete": {"summary": "Delete a template no job uses.", "parameters": [_TEMPLATE_ID],
                       "responses": {"204": {"description": "Deleted"},
                                     **_errors(401, 404, 409)}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "T-shirt render sync service", "version": "1"},
        "security": _SECURED,
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["code", "message"],
                          "properties": {"code": {"type": "string"},
                                         "message": {"type": "string"}}},
                "RenderJob": {"type": "object", "required": ["id", "status", "progress"],
                              "properties": {
                                  "id": {"type": "string"},
                                  "product_id": {"type": "string"},
                                  "preset": {"type": "string", "enum": list(PRESET_IDS)},
                                  "status": {"type": "string", "enum": list(JobStatus)},
                                  "progress": {"type": "integer", "minimum": 0,
                                               "maximum": 100},
                                  "media_sync_status": {"type": "string",
                                                        "enum": list(MediaSyncStatus)},
                                  "source": {"type": "string", "enum": list(JobSource)}}},
                "RenderTemplate": template_body,
            },
        },
    }


@bp.get("/openapi.json")
def openapi() -> dict[str, Any]:
    return build_spec()
