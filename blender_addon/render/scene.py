"""The scene builder: a garment, its fabric and prints, studio lights, background and camera.

The renderer talks only to :class:`ShirtScene`; everything about how the product looks lives
behind it (``shirt_mesh`` or ``garment_import``, ``materials``, ``studio``). The garment's
frame (`garment_frame`: its landmarks) is measured once per build and places every print of
every job that follows. Setters are cheap node/transform edits.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import bpy
import numpy as np
from mathutils import Vector

from .._shared import errors, prints, templates
from . import compat, garment_import, materials, print_projection, studio
from .design_image import load_design
from .garment_frame import GarmentFrame, frame_for
from .print_nodes import PrintLayer
from .shirt_mesh import build_shirt_mesh
from .shirt_shape import PART_ATTRIBUTE

_log = logging.getLogger(__name__)

COLLECTION_NAME = "TShirt"
SHIRT_NAME = "TShirt"
DEFAULT_RESOLUTION = 1024
DEFAULT_SAMPLES = 16


def _invalid(message: str, code: str = "invalid_template") -> Exception:
    return errors.InvalidInput(message, code=code)


@dataclass
class ShirtScene:
    """Handle on a built scene; the only API the renderer uses."""

    scene: bpy.types.Scene
    shirt: bpy.types.Object
    camera: bpy.types.Object
    rig: bpy.types.Object
    material: bpy.types.Material
    #: the garment's landmarks, in the shirt object's space
    frame: GarmentFrame

    def set_color(self, linear_rgb: tuple[float, float, float]) -> None:
        """Shirt colour as linear RGB (convert hex/CSS colours with ``shared.colors`` first)."""
        materials.set_fabric_color(self.material, linear_rgb)

    def set_prints(self, items: Sequence[tuple[str, prints.PlacedPrint]]) -> None:
        """Print each (design file, placed print), later over earlier. Each file is loaded
        once, normalised as every design prints; the images they replace (generated ones,
        nobody else's) are removed so a batch does not pile them up."""
        projectors = [print_projection.projector_for(placed, self.frame) for _, placed in items]
        old = [image for image in materials.print_images(self.material) if image is not None]
        loaded: dict[str, bpy.types.Image] = {}
        try:
            for path, _ in items:
                if str(path) not in loaded:
                    loaded[str(path)] = load_design(path)
        except BaseException:
            for image in loaded.values():
                bpy.data.images.remove(image)
            raise
        materials.set_prints(self.material, [
            PrintLayer(loaded[str(path)], projector)
            for (path, _), projector in zip(items, projectors, strict=True)])
        for image in set(old) - set(loaded.values()):
            bpy.data.images.remove(image)

    def clear_prints(self) -> None:
        self.set_prints([])

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
    # scene only ours); images last, once the materials that showed them are gone
    ours = ("TShirt", "ClassicTee", materials.FABRIC_MATERIAL_NAME)
    for block in (bpy.data.meshes, bpy.data.lights, bpy.data.cameras, bpy.data.materials,
                  bpy.data.images):
        for item in list(block):
            if item.users == 0 and (everything or item.name.startswith(ours)):
                block.remove(item)


def _garment(template: templates.Template | None, collection: bpy.types.Collection
             ) -> tuple[bpy.types.Object, int | None, bpy.types.Image | None]:
    """The garment object, the material slot our fabric takes (None: a new one) and the
    texture whose detail the fabric keeps."""
    if template is not None and template.model_kind in ("blend", "gltf"):
        garment = garment_import.load_garment(template, collection)
        return garment.obj, garment.fabric_slot, garment.detail
    if template is not None and template.model_kind != "procedural":
        raise _invalid(f"Template {template.id!r}: unknown model kind {template.model_kind!r}.")
    mesh = build_shirt_mesh(SHIRT_NAME, template.generator if template else "classic_tee")
    obj = bpy.data.objects.new(SHIRT_NAME, mesh)
    collection.objects.link(obj)
    return obj, None, None


def _silhouette(obj: bpy.types.Object) -> tuple[Vector, np.ndarray]:
    """The point the camera aims at (on the Z axis, halfway up the garment) and the points that
    bound the garment, relative to it (N x 3, world axes): every vertex, or the bounding box's
    corners of a very large mesh."""
    if obj.type == "MESH" and len(obj.data.vertices) < 200_000:
        local = np.empty(len(obj.data.vertices) * 3)
        obj.data.vertices.foreach_get("co", local)
        local = local.reshape(-1, 3)
    else:
        local = np.array(obj.bound_box)
    world = np.array(obj.matrix_world)
    points = local @ world[:3, :3].T + world[:3, 3]
    middle = (points[:, 2].min() + points[:, 2].max()) / 2
    return Vector((0.0, 0.0, middle)), points - (0.0, 0.0, middle)


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

    shirt, slot, detail = _garment(template, collection)
    material = materials.build_fabric_material(seams=PART_ATTRIBUTE in shirt.data.attributes)
    if slot is None:
        shirt.data.materials.append(material)
    else:  # only the fabric's slot: labels, buttons and drawstrings keep their materials
        shirt.material_slots[slot].material = material
    materials.set_fabric_detail(material, detail)
    materials.set_fabric_color(material, (1.0, 1.0, 1.0))
    materials.set_heather(material, 1.0 if template is not None and template.fabric == "heather"
                          else 0.0)
    frame = frame_for(shirt, template)

    target, points = _silhouette(shirt)
    rig, camera = studio.build_rig(collection, target, studio.camera_distance(points))
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
    return ShirtScene(scene=scene, shirt=shirt, camera=camera, rig=rig, material=material,
                      frame=frame)
