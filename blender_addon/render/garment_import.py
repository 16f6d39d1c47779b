"""A foreign garment into the scene: the mesh of a template's .blend object or glTF file, made
safe, still and centred, with its fabric material slot found.

What comes in is the mesh and its materials (and their images), nothing that acts: the file is
never opened as the main file (a .blend object is appended), Python never runs (auto-execution
stays off and every text block that came along is removed), and animation, drivers, shape
keys, constraints, parents, rigs, cameras and lights are dropped. Modifiers that only refine
or thicken the surface the artist modelled are applied into the mesh; the others (armatures,
cloth, deformers) move vertices by rigs, simulations or other objects and are dropped, leaving
the modelled shape. The result is checked against a face limit and against reaching files
outside the template folder (an unpacked image, a linked library).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix

from .._shared import errors, templates

_log = logging.getLogger(__name__)

#: The most faces an imported garment may have once its kept modifiers are applied.
MAX_FACES = 300_000
#: Where the shift that centres the model is kept (metres, added to the template's landmarks).
LANDMARK_OFFSET_PROPERTY = "tshirt_landmark_offset"
#: Where the model's metres per unit are kept (its landmarks are in its own units too).
LANDMARK_SCALE_PROPERTY = "tshirt_landmark_scale"
#: The largest extent of a garment in metres, from a baby's tee to a long sleeve's arm span.
GARMENT_EXTENT_M = (0.25, 2.5)
#: The units a model may be in, by metres per unit: these ranges do not overlap, so a model
#: that is not in metres (glTF's unit, Blender's default) is read as centimetres or
#: millimetres, as garment tools export, without guessing between them.
MODEL_UNITS = {1.0: "metres", 0.01: "centimetres", 0.001: "millimetres"}
#: The strip about the centre line where the neckline's front and back heights are read, and
#: how much higher its front may be before the model counts as facing +Y (a front neck drops
#: 5-10 cm below the back's; a boat neck's hardly does).
NECK_LINE_M = 0.015
NECK_MARGIN_M = 0.01
GARMENT_NAME = "TShirt"
#: Modifiers applied into the mesh (at render settings); every other kind is dropped.
KEPT_MODIFIERS = frozenset({"SUBSURF", "MIRROR", "SOLIDIFY", "WEIGHTED_NORMAL"})
# The datablock kinds an import may add; what it adds and nothing keeps using is removed again.
_KINDS = ("objects", "meshes", "materials", "images", "textures", "node_groups", "texts",
          "actions", "armatures", "cameras", "lights", "curves", "shape_keys", "collections",
          "libraries")


@dataclass(frozen=True)
class ImportedGarment:
    """The garment's mesh object (linked into the build's collection), the index of the
    material slot that is the fabric, and the image feeding that material's base colour."""

    obj: bpy.types.Object
    fabric_slot: int
    detail: bpy.types.Image | None


def _invalid(template: templates.Template, message: str,
             code: str = "invalid_template") -> errors.InvalidInput:
    return errors.InvalidInput(f"Template {template.id!r}: {message}", code=code)


def _snapshot() -> dict[str, set]:
    return {kind: set(getattr(bpy.data, kind)) for kind in _KINDS}


def _added(before: dict[str, set]) -> dict[str, list]:
    return {kind: [i for i in getattr(bpy.data, kind) if i not in before[kind]]
            for kind in _KINDS}


# --------------------------------------------------------------------------------------------
# reading the file


def _append_blend(template: templates.Template) -> list[bpy.types.Object]:
    """The named object, appended (its data and what that uses come with it)."""
    name = template.object_name
    try:
        with bpy.data.libraries.load(str(template.model_file), link=False) as (source, target):
            if name not in source.objects:
                known = ", ".join(sorted(source.objects)[:10]) or "none"
                raise _invalid(template, f"{template.model_file.name} has no object named "
                                         f"{name!r} (it has {known}).")
            target.objects = [name]
    except OSError as exc:  # Blender's reader: not a .blend, truncated, unreadable
        raise _invalid(template, f"{template.model_file.name} cannot be read ({exc}).") from None
    return [o for o in target.objects if o is not None]


def _import_gltf(template: templates.Template) -> None:
    if not hasattr(bpy.types, "IMPORT_SCENE_OT_gltf"):
        import addon_utils  # Blender's own module; the importer ships with Blender

        addon_utils.enable("io_scene_gltf2", default_set=False)
    # Options both 4.2 and 5.0 have, plus 4.4+'s where present: no custom properties from the
    # file's extras, no materials no mesh uses. Images are packed so nothing points at files.
    options = {"import_pack_images": True, "merge_vertices": False, "import_shading": "NORMALS"}
    known = bpy.ops.import_scene.gltf.get_rna_type().properties
    options |= {k: False for k in ("import_scene_extras", "import_unused_materials") if k in known}
    try:
        # the importer logs to stdout, which is the renderer's event stream
        with contextlib.redirect_stdout(sys.stderr):
            result = bpy.ops.import_scene.gltf(filepath=str(template.model_file), **options)
    except RuntimeError as exc:  # the importer reported an error
        # the operator's message is a traceback when the importer itself fails: its last line
        # (before Blender's "Location:") says what went wrong
        _log.info("glTF import of %s failed: %s", template.model_file, exc)
        lines = [x.strip() for x in str(exc).splitlines()
                 if x.strip() and not x.startswith("Location:")]
        last = lines[-1] if lines else "import failed"
        raise _invalid(template, f"{template.model_file.name} cannot be imported ({last}).") \
            from None
    if result != {"FINISHED"}:
        raise _invalid(template, f"{template.model_file.name} cannot be imported.")
    bpy.context.view_layer.update()  # world matrices of the new hierarchy


def _choose_meshes(template: templates.Template, objects: list[bpy.types.Object],
                   by_name: bool) -> list[bpy.types.Object]:
    """The mesh objects that make the garment: the appended object, a glTF's named node, else
    all a glTF's meshes (a garment is often split into body, sleeves, collar and label, and they
    print as one). A name may have gained a ``.001`` beside an artist's object of that name."""
    name = template.object_name
    if by_name and name is not None:
        objects = [o for o in objects if name in (o.name, o.name.rsplit(".", 1)[0])]
        if not objects:
            raise _invalid(template, f"{template.model_file.name} has no object named {name!r}.")
    meshes = [o for o in objects if o.type == "MESH" and len(o.data.polygons)]
    if not meshes:
        what = repr(name) if name is not None else template.model_file.name
        raise _invalid(template, f"{what} holds no mesh.")
    return meshes


# --------------------------------------------------------------------------------------------
# making it still and safe


def _world_matrix(obj: bpy.types.Object) -> Matrix:
    """Where the file put the object: the importer's evaluated matrix for a glTF's objects (in
    the scene), the parent chain's for an appended object (not yet in any scene, so Blender has
    not evaluated it)."""
    if obj.name in bpy.context.view_layer.objects:
        return obj.matrix_world.copy()
    if obj.parent is None:
        return obj.matrix_basis.copy()
    return _world_matrix(obj.parent) @ obj.matrix_parent_inverse @ obj.matrix_basis


def _still(obj: bpy.types.Object) -> None:
    """Bake the world transform into the mesh; drop animation, drivers, shape keys,
    constraints, the parent, custom properties and every modifier that is not kept."""
    world = _world_matrix(obj)
    for key in list(obj.keys()):
        del obj[key]
    obj.animation_data_clear()
    obj.constraints.clear()
    obj.parent = None
    if obj.data.shape_keys is not None:
        obj.shape_key_clear()
    obj.data.animation_data_clear()
    for modifier in list(obj.modifiers):
        if modifier.type not in KEPT_MODIFIERS or not modifier.show_render or (
                modifier.type == "MIRROR" and modifier.mirror_object is not None):
            obj.modifiers.remove(modifier)
    obj.matrix_world = Matrix.Identity(4)
    obj.data.transform(world)
    if world.determinant() < 0:  # a mirrored object: keep the faces pointing out
        obj.data.flip_normals()
    for slot in obj.material_slots:
        if slot.material is not None:
            slot.material.animation_data_clear()
            if slot.material.node_tree is not None:
                slot.material.node_tree.animation_data_clear()


def _estimated_faces(obj: bpy.types.Object) -> int:
    """Faces once the kept modifiers apply: checked before evaluating them, so a subdivision
    level 6 is refused instead of filling the memory."""
    faces = len(obj.data.polygons)
    for modifier in obj.modifiers:
        if modifier.type == "SUBSURF":
            faces *= 4 ** modifier.render_levels
        elif modifier.type == "MIRROR":
            faces *= 2 ** sum(modifier.use_axis)
        elif modifier.type == "SOLIDIFY":
            faces *= 3  # both skins, and a rim at most as long as the open edges
    return faces


def _check_faces(template: templates.Template, faces: int) -> None:
    if faces > MAX_FACES:
        raise _invalid(template, f"the model has {faces:,} faces; a garment may have at most "
                                 f"{MAX_FACES:,} (decimate it, or lower its subdivision).",
                       code="model_too_large")


def _apply_modifiers(obj: bpy.types.Object) -> None:
    if not obj.modifiers:
        return
    for modifier in obj.modifiers:
        if modifier.type == "SUBSURF":
            modifier.levels = modifier.render_levels  # the depsgraph here is the viewport's
    depsgraph = bpy.context.evaluated_depsgraph_get()
    mesh = bpy.data.meshes.new_from_object(obj.evaluated_get(depsgraph),
                                           preserve_all_data_layers=True, depsgraph=depsgraph)
    obj.modifiers.clear()
    old, obj.data = obj.data, mesh
    if old.users == 0:
        bpy.data.meshes.remove(old)


def _check_external_files(template: templates.Template, added: dict[str, list]) -> None:
    """No image or library that came with the model may be read from outside its folder."""
    folder = template.directory
    for image in added["images"]:
        if image.packed_file is not None or image.source not in ("FILE", "SEQUENCE", "TILED"):
            continue
        path = Path(bpy.path.abspath(image.filepath_raw, library=image.library)).resolve()
        if folder not in path.parents:
            raise _invalid(template, f"image {image.name!r} is read from {path}, outside the "
                                     "template folder; pack it into the model or move it in.")
    for library in added["libraries"]:
        path = Path(bpy.path.abspath(library.filepath)).resolve()
        if folder not in path.parents:
            raise _invalid(template, f"the model links data from {path}, outside the "
                                     "template folder; make it local (append) and save again.")


def _remove_leftovers(added: dict[str, list], keep: bpy.types.Object) -> None:
    """Remove what the import brought that the garment does not use: the other objects (rig,
    empties, cameras, lights), the importer's collections and text blocks, then whatever is
    left without users (actions, armatures, unused materials), until nothing more goes."""
    bpy.data.batch_remove([o for o in added["objects"] if o != keep])
    bpy.data.batch_remove(added["collections"] + added["texts"])
    rest = [i for kind in _KINDS if kind not in ("objects", "collections", "texts", "libraries")
            for i in added[kind]]
    while True:
        unused = [i for i in rest if i.users == 0]
        if not unused:
            return
        bpy.data.batch_remove(unused)
        rest = [i for i in rest if i not in set(unused)]


def _join(meshes: list[bpy.types.Object]) -> bpy.types.Object:
    if len(meshes) == 1:
        return meshes[0]
    with bpy.context.temp_override(active_object=meshes[0], object=meshes[0],
                                   selected_objects=meshes, selected_editable_objects=meshes):
        bpy.ops.object.join()
    return meshes[0]


def _coords(obj: bpy.types.Object) -> np.ndarray:
    coords = np.empty(len(obj.data.vertices) * 3)
    obj.data.vertices.foreach_get("co", coords)
    return coords.reshape(-1, 3)


def _metres_per_unit(template: templates.Template, coords: np.ndarray) -> float:
    """The unit the model is in, read from its size (its vertices ``coords``); refuses a model
    no unit makes a garment."""
    extent = float((coords.max(axis=0) - coords.min(axis=0)).max()) if len(coords) else 0.0
    low, high = GARMENT_EXTENT_M
    for scale in MODEL_UNITS:
        if low <= extent * scale <= high:
            return scale
    raise _invalid(template, f"the model is {extent:.4g} units across, which is no garment in "
                             f"metres, centimetres or millimetres ({low}-{high} m); export "
                             f"it in metres.")


def _check_upright(template: templates.Template, coords: np.ndarray) -> None:
    """Refuse a model (its vertices ``coords``, in metres) that is not standing Z up with its
    front toward -Y, which every camera and print assumes: a garment is shallower (Y) than it
    is tall or wide, and its neckline is lower at the front than at the back."""
    width, depth, height = (float(v) for v in coords.max(axis=0) - coords.min(axis=0))
    fix = "export it Z up with its front facing -Y."
    if depth >= height or depth >= width:
        raise _invalid(template, f"the model is not upright: {height:.2f} m tall (Z) but "
                                 f"{depth:.2f} m deep (Y); {fix}")
    centre_x = (coords[:, 0].min() + coords[:, 0].max()) / 2
    mid_y = (coords[:, 1].min() + coords[:, 1].max()) / 2
    line = coords[np.abs(coords[:, 0] - centre_x) < NECK_LINE_M]
    front, back = line[line[:, 1] < mid_y], line[line[:, 1] >= mid_y]
    if len(front) and len(back) and front[:, 2].max() > back[:, 2].max() + NECK_MARGIN_M:
        raise _invalid(template, "the model faces +Y: its neckline is lower at the back "
                                 f"than at the front; {fix}")


def _centre(obj: bpy.types.Object) -> tuple[float, float, float]:
    """Move the mesh so its bounding box is centred on x = y = 0 (the turntable spins the
    object about its origin); the shift, for landmarks given in the model's coordinates."""
    coords = _coords(obj)
    dx, dy = (-(coords[:, i].min() + coords[:, i].max()) / 2 for i in (0, 1))
    obj.data.transform(Matrix.Translation((dx, dy, 0.0)))
    return float(dx), float(dy), 0.0


# --------------------------------------------------------------------------------------------
# the fabric


def fabric_slot_index(obj: bpy.types.Object, material_name: str | None) -> int | None:
    """The slot whose material is ``material_name`` (Blender's ``.001`` suffixes ignored), or
    with no name the slot on the largest share of the surface; None when the name is not
    there."""
    slots = obj.material_slots
    if material_name is not None:
        for index, slot in enumerate(slots):
            if slot.material is not None and (
                    material_name in (slot.material.name, slot.material.name.rsplit(".", 1)[0])):
                return index
        return None
    polygons = obj.data.polygons
    areas = np.empty(len(polygons))
    indices = np.empty(len(polygons), dtype=np.int32)
    polygons.foreach_get("area", areas)
    polygons.foreach_get("material_index", indices)
    per_slot = np.bincount(np.clip(indices, 0, len(slots) - 1), weights=areas,
                           minlength=len(slots))
    return int(np.argmax(per_slot))


def base_color_image(material: bpy.types.Material | None) -> bpy.types.Image | None:
    """The image an Image Texture feeds into the surface shader's base colour, through at most
    a few colour nodes (the glTF importer multiplies a texture by the colour factor)."""
    if material is None or material.node_tree is None:
        return None
    nodes = material.node_tree.nodes
    output = next((n for n in nodes if n.type == "OUTPUT_MATERIAL" and n.is_active_output),
                  next((n for n in nodes if n.type == "OUTPUT_MATERIAL"), None))
    surface = output.inputs["Surface"] if output is not None else None
    if surface is None or not surface.is_linked:
        return None
    shader = surface.links[0].from_node
    socket = shader.inputs.get("Base Color") or shader.inputs.get("Color")
    frontier = [socket] if socket is not None else []
    for _ in range(4):
        upstream = [link.from_node for s in frontier if s.is_linked for link in s.links]
        for node in upstream:
            if node.type == "TEX_IMAGE" and node.image is not None:
                return node.image
        frontier = [s for node in upstream for s in node.inputs if s.type == "RGBA"]
    return None


# --------------------------------------------------------------------------------------------


def load_garment(template: templates.Template,
                 collection: bpy.types.Collection) -> ImportedGarment:
    """Bring a "blend" or "gltf" template's garment into ``collection``.

    Raises ``InvalidInput``: ``invalid_template`` for a file, object or material that is not
    there or reaches outside the folder, ``model_too_large`` over :data:`MAX_FACES`.
    """
    bpy.context.preferences.filepaths.use_scripts_auto_execute = False
    if template.model_kind not in ("blend", "gltf"):
        raise _invalid(template, f"model kind {template.model_kind!r} is not a file.")
    before = _snapshot()
    try:
        appended = _append_blend(template) if template.model_kind == "blend" else None
        if appended is None:
            _import_gltf(template)
        added = _added(before)
        _check_external_files(template, added)
        meshes = _choose_meshes(template, appended or added["objects"],
                                by_name=appended is None)
        for obj in meshes:
            if obj.data.users > 1:  # linked duplicates: each bakes its own transform
                obj.data = obj.data.copy()
            _still(obj)
        _check_faces(template, sum(_estimated_faces(obj) for obj in meshes))
        for obj in meshes:
            for other in list(obj.users_collection):
                other.objects.unlink(obj)
            collection.objects.link(obj)
        obj = _join(meshes)
        _apply_modifiers(obj)
        _check_faces(template, len(obj.data.polygons))
        _remove_leftovers(_added(before), keep=obj)
        coords = _coords(obj)
        scale = _metres_per_unit(template, coords)
        _check_upright(template, coords * scale)
    except Exception:
        _remove_everything(_added(before))
        raise
    obj.name = obj.data.name = GARMENT_NAME
    if scale != 1.0:
        obj.data.transform(Matrix.Scale(scale, 4))
        _log.info("garment %s: modelled in %s, scaled to metres", template.id,
                  MODEL_UNITS[scale])
    obj[LANDMARK_SCALE_PROPERTY] = scale
    obj[LANDMARK_OFFSET_PROPERTY] = _centre(obj)
    if not obj.material_slots:
        obj.data.materials.append(None)  # a slot for the fabric to go into
    slot = fabric_slot_index(obj, template.material_slot)
    if slot is None:
        names = ", ".join(s.material.name for s in obj.material_slots if s.material) or "none"
        _remove_everything(_added(before))
        raise _invalid(template, f"the model has no material {template.material_slot!r} "
                                 f"(it has {names}).")
    detail = base_color_image(obj.material_slots[slot].material)
    _log.debug("garment %s: %d faces, fabric slot %d, detail %s", template.id,
               len(obj.data.polygons), slot, detail.name if detail else None)
    return ImportedGarment(obj=obj, fabric_slot=slot, detail=detail)


def _remove_everything(added: dict[str, list]) -> None:
    """A refused import leaves nothing behind (an artist's scene stays as it was)."""
    for kind in _KINDS:
        items = [i for i in added[kind] if i in set(getattr(bpy.data, kind))]
        if items:
            bpy.data.batch_remove(items)
