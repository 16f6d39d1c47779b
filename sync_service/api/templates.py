"""`/admin/render-templates`: the shirt models jobs can use."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from flask import Blueprint, Response, current_app, request, send_file
from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge

from shared.colors import parse_color
from shared.errors import InvalidInput, NotFound
from shared.presets import get_preset
from shared.templates import default_templates_root
from shared.validation import check_safe_id

from ..db import get_session
from ..errors import BadRequest, Conflict
from ..jobs import registered_templates as registered
from ..jobs.storage import Storage
from ..models import RenderJob, RenderTemplate, utcnow
from . import bodies
from .render_jobs import iso

bp = Blueprint("templates", __name__)

EDITABLE = ("name", "description", "model_path", "thumbnail_path", "supported_presets",
            "default_color", "active", "is_default")


def template_to_dict(t: RenderTemplate) -> dict[str, Any]:
    return {
        "id": t.id, "name": t.name, "description": t.description, "model_path": t.model_path,
        "thumbnail_path": t.thumbnail_path, "supported_presets": list(t.supported_presets),
        "default_color": t.default_color, "active": t.active, "is_default": t.is_default,
        "created_at": iso(t.created_at), "updated_at": iso(t.updated_at),
    }


def _body() -> dict[str, Any]:
    return bodies.json_object(
        "The body must be a JSON object (Content-Type: application/json).")


def _text(data: dict[str, Any], key: str, limit: int, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise BadRequest(f"The field {key!r} is required.")
        return None
    # NUL too: PostgreSQL's text cannot hold it (the insert would fail, not the request).
    if (not isinstance(value, str) or (required and not value.strip()) or len(value) > limit
            or "\0" in value):
        raise InvalidInput(f"{key} must be text of at most {limit} characters.")
    return value


def _location(data: dict[str, Any], key: str) -> str | None:
    """A location relative to the templates root: never absolute, never climbing out."""
    value = _text(data, key, 500)
    if value is None:
        return None
    path = PurePosixPath(value.replace("\\", "/"))
    if not value or path.is_absolute() or ".." in path.parts or ":" in value or "\0" in value:
        raise InvalidInput(f"{key} must be a relative location inside the templates folder.")
    return path.as_posix()


def _validated(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    unknown = sorted(set(data) - set(EDITABLE) - ({"id"} if creating else set()))
    if unknown:
        raise InvalidInput(f"Unknown field(s): {', '.join(unknown)}.")
    values: dict[str, Any] = {}
    if "name" in data or creating:
        values["name"] = _text(data, "name", 200, required=True)
    if "description" in data:
        values["description"] = _text(data, "description", 5000) or ""
    for key in ("model_path", "thumbnail_path"):
        if key in data:
            values[key] = _location(data, key)
    if "supported_presets" in data:
        presets = data["supported_presets"]
        if not isinstance(presets, list) or not all(isinstance(p, str) for p in presets):
            raise InvalidInput("supported_presets must be a list of preset ids.")
        values["supported_presets"] = list(dict.fromkeys(get_preset(p).id for p in presets))
    if "default_color" in data:
        values["default_color"] = parse_color(data["default_color"]).hex
    for key in ("active", "is_default"):
        if key in data:
            if not isinstance(data[key], bool):
                raise InvalidInput(f"{key} must be true or false.")
            values[key] = data[key]
    return values


def _get(template_id: str) -> RenderTemplate:
    template = get_session().get(RenderTemplate, template_id)
    if template is None:
        raise NotFound(f"No render template {template_id!r}.")
    return template


def _clear_other_defaults(template_id: str) -> None:
    get_session().execute(
        update(RenderTemplate).where(RenderTemplate.id != template_id, RenderTemplate.is_default)
        .values(is_default=False).execution_options(synchronize_session=False)
    )


@bp.get("/render-templates")
def list_templates() -> dict[str, Any]:
    stmt = select(RenderTemplate).order_by(RenderTemplate.id)
    if "active" in request.args:
        active = request.args["active"].lower()
        if active not in ("true", "false"):
            raise InvalidInput("active must be true or false.")
        stmt = stmt.where(RenderTemplate.active == (active == "true"))
    items = get_session().scalars(stmt).all()
    return {"items": [template_to_dict(t) for t in items], "total": len(items)}


def _storage() -> Storage:
    return current_app.extensions["tshirt"].storage


def _refuse_taken(template_id: str) -> None:
    if get_session().get(RenderTemplate, template_id) is not None:
        raise Conflict(f"Template {template_id!r} already exists.", code="already_exists")


@bp.post("/render-templates")
def create_template() -> tuple[dict[str, Any], int]:
    """A template row from JSON (metadata only), or a template with its model (multipart)."""
    if request.mimetype == "multipart/form-data":
        return _register()
    data = _body()
    if "id" not in data:
        raise BadRequest("The field 'id' is required.")
    template_id = check_safe_id(data["id"], "template id")
    values = _validated(data, creating=True)
    session = get_session()
    _refuse_taken(template_id)
    template = RenderTemplate(id=template_id, description="", supported_presets=[],
                              default_color="#ffffff", active=True, is_default=False)
    for key, value in values.items():
        setattr(template, key, value)
    if template.is_default:
        _clear_other_defaults(template_id)
    session.add(template)
    session.commit()
    return template_to_dict(template), 201


def _template_text() -> str:
    """The `template` part: a form field, or a file part (`curl -F template=@template.json`)."""
    text: str | bytes | None = request.form.get("template")
    if text is None and "template" in request.files:
        text = request.files["template"].stream.read(registered.MAX_TEMPLATE_JSON_BYTES + 1)
    if not text:
        raise BadRequest("Send template.json as a multipart field named 'template'.")
    if len(text) > registered.MAX_TEMPLATE_JSON_BYTES:
        raise InvalidInput("template.json is larger than "
                           f"{registered.MAX_TEMPLATE_JSON_BYTES // 1024} KB.",
                           code="invalid_template")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("template.json must be UTF-8.", code="invalid_template") \
                from None
    return text


def _register() -> tuple[dict[str, Any], int]:
    """Store a template and its model under the data directory, validated first; a refused
    upload leaves no row and no file (see `jobs.registered_templates`)."""
    request.max_content_length = registered.max_request_bytes()
    request.max_form_memory_size = registered.MAX_TEMPLATE_JSON_BYTES
    try:
        text = _template_text()
        upload = request.files.get("model")
    except RequestEntityTooLarge:
        raise registered.too_large() from None
    if upload is None or not upload.filename:
        raise BadRequest("Send the model as a multipart file field named 'model'.")
    draft = registered.read_draft(text)
    if upload.filename != draft.model_name:
        raise InvalidInput(f"The model file is named {upload.filename!r} but template.json's "
                           f"'model.file' says {draft.model_name!r}.", code="invalid_template")
    _refuse_taken(draft.template_id)
    if (default_templates_root() / draft.template_id).is_dir():
        raise Conflict(f"{draft.template_id!r} is the id of a bundled template.",
                       code="already_exists")
    storage = _storage()
    session = get_session()
    with registered.staging(storage) as staging:
        template = staging.write(draft, text, upload.save)
        staging.install(draft)
        try:
            row = RenderTemplate(
                id=template.id, name=template.name, description=template.description,
                model_path=registered.model_location(draft), thumbnail_path=None,
                supported_presets=list(template.supported_presets),
                default_color=template.default_color, active=True, is_default=False)
            session.add(row)
            session.commit()
        except BaseException as error:
            session.rollback()
            registered.remove(storage, draft.template_id)
            if isinstance(error, IntegrityError):  # a JSON POST of the same id won the race
                raise Conflict(f"Template {template.id!r} already exists.",
                               code="already_exists") from None
            raise
    return template_to_dict(row), 201


@bp.get("/render-templates/<template_id>")
def get_template(template_id: str) -> dict[str, Any]:
    return template_to_dict(_get(template_id))


@bp.get("/render-templates/<template_id>/files")
def list_template_files(template_id: str) -> dict[str, Any]:
    """A registered template's files with their digests (a remote worker's cache key); empty
    for a bundled or metadata-only template."""
    _get(template_id)
    return {"items": [f.to_dict() for f in registered.stored_files(_storage(), template_id)]}


@bp.get("/render-templates/<template_id>/files/<name>")
def template_file(template_id: str, name: str) -> Response:
    """One of a registered template's files: the name must be one of them, and the path comes
    from the template's folder, never from the URL."""
    _get(template_id)
    path = registered.stored_file(_storage(), template_id, name)
    return send_file(path, mimetype="application/octet-stream", max_age=3600, conditional=True,
                     etag=True)


@bp.patch("/render-templates/<template_id>")
def patch_template(template_id: str) -> dict[str, Any]:
    template = _get(template_id)
    values = _validated(_body(), creating=False)
    if "model_path" in values and registered.is_registered(_storage(), template_id):
        raise InvalidInput(f"Template {template_id!r} was registered with its model, which "
                           "stays where the service stored it.", code="invalid_template")
    for key, value in values.items():
        setattr(template, key, value)
    template.updated_at = utcnow()
    if values.get("is_default"):
        _clear_other_defaults(template_id)
    get_session().commit()
    return template_to_dict(template)


@bp.delete("/render-templates/<template_id>")
def delete_template(template_id: str) -> Response:
    session = get_session()
    template = _get(template_id)
    if session.scalar(select(exists().where(RenderJob.template_id == template_id))):
        raise Conflict(f"Jobs use template {template_id!r}; deactivate it instead "
                       "(PATCH active=false).", code="template_in_use")
    session.delete(template)
    session.commit()
    registered.remove(_storage(), template_id)
    return Response(status=204)
