"""What the service and queue tests upload to register a template: a minimal glTF garment
written by hand (a valid glTF 2.0 binary: one triangle) and its template.json, sent as the
multipart request `POST /admin/render-templates` takes."""

from __future__ import annotations

import io
import json
import struct
from typing import Any

from common_helpers import multipart

#: The presets the test garment supports.
PRESETS = ["chest-medium", "back-large"]


def glb_bytes(padding: int = 0) -> bytes:
    """A binary glTF holding one triangle; `padding` extra bytes of buffer make it larger."""
    positions = struct.pack("<9f", 0, 0, 0, 1, 0, 0, 0, 1, 0) + bytes(padding)
    document = {
        "asset": {"version": "2.0", "generator": "tshirt tests"},
        "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0, "name": "Shirt"}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
                       "min": [0, 0, 0], "max": [1, 1, 0]}],
        "bufferViews": [{"buffer": 0, "byteLength": 36}],
        "buffers": [{"byteLength": len(positions)}],
    }
    text = json.dumps(document).encode()
    text += b" " * (-len(text) % 4)
    binary = positions + bytes(-len(positions) % 4)
    chunks = (struct.pack("<II", len(text), 0x4E4F534A) + text
              + struct.pack("<II", len(binary), 0x004E4942) + binary)
    return struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks


def template_json(template_id: str = "my-hoodie", model_file: str = "garment.glb",
                  **fields: Any) -> str:
    """A minimal template.json for a foreign model (`fields` add to it or replace)."""
    kind = "blend" if model_file.endswith(".blend") else "gltf"
    data: dict[str, Any] = {
        "id": template_id, "name": "My hoodie", "description": "Bought on a marketplace",
        "model": {"kind": kind, "file": model_file, **({"object": "Shirt"}
                                                        if kind == "blend" else {})},
        "supported_presets": PRESETS, "default_color": "#334455", **fields}
    return json.dumps(data)


def registration(template: str | None = None, model: bytes | None = None,
                 filename: str = "garment.glb") -> dict[str, Any]:
    """The keyword arguments of a Flask test client's POST that registers a template."""
    fields: dict[str, Any] = {"template": template_json() if template is None else template}
    fields["model"] = (io.BytesIO(glb_bytes() if model is None else model), filename)
    return multipart(fields)
