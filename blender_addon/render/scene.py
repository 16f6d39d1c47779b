"""The scene builder: a shirt, its fabric and print, studio lights, background and camera.

The renderer and the add-on's live preview talk only to :class:`ShirtScene`; everything about
how the product looks lives behind it (``shirt_mesh``, ``materials``, ``studio``). Setters are
cheap node/transform edits so the preview can call them on every property change.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import bpy
from mathutils import Vector

from .._shared import errors, templates
from . import compat, materials, studio
from .design_image import load_design
from .shirt_mesh import build_shirt_mesh
from .shirt_shape import PART_ATTRIBUTE, UV_MAP_NAME

_log = logging.getLogger(__name__)

COLLECTION_NAME = "TShirt"
SHIRT_NAME = "TShirt"
DEFAULT_RESOLUTION = 1024
DEFAULT_SAMPLES = 16


def _invalid(message: str, code: str = "invalid_template") -> Exception:
    return errors.InvalidInput(message, code=code)


@dataclass
class PrintPlacement:
    """Where the design goes: a panel side and a box in panel coordinates (x, y, w, h; y down)."""

    side: str  # "front" | "back"
    box: tuple[float, float, float, float]


@dataclass
class ShirtScene:
    """Handle on a built scene; the only API the renderer and the preview use."""

    scene: bpy.types.Scene
    shirt: bpy.types.Object
    camera: bpy.types.Object
    rig: bpy.types.Object
    material: bpy.types.Material

    def set_color(self, linear_rgb: tuple[float, float, float]) -> None:
        """Shirt colour as linear RGB (convert hex/CSS colours with ``shared.colors`` first)."""
        materials.set_fabric_color(self.material, linear_rgb)

    def set_design(self, image_path: str, placement: PrintPlacement) -> None:
        """Load the design, normalised as every design prints, and place it; the image it
        replaces (a generated one, nobody else's) is removed so a batch does not pile them up."""
        old = materials.print_image(self.material)
        image = load_design(image_path)
        materials.set_print(self.material, image, placement.side, tuple(placement.box))
        if old is not None:
            bpy.data.images.remove(old)

    def clear_design(self) -> None:
        materials.set_print(self.material, None)

    def set_background(
        self, kind: str, linear_rgb: tuple[float, float, float] | None = None
    ) -> None:
        """``"transparent"`` (default), ``"color"`` (with a linear RGB) or ``"studio"``."""
        studio.set_background(self.scene, kind, linear_rgb)

    def aim_camera(self, azimuth_deg: float) -> None:
        """0 = front, 90 = wearer's left (+X), 180 = back, 270 = -X; counter-clockwise."""
        studio.aim_rig(self.rig, azimuth_deg)

    def set_turntable(self, frames: int) -> None:
        """Turn the shirt 360 degrees over frames 1..frames as a seamless linear loop.

        Frame ``frames + 1`` would equal frame 1, so the loop has no doubled frame.
        """
        if frames < 2:
            raise ValueError("A turntable needs at least 2 frames.")
        self.aim_camera(0.0)
        shirt = self.shirt
        shirt.animation_data_clear()
        shirt.rotation_mode = "XYZ"
        shirt.rotation_euler = (0.0, 0.0, 0.0)
        shirt.keyframe_insert("rotation_euler", index=2, frame=1)
        shirt.rotation_euler = (0.0, 0.0, 2.0 * math.pi)
        shirt.keyframe_insert("rotation_euler", index=2, frame=frames + 1)
        for fcurve in compat.action_fcurves(shirt):
            for key in fcurve.keyframe_points:
                key.interpolation = "LINEAR"
            fcurve.extrapolation = "LINEAR"
        self.scene.frame_start = 1
        self.scene.frame_end = frames
        self.scene.frame_set(1)

    def clear_turntable(self) -> None:
        """Back to a still shirt facing front."""
        self.shirt.animation_data_clear()
        self.shirt.rotation_euler = (0.0, 0.0, 0.0)


# --------------------------------------------------------------------------------------------
# building


def _clear_scene(scene: bpy.types.Scene, everything: bool) -> None:
    """Remove what a previous build made (or, for a fresh render scene, every object)."""
    old = bpy.data.collections.get(COLLECTION_NAME)
    doomed = set(scene.objects) if everything else set()
    if old is not None:
        doomed |= set(old.all_objects)
    for obj in doomed:
        bpy.data.objects.remove(obj, do_unlink=True)
    if old is not None:
        bpy.data.collections.remove(old)
    # drop the datablocks those objects left behind (only unused ones, and in an artist's
    # scene only ours)
    ours = ("TShirt", "ClassicTee", materials.FABRIC_MATERIAL_NAME)
    for block in (bpy.data.meshes, bpy.data.lights, bpy.data.cameras, bpy.data.materials):
        for item in list(block):
            if item.users == 0 and (everything or item.name.startswith(ours)):
                block.remove(item)


def _procedural_shirt(collection: bpy.types.Collection) -> bpy.types.Object:
    mesh = build_shirt_mesh("ClassicTee")
    obj = bpy.data.objects.new(SHIRT_NAME, mesh)
    collection.objects.link(obj)
    return obj


def _blend_shirt(template: templates.Template,
                 collection: bpy.types.Collection) -> bpy.types.Object:
    """Append the template's object and check the contract (UV map and material slot)."""
    path = str(template.blend_file)
    with bpy.data.libraries.load(path, link=False) as (src, dst):
        if template.object_name not in src.objects:
            raise _invalid(
                f"Template {template.id!r}: {Path(path).name} has no object "
                f"named {template.object_name!r}."
            )
        dst.objects = [template.object_name]
    obj = dst.objects[0]
    if obj is None or obj.type != "MESH":
        raise _invalid(f"Template {template.id!r}: {template.object_name!r} is not a mesh.")
    collection.objects.link(obj)
    obj.animation_data_clear()
    obj.parent = None
    if template.uv_map not in obj.data.uv_layers:
        raise _invalid(f"Template {template.id!r}: the shirt has no UV map {template.uv_map!r}.")
    if not any(s.material and s.material.name.split(".")[0] == template.material_slot
               for s in obj.material_slots):
        raise _invalid(
            f"Template {template.id!r}: the shirt has no material slot {template.material_slot!r}."
        )
    return obj


def _assign_fabric(obj: bpy.types.Object, mat: bpy.types.Material, slot_name: str) -> None:
    """Put our fabric material into the slot named ``slot_name`` (or the only slot)."""
    if not obj.material_slots:
        obj.data.materials.append(mat)
        return
    for slot in obj.material_slots:
        if slot.material is None or slot.material.name.split(".")[0] == slot_name:
            slot.link = "DATA"
            slot.material = mat
            return
    obj.data.materials.append(mat)


def _silhouette(obj: bpy.types.Object) -> tuple[Vector, float]:
    """Centre and radius that bound the shirt's silhouette from any azimuth (world space)."""
    mw = obj.matrix_world
    pts = [mw @ Vector(c) for c in obj.bound_box]
    if obj.type == "MESH" and len(obj.data.vertices) < 200_000:
        pts = [mw @ v.co for v in obj.data.vertices]
    zmin = min(p.z for p in pts)
    zmax = max(p.z for p in pts)
    radius = max(math.hypot(p.x, p.y) for p in pts)
    half = max(radius, (zmax - zmin) / 2)
    return Vector((0.0, 0.0, (zmin + zmax) / 2)), half


def build_scene(
    template: templates.Template | None = None,
    *,
    scene: bpy.types.Scene | None = None,
    resolution: int = DEFAULT_RESOLUTION,
    samples: int = DEFAULT_SAMPLES,
) -> ShirtScene:
    """Build the shirt, its material, the studio and the camera into a scene.

    Without ``scene`` the current scene is emptied and used (the headless renderer's case);
    with one, only a previous build's objects are replaced, so an artist's scene survives.
    """
    if scene is None:
        scene = bpy.context.scene
        _clear_scene(scene, everything=True)
    else:
        _clear_scene(scene, everything=False)
    collection = bpy.data.collections.new(COLLECTION_NAME)
    scene.collection.children.link(collection)

    slot_name = materials.FABRIC_MATERIAL_NAME
    if template is None or template.model_kind == "procedural":
        if template is not None and template.generator not in (None, "classic_tee"):
            raise _invalid(f"Template {template.id!r}: unknown generator {template.generator!r}.")
        shirt = _procedural_shirt(collection)
    elif template.model_kind == "blend":
        shirt = _blend_shirt(template, collection)
        slot_name = template.material_slot
        uv_name = template.uv_map
        if uv_name != UV_MAP_NAME:
            raise _invalid(f"Template {template.id!r}: the print UV map must be named 'Print'.")
    else:
        raise _invalid(f"Template {template.id!r}: unknown model kind {template.model_kind!r}.")

    material = materials.build_fabric_material(seams=PART_ATTRIBUTE in shirt.data.attributes)
    _assign_fabric(shirt, material, slot_name)
    # an appended shirt brings its own "Fabric" material; ours takes over the exact name so
    # the slot keeps reading "Fabric" (the contract an artist's model is checked against)
    previous = bpy.data.materials.get(slot_name)
    if previous is not None and previous != material and previous.users == 0:
        bpy.data.materials.remove(previous)
    if bpy.data.materials.get(slot_name) is None:
        material.name = slot_name
    materials.set_fabric_color(material, (1.0, 1.0, 1.0))
    materials.set_heather(material, 1.0 if template is not None and template.fabric == "heather"
                          else 0.0)

    target, half_extent = _silhouette(shirt)
    rig, camera = studio.build_rig(collection, target, half_extent)
    scene.camera = camera
    studio.build_world(scene)
    studio.configure_render(scene, resolution=resolution, samples=samples)
    studio.set_background(scene, "transparent")
    scene.frame_start = scene.frame_current = 1
    _log.debug(
        "built shirt %s: %d faces, attribute %s",
        shirt.name,
        len(shirt.data.polygons),
        PART_ATTRIBUTE in shirt.data.attributes,
    )
    return ShirtScene(scene=scene, shirt=shirt, camera=camera, rig=rig, material=material)
