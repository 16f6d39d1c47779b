"""The artist's own object as the shirt: "Use Selected Object as Shirt", landmarks picked at the
3D cursor, and "Save as Template" (a template folder holding the object as a .glb).

Scripting (``bpy.ops.tshirt.*``)::

    bpy.ops.tshirt.use_selected_as_shirt()      # the active mesh object becomes the shirt
    bpy.ops.tshirt.set_landmark(landmark="collar_front")   # at the 3D cursor
    bpy.ops.tshirt.set_landmark(landmark="hem", clear=True)  # measured again
    bpy.ops.tshirt.save_template(directory="/path/my-tee")   # a new or empty folder

The landmarks the artist picks live on the object (custom property ``tshirt_landmarks``, in the
object's own space, so they move with it); the others are measured on its mesh
(`render.garment_frame`), as the renderer measures a template's model. The object's own fabric
material is remembered while ours shows in its slot, so the saved model carries the artist's
material (the renderer puts ours back, keeping its texture's detail) and releasing the object
puts it back.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace

import bpy
from bpy.props import BoolProperty, EnumProperty, StringProperty
from mathutils import Vector

from .._shared import colors, errors, presets, templates
from ..render import garment_frame, garment_import, materials
from . import preview

_log = logging.getLogger(__name__)

#: Custom properties on the artist's object while it is the shirt (and after, the landmarks).
OWN_SHIRT = "tshirt_own_shirt"
LANDMARKS = "tshirt_landmarks"
ORIGINAL_FABRIC = "tshirt_original_fabric"
FABRIC_SLOT = "tshirt_fabric_slot"
#: Marks the fabric materials built here, so a second "Use Selected" does not take ours for
#: the object's own.
OUR_FABRIC = "tshirt_preview_fabric"
MODEL_FILE = "garment.glb"
#: A picked point farther than this from the surface is a cursor left in the air.
MAX_CURSOR_GAP_M = 0.05
#: A real shirt is about this tall (metres); far outside it the object is in other units.
PLAUSIBLE_HEIGHT_M = (0.3, 1.5)
LANDMARK_LABELS = {
    "collar_front": "Collar front", "collar_back": "Collar back", "hem": "Hem",
    "sleeve_left": "Left sleeve", "sleeve_right": "Right sleeve",
}
_LANDMARK_ITEMS = [(name, LANDMARK_LABELS[name], "") for name in templates.LANDMARK_NAMES]


# ---------------------------------------------------------------------------------------------
# the shirt and its landmarks (plain functions the operators call)


def own_shirt(context: bpy.types.Context) -> bpy.types.Object | None:
    """The artist's object that is the preview shirt now, if one is."""
    obj = context.scene.tshirt.preview_shirt
    return obj if obj is not None and obj.get(OWN_SHIRT) else None


def picked_landmarks(obj: bpy.types.Object) -> dict[str, tuple[float, float, float]]:
    """The landmarks the artist picked on ``obj``, in its own space."""
    stored = obj.get(LANDMARKS)
    if stored is None:
        return {}
    return {name: tuple(float(c) for c in stored[name])
            for name in templates.LANDMARK_NAMES if name in stored}


def shirt_frame(obj: bpy.types.Object) -> garment_frame.GarmentFrame:
    """``obj``'s garment frame: its picked landmarks, the rest measured on its mesh."""
    return garment_frame.frame_for(obj, SimpleNamespace(landmarks=picked_landmarks(obj)))


def release_shirt(obj: bpy.types.Object) -> None:
    """``obj`` is no longer the shirt: its own material goes back into the fabric slot (the
    picked landmarks stay for next time)."""
    slot = obj.get(FABRIC_SLOT)
    if slot is not None and slot < len(obj.material_slots):
        obj.material_slots[slot].material = obj.get(ORIGINAL_FABRIC)
    for key in (OWN_SHIRT, FABRIC_SLOT, ORIGINAL_FABRIC):
        if key in obj:
            del obj[key]


def use_as_shirt(context: bpy.types.Context, obj: bpy.types.Object | None) -> list[str]:
    """Make ``obj`` the preview shirt; the sentences to report (the first says what happened,
    any others are warnings)."""
    if obj is None or obj.type != "MESH" or not obj.data.polygons:
        raise errors.InvalidInput("Select the shirt: the active object must be a mesh with "
                                  "faces.", code="invalid_input")
    settings = context.scene.tshirt
    frame = shirt_frame(obj)  # before any change: a mesh it cannot measure is left as it was
    earlier = settings.preview_material
    previous = settings.preview_shirt
    if previous is not None and previous != obj:
        if previous.get(OWN_SHIRT):
            release_shirt(previous)
        else:  # the built-in shirt steps aside; choosing a template builds it again
            previous.hide_set(True)
            previous.hide_render = True
    if not obj.material_slots:
        obj.data.materials.append(None)
    slot = garment_import.fabric_slot_index(obj, None)
    fabric = obj.material_slots[slot].material
    if fabric is None or not fabric.get(OUR_FABRIC):  # else ours from an earlier use stays
        if fabric is not None:
            obj[ORIGINAL_FABRIC] = fabric
        elif ORIGINAL_FABRIC in obj:
            del obj[ORIGINAL_FABRIC]
        fabric = materials.build_fabric_material()
        fabric[OUR_FABRIC] = True
        materials.set_fabric_detail(fabric, garment_import.base_color_image(
            obj.get(ORIGINAL_FABRIC)))
        obj.material_slots[slot].material = fabric
    original = obj.get(ORIGINAL_FABRIC)
    obj[OWN_SHIRT] = True
    obj[FABRIC_SLOT] = slot
    settings.preview_shirt = obj
    settings.preview_material = fabric
    if earlier is not None and earlier.get(OUR_FABRIC) and earlier.users == 0:
        bpy.data.materials.remove(earlier)  # a released shirt's: nothing shows it any more
    preview.set_frame(obj, frame)
    preview.apply_all(settings)

    sleeves = [LANDMARK_LABELS[n].split()[0].lower() for n, s in
               (("sleeve_left", frame.sleeve_left), ("sleeve_right", frame.sleeve_right)) if s]
    what = f"slot {slot + 1}" + (f" (was {original.name})" if original is not None else "")
    messages = [f"{obj.name} is the shirt: the fabric is in {what}; sleeves found: "
                f"{' and '.join(sleeves) or 'none'}. Pick landmarks at the 3D cursor if prints "
                f"land off."]
    turn = obj.matrix_world.to_3x3()
    height = (frame.hps_z - frame.hem_z) * abs(turn.to_scale().z)
    if not PLAUSIBLE_HEIGHT_M[0] <= height <= PLAUSIBLE_HEIGHT_M[1]:
        messages.append(f"The shirt is {height:.2f} m from shoulder to hem; prints are sized "
                        f"in real centimetres, so scale it to a real shirt's size.")
    # the preview places prints in the object's own axes and units, a render in the world's
    # (a template's model has its transform applied)
    if any(abs(turn[i][j] - (i == j)) > 1e-4 for i in range(3) for j in range(3)):
        messages.append("The shirt is rotated or scaled: the preview follows its own axes (Z "
                        "up, front toward -Y) and units; apply them (Ctrl+A) so the preview "
                        "and the render agree.")
    return messages


def set_landmark(obj: bpy.types.Object, name: str, at: Vector | None) -> str:
    """Put landmark ``name`` at world point ``at`` snapped onto ``obj``'s surface (None: clear
    it); the sentence to report."""
    marks = picked_landmarks(obj)
    label = LANDMARK_LABELS[name]
    if at is None:
        marks.pop(name, None)
        message = f"{label} is measured on the mesh again."
    else:
        local = obj.matrix_world.inverted() @ at
        found, point, _normal, _face = obj.closest_point_on_mesh(local)
        gap = (obj.matrix_world @ point - at).length if found else float("inf")
        if gap > MAX_CURSOR_GAP_M:
            raise errors.InvalidInput(
                f"The 3D cursor is {gap * 100:.0f} cm from the shirt: place it on the shirt's "
                f"surface (Shift+right-click on it) and try again.", code="invalid_input")
        marks[name] = (point.x, point.y, point.z)
        message = f"{label} set at the 3D cursor."
    obj[LANDMARKS] = {k: list(v) for k, v in marks.items()}
    return message


def _supported_presets(frame: garment_frame.GarmentFrame) -> list[str]:
    """Every body and neck placement; a sleeve's only where the garment has that sleeve."""
    has = {"sleeve-left": frame.sleeve_left is not None,
           "sleeve-right": frame.sleeve_right is not None}
    return [p.id for p in presets.PRESETS.values() if has.get(p.side, True)]


def _export_glb(context: bpy.types.Context, obj: bpy.types.Object, path: Path) -> None:
    """Write ``obj`` alone to ``path``, with its own fabric material back in its slot for the
    export; the selection and the slot are as they were afterwards."""
    view_layer = context.view_layer
    selected = [o for o in view_layer.objects if o.select_get()]
    active = view_layer.objects.active
    slot = obj.get(FABRIC_SLOT)
    ours = obj.material_slots[slot].material if slot is not None else None
    try:
        for other in selected:
            other.select_set(False)
        obj.select_set(True)
        view_layer.objects.active = obj
        if slot is not None:
            obj.material_slots[slot].material = obj.get(ORIGINAL_FABRIC)
        # options both 4.2 and 5.0 take: the object as the viewport shows it (modifiers
        # applied), nothing that moves or lights, no custom properties (ours included)
        result = bpy.ops.export_scene.gltf(
            filepath=str(path), export_format="GLB", use_selection=True, export_apply=True,
            export_animations=False, export_cameras=False, export_lights=False,
            export_extras=False, check_existing=False)
    except RuntimeError as exc:
        first = (str(exc).strip() or "export failed").splitlines()[0]
        raise errors.InvalidInput(f"The shirt could not be exported ({first}).",
                                  code="invalid_input") from None
    finally:
        if slot is not None:
            obj.material_slots[slot].material = ours
        obj.select_set(False)
        for other in selected:
            other.select_set(True)
        view_layer.objects.active = active
    if result != {"FINISHED"} or not path.is_file():
        raise errors.InvalidInput("The shirt could not be exported.", code="invalid_input")


def save_template(context: bpy.types.Context, obj: bpy.types.Object, folder: Path,
                  name: str) -> templates.Template:
    """Write a template folder for ``obj`` (the folder's name is the template id): the model as
    a .glb and a minimal template.json with the picked landmarks in the model's coordinates.
    Refuses a folder that holds anything; a refused save leaves nothing behind."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise errors.InvalidInput(f"{folder} is not empty: choose a new or an empty folder.",
                                  code="invalid_input")
    frame = shirt_frame(obj)
    created = not folder.exists()
    world = {k: list(obj.matrix_world @ Vector(v)) for k, v in picked_landmarks(obj).items()}
    try:
        color = colors.parse_color(context.scene.tshirt.color_hex).hex
    except errors.InvalidInput:
        color = "#ffffff"
    data = {"id": folder.name, "name": name or obj.name,
            "model": {"kind": "gltf", "file": MODEL_FILE},
            "supported_presets": _supported_presets(frame), "default_color": color}
    original = obj.get(ORIGINAL_FABRIC)
    if original is not None:
        data["material_slot"] = original.name
    if world:
        data["landmarks"] = {k: [round(c, 5) for c in v] for k, v in world.items()}
    written = [folder / MODEL_FILE, folder / templates.TEMPLATE_FILE]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _export_glb(context, obj, written[0])
        written[1].write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        return templates.load_template(folder)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        if created and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        raise


def _refusal(op: bpy.types.Operator, exc: Exception) -> set[str]:
    """Report one sentence for a failure and cancel; anything but our own errors (a file that
    cannot be written, a bug) goes to the log in full, never as a traceback to the artist."""
    if isinstance(exc, errors.TshirtError):
        op.report({"ERROR"}, exc.message)
    else:
        _log.warning("%s failed", op.bl_idname, exc_info=exc)
        op.report({"ERROR"}, f"{op.bl_label} failed: {exc}")
    return {"CANCELLED"}


# ---------------------------------------------------------------------------------------------
# operators


class TSHIRT_OT_use_selected_as_shirt(bpy.types.Operator):
    """Make the active mesh object the preview shirt: our fabric goes into its main material
    slot, its other materials stay, and its landmarks are measured"""

    bl_idname = "tshirt.use_selected_as_shirt"
    bl_label = "Use Selected Object as Shirt"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: bpy.types.Context) -> set[str]:
        try:
            messages = use_as_shirt(context, context.active_object)
        except Exception as exc:  # reported as one sentence, logged in full
            return _refusal(self, exc)
        self.report({"INFO"}, messages[0])
        for warning in messages[1:]:
            self.report({"WARNING"}, warning)
        return {"FINISHED"}


class TSHIRT_OT_set_landmark(bpy.types.Operator):
    """Put a landmark of the shirt at the 3D cursor (snap the cursor onto the surface first)"""

    bl_idname = "tshirt.set_landmark"
    bl_label = "Set Landmark at 3D Cursor"
    bl_options = {"REGISTER", "UNDO"}

    landmark: EnumProperty(  # type: ignore[valid-type]
        name="Landmark",
        items=_LANDMARK_ITEMS,
    )
    clear: BoolProperty(  # type: ignore[valid-type]
        name="Clear", description="Forget the picked point: measure it on the mesh again",
        default=False,
    )

    def execute(self, context: bpy.types.Context) -> set[str]:
        obj = own_shirt(context)
        if obj is None:
            self.report({"ERROR"}, "Use Selected Object as Shirt first.")
            return {"CANCELLED"}
        try:
            at = None if self.clear else context.scene.cursor.location.copy()
            message = set_landmark(obj, self.landmark, at)
            preview.set_frame(obj, shirt_frame(obj))
            preview.apply_all(context.scene.tshirt)
        except Exception as exc:  # reported as one sentence, logged in full
            return _refusal(self, exc)
        self.report({"INFO"}, message)
        return {"FINISHED"}


class TSHIRT_OT_save_template(bpy.types.Operator):
    """Save the shirt as a template folder (the model as .glb and its template.json); the
    folder's name becomes the template's id"""

    bl_idname = "tshirt.save_template"
    bl_label = "Save Shirt as Template"
    bl_options = {"REGISTER"}

    directory: StringProperty(  # type: ignore[valid-type]
        name="Folder", description="A new or empty folder, named like my-tee", subtype="DIR_PATH",
    )
    template_name: StringProperty(  # type: ignore[valid-type]
        name="Name", description="The template's name (default: the object's)",
    )
    filter_folder: BoolProperty(default=True, options={"HIDDEN"})  # type: ignore[valid-type]

    def invoke(self, context: bpy.types.Context, event) -> set[str]:
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context: bpy.types.Context) -> set[str]:
        obj = own_shirt(context)
        if obj is None:
            self.report({"ERROR"}, "Use Selected Object as Shirt first.")
            return {"CANCELLED"}
        if not self.directory.strip():
            self.report({"ERROR"}, "Choose a folder for the template.")
            return {"CANCELLED"}
        folder = Path(bpy.path.abspath(self.directory)).absolute()
        try:
            template = save_template(context, obj, folder, self.template_name.strip())
        except Exception as exc:  # reported as one sentence, logged in full
            return _refusal(self, exc)
        self.report({"INFO"}, f"Saved template {template.id!r} in {folder}: render it with "
                              f"--template {folder}, or register it with the service.")
        return {"FINISHED"}


# ---------------------------------------------------------------------------------------------
# the panel's rows (the add-on's panel calls this)


def draw(layout: bpy.types.UILayout, context: bpy.types.Context) -> None:
    col = layout.column(align=True)
    col.operator(TSHIRT_OT_use_selected_as_shirt.bl_idname, icon="OUTLINER_OB_MESH")
    obj = own_shirt(context)
    if obj is None:
        return
    col.label(text=f"Shirt: {obj.name}", icon="MESH_DATA")
    picked = picked_landmarks(obj)
    for name in templates.LANDMARK_NAMES:
        row = col.row(align=True)
        state = "picked" if name in picked else "measured"
        row.label(text=f"{LANDMARK_LABELS[name]}: {state}")
        op = row.operator(TSHIRT_OT_set_landmark.bl_idname, text="", icon="PIVOT_CURSOR")
        op.landmark = name
        if name in picked:
            op = row.operator(TSHIRT_OT_set_landmark.bl_idname, text="", icon="X")
            op.landmark = name
            op.clear = True
    col.operator(TSHIRT_OT_save_template.bl_idname, icon="FILE_FOLDER")


classes = (TSHIRT_OT_use_selected_as_shirt, TSHIRT_OT_set_landmark, TSHIRT_OT_save_template)
register, unregister = bpy.utils.register_classes_factory(classes)
