"""Shirt templates: which garment to render, what it is made of and where its landmarks are.

A template is a folder with a ``template.json``; the service lists them, the add-on offers them
and the renderer builds the shirt from one. Standard library only: this module is imported by
the service as well as inside Blender.

``template.json`` (a foreign model needs only the first five fields)::

    {
      "id": "classic-tee",
      "name": "Classic crew-neck tee",
      "model": {"kind": "procedural", "generator": "classic_tee"}
               | {"kind": "blend", "file": "shirt.blend", "object": "Shirt"}
               | {"kind": "gltf", "file": "shirt.glb"},   # optional "object": one node's mesh
      "supported_presets": ["chest-small", ...],
      "default_color": "#ffffff",

      "description": "...",
      "material_slot": "Fabric",     # the fabric material's name; else the one on most surface
      "uv_map": "Print",
      "size": "L",                   # the garment size it represents ("reference_size" too)
      "landmarks": {"collar_front": [x, y, z], ...},  # the model's coordinates and units
      "fabric": "jersey"
    }

A version-1 template's `print_panels` (where its UV layout put the panels) is still accepted
and ignored: prints are projected from the landmarks now, never read through a UV map.

Landmarks are in the coordinates the model has once in Blender (a glTF file's after the
importer's Y-up to Z-up turn); the renderer adds the shift it makes when it centres the model.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .colors import parse_color
from .errors import InvalidInput
from .presets import PRESETS
from .template_files import check_model_file
from .validation import check_safe_id

TEMPLATE_FILE = "template.json"
MODEL_KINDS = ("procedural", "blend", "gltf")
GENERATORS = ("classic_tee", "long_sleeve_tee")
REQUIRED_FIELDS = ("id", "name", "model", "supported_presets", "default_color")
OPTIONAL_FIELDS = (
    "description", "uv_map", "material_slot", "print_panels", "size", "reference_size", "fabric",
    "landmarks",
)
#: Points a template may give instead of the renderer measuring them on the mesh: the collar
#: seam at centre front and centre back, the hem (at centre front), each sleeve's outer centre.
LANDMARK_NAMES = ("collar_front", "collar_back", "hem", "sleeve_left", "sleeve_right")
#: No garment is larger than this (metres from the model's origin); beyond it is a unit mix-up.
MAX_LANDMARK_M = 100.0
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
    model_kind: str  # "procedural" | "blend" | "gltf"
    generator: str | None  # procedural: the generator's name
    model_file: Path | None  # blend, gltf: the model file, inside ``directory``
    object_name: str | None  # blend: the object to append; gltf: the one node to take, if any
    uv_map: str | None
    material_slot: str | None  # the fabric material's name; None: the one on most surface
    supported_presets: tuple[str, ...]
    default_color: str
    directory: Path
    reference_size: str = "L"
    fabric: str = "jersey"
    #: metres, the model's Blender coordinates; keys from LANDMARK_NAMES (empty: all measured)
    landmarks: dict[str, tuple[float, float, float]] = field(
        default_factory=dict, compare=False, hash=False)

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


def _optional_str(data: dict[str, Any], key: str, path: Path) -> str | None:
    return None if data.get(key) is None else _str(data, key, path)


def _model(
    model: object, directory: Path, path: Path
) -> tuple[str, str | None, Path | None, str | None]:
    """``model``'s kind, generator, checked model file and object name."""
    if not isinstance(model, dict) or model.get("kind") not in MODEL_KINDS:
        raise _invalid(path, f"'model.kind' must be one of {', '.join(MODEL_KINDS)}.")
    kind = model["kind"]
    if kind == "procedural":
        generator = _str(model, "generator", path)
        if generator not in GENERATORS:
            raise _invalid(path, f"unknown generator {generator!r}.")
        return kind, generator, None, None
    object_name = (_str(model, "object", path) if kind == "blend"
                   else _optional_str(model, "object", path))
    try:
        model_file = check_model_file(directory, _str(model, "file", path), kind)
    except InvalidInput as exc:  # name the template; keep the code (and a 413's class)
        raise type(exc)(f"Template {path}: {exc.message}", code=exc.code) from None
    return kind, None, model_file, object_name


def _landmarks(raw: object, path: Path) -> dict[str, tuple[float, float, float]]:
    if not isinstance(raw, dict):
        raise _invalid(path, "'landmarks' must map a landmark name to [x, y, z].")
    unknown = sorted(set(raw) - set(LANDMARK_NAMES))
    if unknown:
        raise _invalid(path, f"unknown landmark(s) {', '.join(unknown)}; known: "
                             f"{', '.join(LANDMARK_NAMES)}.")
    found = {}
    for name, point in raw.items():
        if (not isinstance(point, list) or len(point) != 3
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                           and math.isfinite(v) and abs(v) <= MAX_LANDMARK_M for v in point)):
            raise _invalid(path, f"landmark {name!r} must be [x, y, z]: three finite numbers "
                                 f"of metres (at most {MAX_LANDMARK_M:g} from the origin).")
        found[name] = (float(point[0]), float(point[1]), float(point[2]))
    return found


def _size(data: dict[str, Any], path: Path) -> str:
    """The garment size the model represents: ``size``, or its older name ``reference_size``."""
    given = {_str(data, key, path) for key in ("size", "reference_size") if key in data}
    if len(given) > 1:
        raise _invalid(path, "'size' and 'reference_size' name the same thing; give one.")
    return given.pop() if given else "L"


def load_template(directory: str | Path) -> Template:
    """Read and validate ``<directory>/template.json``; a model file is checked last (by
    ``template_files``), after everything cheap."""
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
    if directory.name != template_id:
        raise _invalid(path, f"'id' {template_id!r} must match the folder name.")
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
    fabric = data.get("fabric", "jersey")
    if fabric not in FABRICS:
        raise _invalid(path, f"'fabric' must be one of {', '.join(FABRICS)}.")
    landmarks = _landmarks(data.get("landmarks", {}), path)
    kind, generator, model_file, object_name = _model(data["model"], directory, path)
    return Template(
        id=template_id,
        name=_str(data, "name", path),
        description=str(data.get("description", "")),
        model_kind=kind,
        generator=generator,
        model_file=model_file,
        object_name=object_name,
        uv_map=_optional_str(data, "uv_map", path),
        material_slot=_optional_str(data, "material_slot", path),
        supported_presets=tuple(presets),
        default_color=default_color,
        directory=directory,
        reference_size=_size(data, path),
        fabric=fabric,
        landmarks=landmarks,
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
