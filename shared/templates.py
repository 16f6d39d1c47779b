"""Shirt templates: which model to render and how its print panels are laid out.

A template is a folder with a ``template.json``; the service lists them, the add-on offers them
and the renderer builds the shirt from one. Standard library only: this module is imported by
the service as well as inside Blender.

``template.json``::

    {
      "id": "classic-tee",
      "name": "Classic crew-neck tee",
      "description": "...",
      "model": {"kind": "procedural", "generator": "classic_tee"}
               | {"kind": "blend", "file": "shirt.blend", "object": "Shirt"},
      "uv_map": "Print",
      "material_slot": "Fabric",
      "print_panels": {"front": {"u_offset": 0}, "back": {"u_offset": 2}},
      "reference_size": "L",
      "supported_presets": ["chest-small", ...],
      "default_color": "#ffffff"
    }
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .colors import parse_color
from .errors import InvalidInput
from .presets import PRESETS
from .validation import check_safe_id

TEMPLATE_FILE = "template.json"
MODEL_KINDS = ("procedural", "blend")
GENERATORS = ("classic_tee",)
REQUIRED_FIELDS = (
    "id", "name", "model", "uv_map", "material_slot", "supported_presets", "default_color",
)
OPTIONAL_FIELDS = ("description", "print_panels", "reference_size", "fabric")
#: The cloth a template's shirt is made of: plain-dyed jersey, or heather (marled) jersey whose
#: lighter and darker fibres average to the shirt colour.
FABRICS = ("jersey", "heather")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@dataclass(frozen=True)
class Template:
    """One shirt template, validated; paths are absolute inside its directory."""

    id: str
    name: str
    description: str
    model_kind: str  # "procedural" | "blend"
    generator: str | None  # procedural: the generator's name
    blend_file: Path | None  # blend: the model file
    object_name: str | None  # blend: the object to append
    uv_map: str
    material_slot: str
    supported_presets: tuple[str, ...]
    default_color: str
    directory: Path
    reference_size: str = "L"
    fabric: str = "jersey"
    print_panels: dict[str, float] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape the service lists (no filesystem paths)."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "model_kind": self.model_kind,
            "uv_map": self.uv_map,
            "material_slot": self.material_slot,
            "supported_presets": list(self.supported_presets),
            "default_color": self.default_color,
            "reference_size": self.reference_size,
        }


def default_templates_root() -> Path:
    """``render_assets/templates`` next to the ``shared`` package.

    In the repository ``shared/`` sits beside ``render_assets/``; in the built add-on both are
    vendored inside the add-on package, which keeps the same relative layout.
    """
    return Path(__file__).resolve().parent.parent / "render_assets" / "templates"


def _invalid(path: Path, message: str) -> InvalidInput:
    return InvalidInput(f"Template {path}: {message}", code="invalid_template")


def _str(data: dict[str, Any], key: str, path: Path) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _invalid(path, f"'{key}' must be a non-empty string.")
    return value


def load_template(directory: str | Path) -> Template:
    """Read and validate ``<directory>/template.json``."""
    directory = Path(directory).resolve()
    path = directory / TEMPLATE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"No {TEMPLATE_FILE} in {directory}.", code="unknown_template") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _invalid(path, f"not readable JSON ({exc}).") from exc
    if not isinstance(data, dict):
        raise _invalid(path, "the top level must be an object.")
    missing = [k for k in REQUIRED_FIELDS if k not in data]
    if missing:
        raise _invalid(path, f"missing field(s): {', '.join(missing)}.")
    unknown = sorted(set(data) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS))
    if unknown:
        raise _invalid(path, f"unknown field(s): {', '.join(unknown)}.")

    template_id = _str(data, "id", path)
    if not _ID_RE.match(template_id):
        raise _invalid(path, "'id' must be lowercase letters, digits and dashes.")
    model = data["model"]
    if not isinstance(model, dict) or model.get("kind") not in MODEL_KINDS:
        raise _invalid(path, f"'model.kind' must be one of {', '.join(MODEL_KINDS)}.")
    generator = blend_file = object_name = None
    if model["kind"] == "procedural":
        generator = _str(model, "generator", path)
        if generator not in GENERATORS:
            raise _invalid(path, f"unknown generator {generator!r}.")
    else:
        rel = _str(model, "file", path)
        blend_file = (directory / rel).resolve()
        if directory not in blend_file.parents:
            raise _invalid(path, "'model.file' must stay inside the template folder.")
        if not blend_file.is_file():
            raise _invalid(path, f"model file {rel!r} does not exist.")
        object_name = _str(model, "object", path)

    presets = data["supported_presets"]
    if not isinstance(presets, list) or not presets or not all(isinstance(p, str) for p in presets):
        raise _invalid(path, "'supported_presets' must be a non-empty list of preset ids.")
    unknown_presets = [p for p in presets if p not in PRESETS]
    if unknown_presets:
        raise _invalid(path, f"unknown preset(s) {', '.join(unknown_presets)}.")
    try:
        default_color = parse_color(_str(data, "default_color", path)).hex
    except InvalidInput as exc:
        raise _invalid(path, f"'default_color': {exc.message}") from None
    panels_raw = data.get("print_panels", {"front": {"u_offset": 0}, "back": {"u_offset": 2}})
    try:
        panels = {str(k): float(v["u_offset"]) for k, v in panels_raw.items()}
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise _invalid(path, "'print_panels' must map a side to {\"u_offset\": number}.") from exc
    fabric = data.get("fabric", "jersey")
    if fabric not in FABRICS:
        raise _invalid(path, f"'fabric' must be one of {', '.join(FABRICS)}.")
    if directory.name != template_id:
        raise _invalid(path, f"'id' {template_id!r} must match the folder name.")
    return Template(
        id=template_id,
        name=_str(data, "name", path),
        description=str(data.get("description", "")),
        model_kind=model["kind"],
        generator=generator,
        blend_file=blend_file,
        object_name=object_name,
        uv_map=_str(data, "uv_map", path),
        material_slot=_str(data, "material_slot", path),
        supported_presets=tuple(presets),
        default_color=default_color,
        directory=directory,
        reference_size=str(data.get("reference_size", "L")),
        fabric=fabric,
        print_panels=panels,
    )


def discover_templates(root: str | Path | None = None) -> dict[str, Template]:
    """All templates under ``root`` (default: the bundled ones), keyed by id, sorted."""
    root = Path(root) if root is not None else default_templates_root()
    if not root.is_dir():
        return {}
    found: dict[str, Template] = {}
    for sub in sorted(p for p in root.iterdir() if (p / TEMPLATE_FILE).is_file()):
        template = load_template(sub)
        found[template.id] = template
    return found


def get_template(template_id: str, root: str | Path | None = None) -> Template:
    """The template with ``template_id`` or an ``unknown_template`` error."""
    templates = discover_templates(root)
    if template_id not in templates:
        known = ", ".join(templates) or "none"
        raise InvalidInput(
            f"Unknown template {template_id!r} (known: {known}).", code="unknown_template"
        )
    return templates[template_id]


def check_template_ref(value: object) -> str:
    """A template id, or the absolute path of a template folder (the CLI's `--template DIR`)."""
    if isinstance(value, str) and Path(value).is_absolute():
        return value
    return check_safe_id(value, "template id")
