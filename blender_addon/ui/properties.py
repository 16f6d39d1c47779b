"""The panel's settings, registered once as ``Scene.tshirt``.

Every list the artist picks from (presets, quality levels, templates, angles, backgrounds) is
derived from ``shared`` through ``panel_logic``; ``update=`` callbacks keep the colour picker and
the hex field in step and push changes into the live preview.

A job's prints are ``Scene.tshirt.prints`` (each a design at a placement, moved, scaled and
turned); a scene saved when the panel held one design and one placement opens with them as
print 1.
"""

from __future__ import annotations

import logging

import bpy
from bpy.props import (
    BoolProperty,
    BoolVectorProperty,
    CollectionProperty,
    EnumProperty,
    FloatProperty,
    FloatVectorProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from .._shared import angles, contracts, errors, presets, prints, quality, templates
from ..core import panel_logic
from . import preview

_log = logging.getLogger(__name__)

# Blender keeps only pointers to the strings of dynamic enum items: hold the lists here.
_template_items_cache: list[panel_logic.EnumItem] = []
_preset_items_cache: dict[frozenset[str], list[panel_logic.EnumItem]] = {}
# The templates found on disk, read again whenever the template list is built.
_templates: dict[str, templates.Template] = {}
# Set while one colour property writes the other, so the pair does not ping-pong.
_syncing_color = False

DEFAULT_COLOR = "#ffffff"
RENDER_STATES = (
    ("IDLE", "Idle", "No render has run yet"),
    ("RUNNING", "Running", "A render is running in the background"),
    ("DONE", "Done", "The last render finished"),
    ("FAILED", "Failed", "The last render failed"),
    ("CANCELLED", "Cancelled", "The last render was cancelled"),
)
FARM_STATES = (
    ("IDLE", "Idle", "Nothing sent to the farm"),
    ("SUBMITTING", "Submitting", "Sending the job to the sync service"),
    ("RUNNING", "Running", "The farm is rendering the job"),
    ("DONE", "Done", "The farm finished and the images are downloaded"),
    ("FAILED", "Failed", "The farm job failed or could not be followed"),
    ("CANCELLED", "Cancelled", "The farm job was cancelled"),
)
SYNC_STATES = (
    ("IDLE", "Idle", "Not sent"),
    ("SENDING", "Sending", "Uploading to the sync service"),
    ("SENT", "Sent", "The sync service has the render"),
    ("FAILED", "Failed", "Sending failed"),
)


def _discover_templates() -> dict[str, templates.Template]:
    try:
        found = templates.discover_templates()
    except errors.TshirtError as exc:
        _log.warning("templates: %s", exc.message)
        found = {}
    _templates.clear()
    _templates.update(found)
    return found


def _template_items(self, context):
    global _template_items_cache
    _template_items_cache = panel_logic.template_items(_discover_templates())
    return _template_items_cache


def supported_presets(settings) -> tuple[str, ...] | None:
    """The placements the scene's template offers (None: every one, the template unknown)."""
    template = (_templates or _discover_templates()).get(settings.template)
    return template.supported_presets if template is not None else None


def _print_preset_items(self, context):
    """The template's placements, and the print's own even when the template lacks it (a
    value outside its enum's items would read as nothing)."""
    offered = set(supported_presets(self.id_data.tshirt) or presets.PRESET_IDS)
    number = self.get("preset", panel_logic.PRESET_NUMBERS[presets.DEFAULT_PRESET])
    if 0 <= number < len(presets.PRESET_IDS):
        offered.add(presets.PRESET_IDS[number])
    key = frozenset(offered)
    if key not in _preset_items_cache:
        _preset_items_cache[key] = panel_logic.preset_items(key)
    return _preset_items_cache[key]


# -- update callbacks ------------------------------------------------------------------------


def _design_changed(self, context) -> None:
    """A print's design file changed: read its size (or the reason it cannot print), then
    its pixels (a fully transparent design is refused only once they are read)."""
    status = panel_logic.inspect_design(bpy.path.abspath(self.design_path))
    self.design_width = status.width
    self.design_height = status.height
    self.design_error = status.error
    if status.ok and context is not None:
        try:
            image = preview.design_image(self.design_path)
            image.preview_ensure()
        except errors.TshirtError as exc:
            self.design_error = exc.message
        except (ValueError, RuntimeError) as exc:
            _log.debug("design thumbnail: %s", exc)
    preview.apply_design(self.id_data.tshirt)


def _placement_changed(self, context) -> None:
    preview.apply_design(self.id_data.tshirt)


def _color_changed(self, context) -> None:
    global _syncing_color
    if _syncing_color:
        return
    _syncing_color = True
    try:
        self.color_hex = panel_logic.hex_from_srgb(self.color)
        self.color_error = ""
    finally:
        _syncing_color = False
    preview.apply_color(self)


def _hex_changed(self, context) -> None:
    global _syncing_color
    if _syncing_color:
        return
    try:
        srgb = panel_logic.srgb_from_text(self.color_hex)
    except errors.InvalidInput as exc:
        self.color_error = exc.message
        return
    _syncing_color = True
    try:
        self.color_error = ""
        self.color = srgb
        # show a pasted name or #RGB in its canonical #rrggbb form
        self.color_hex = panel_logic.hex_from_srgb(srgb)
    finally:
        _syncing_color = False
    preview.apply_color(self)


def _template_changed(self, context) -> None:
    if context is not None:
        preview.rebuild_if_active(context, self)


# -- the prints ------------------------------------------------------------------------------


def active_print(settings):
    """The print the panel edits (None while the list is empty)."""
    if 0 <= settings.prints_index < len(settings.prints):
        return settings.prints[settings.prints_index]
    return None


def add_print(settings, design_path: str = ""):
    """A new print at its first free side (see ``panel_logic.next_preset``), made active."""
    if len(settings.prints) >= prints.MAX_PRINTS:
        raise errors.InvalidInput(f"A job has at most {prints.MAX_PRINTS} prints.")
    preset = panel_logic.next_preset([p.preset for p in settings.prints],
                                     supported_presets(settings))
    item = settings.prints.add()
    item.preset = preset
    if design_path:
        item.design_path = design_path
    settings.prints_index = len(settings.prints) - 1
    return item


def migrate_settings(settings) -> bool:
    """An old scene's one design and placement (raw ID properties now) become print 1."""
    old = panel_logic.legacy_print(settings.get("design_path"), settings.get("preset"))
    for name in ("design_path", "design_width", "design_height", "design_error", "preset"):
        if name in settings:
            del settings[name]
    if old is None or len(settings.prints):
        return False
    design, preset = old
    item = settings.prints.add()
    item["preset"] = panel_logic.PRESET_NUMBERS[preset]  # even one the template lacks
    item.design_path = design  # reads its size, like choosing it
    settings.prints_index = 0
    return True


def migrate_all() -> None:
    for scene in bpy.data.scenes:
        settings = getattr(scene, "tshirt", None)
        if settings is not None and migrate_settings(settings):
            _log.info("scene %s: its design is now print 1", scene.name)


@bpy.app.handlers.persistent
def _on_load_post(*_args) -> None:
    migrate_all()


def _migrate_open_file() -> None:
    """Enabling the add-on in a file that was already open: migrate it too (``bpy.data``
    cannot be written while the add-on registers)."""
    migrate_all()


# -- property groups -------------------------------------------------------------------------


class TSHIRT_PG_result(bpy.types.PropertyGroup):
    """One still of the last render, loaded as a Blender image for the panel."""

    angle: StringProperty(name="Angle")  # type: ignore[valid-type]
    label: StringProperty(name="Label")  # type: ignore[valid-type]
    image: PointerProperty(name="Image", type=bpy.types.Image)  # type: ignore[valid-type]


class TSHIRT_PG_history_job(bpy.types.PropertyGroup):
    """One of the product's jobs on the sync service, as the history list shows it."""

    job_id: StringProperty(name="Job")  # type: ignore[valid-type]
    status: StringProperty(name="Status")  # type: ignore[valid-type]
    preset: StringProperty(name="Placement")  # type: ignore[valid-type]
    color: StringProperty(name="Colour")  # type: ignore[valid-type]
    created: StringProperty(name="Created")  # type: ignore[valid-type]
    push_state: StringProperty(name="Store")  # type: ignore[valid-type]
    source: StringProperty(name="Source")  # type: ignore[valid-type]
    progress: IntProperty(name="Progress", min=0, max=100)  # type: ignore[valid-type]
    error: StringProperty(name="Error")  # type: ignore[valid-type]


class TSHIRT_PG_print(bpy.types.PropertyGroup):
    """One print: a design at a placement, moved, scaled and turned (``shared.prints``)."""

    design_path: StringProperty(  # type: ignore[valid-type]
        name="Design", description="The PNG or JPEG this print prints",
        subtype="FILE_PATH", update=_design_changed,
    )
    design_width: IntProperty(name="Design Width", min=0)  # type: ignore[valid-type]
    design_height: IntProperty(name="Design Height", min=0)  # type: ignore[valid-type]
    design_error: StringProperty(name="Design Problem")  # type: ignore[valid-type]
    preset: EnumProperty(  # type: ignore[valid-type]
        name="Placement", description="Where the design prints and how large at most",
        items=_print_preset_items, default=panel_logic.PRESET_NUMBERS[presets.DEFAULT_PRESET],
        update=_placement_changed,
    )
    offset_cm: FloatVectorProperty(  # type: ignore[valid-type]
        name="Offset", description="Centimetres toward the viewer's right (X) and down (Y) "
                                   "from the placement's top centre",
        size=2, default=(0.0, 0.0), min=-prints.MAX_OFFSET_CM, max=prints.MAX_OFFSET_CM,
        soft_min=-40.0, soft_max=40.0, step=10, precision=1, update=_placement_changed,
    )
    scale: FloatProperty(  # type: ignore[valid-type]
        name="Scale", description="1 = as large as the placement fits, keeping the aspect "
                                  "ratio",
        default=1.0, min=prints.MIN_SCALE, max=prints.MAX_SCALE, soft_max=2.0, step=5,
        precision=2, update=_placement_changed,
    )
    rotation_deg: FloatProperty(  # type: ignore[valid-type]
        name="Rotation", description="Degrees clockwise as seen", default=0.0, min=-360.0,
        max=360.0, step=100, precision=1, update=_placement_changed,
    )

    def spec(self) -> prints.PrintSpec:
        """The print as the spec carries it (the design path made absolute)."""
        design = bpy.path.abspath(self.design_path) if self.design_path else ""
        x, y = self.offset_cm
        return prints.PrintSpec(design=design, preset=self.preset, offset_cm=(x, y),
                                scale=self.scale, rotation_deg=self.rotation_deg)


class TSHIRT_PG_settings(bpy.types.PropertyGroup):
    # what prints where
    prints: CollectionProperty(type=TSHIRT_PG_print)  # type: ignore[valid-type]
    prints_index: IntProperty(name="Selected Print", default=0, min=0)  # type: ignore[valid-type]

    # colour
    color: FloatVectorProperty(  # type: ignore[valid-type]
        name="Shirt Colour", subtype="COLOR_GAMMA", size=3, min=0.0, max=1.0,
        default=(1.0, 1.0, 1.0), update=_color_changed,
    )
    color_hex: StringProperty(  # type: ignore[valid-type]
        name="Hex", description="#RGB, #RRGGBB or a CSS colour name such as 'navy'",
        default=DEFAULT_COLOR, update=_hex_changed,
    )
    color_error: StringProperty(name="Colour Problem")  # type: ignore[valid-type]

    # render options
    template: EnumProperty(  # type: ignore[valid-type]
        name="Template", description="The shirt model", items=_template_items,
        update=_template_changed,
    )
    quality: EnumProperty(  # type: ignore[valid-type]
        name="Quality", items=panel_logic.quality_items(), default=quality.DEFAULT_QUALITY,
    )
    angles: BoolVectorProperty(  # type: ignore[valid-type]
        name="Angles", description="Which views to render",
        size=len(angles.ANGLES), default=tuple(True for _ in angles.ANGLES),
    )
    animation: BoolProperty(  # type: ignore[valid-type]
        name="Turntable", description="Also render a 360° turntable animation", default=True,
    )
    frames: IntProperty(  # type: ignore[valid-type]
        name="Frames", description="Turntable length in frames",
        default=contracts.AnimationSpec().frames, min=2, max=contracts.MAX_FRAMES,
    )
    background: EnumProperty(  # type: ignore[valid-type]
        name="Background", items=panel_logic.background_items(), default="transparent",
    )
    background_color: FloatVectorProperty(  # type: ignore[valid-type]
        name="Background Colour", subtype="COLOR_GAMMA", size=3, min=0.0, max=1.0,
        default=(0.93, 0.93, 0.93),
    )
    output_dir: StringProperty(  # type: ignore[valid-type]
        name="Output Folder",
        description="Each render makes a new folder in here (empty: the add-on's default)",
        subtype="DIR_PATH",
    )
    product_id: StringProperty(  # type: ignore[valid-type]
        name="Product ID", description="The store product these images are for (optional)",
    )

    # live preview
    preview_shirt: PointerProperty(type=bpy.types.Object)  # type: ignore[valid-type]
    preview_material: PointerProperty(type=bpy.types.Material)  # type: ignore[valid-type]

    # the last render
    render_state: EnumProperty(  # type: ignore[valid-type]
        name="Render State", items=RENDER_STATES, default="IDLE",
    )
    render_progress: FloatProperty(  # type: ignore[valid-type]
        name="Progress", subtype="FACTOR", min=0.0, max=1.0,
    )
    render_stage: StringProperty(name="Stage")  # type: ignore[valid-type]
    render_message: StringProperty(name="Message")  # type: ignore[valid-type]
    last_output_dir: StringProperty(name="Last Output", subtype="DIR_PATH")  # type: ignore[valid-type]
    results: CollectionProperty(type=TSHIRT_PG_result)  # type: ignore[valid-type]

    # sending the last render to the store
    sync_state: EnumProperty(  # type: ignore[valid-type]
        name="Store State", items=SYNC_STATES, default="IDLE",
    )
    sync_message: StringProperty(name="Store Message")  # type: ignore[valid-type]
    sync_job_id: StringProperty(name="Store Job")  # type: ignore[valid-type]
    sync_push: StringProperty(  # type: ignore[valid-type]
        name="Push State", description="The store push of the sent job, as the service says",
    )

    # rendering on the farm (the sync service's queue)
    farm_state: EnumProperty(  # type: ignore[valid-type]
        name="Farm State", items=FARM_STATES, default="IDLE",
    )
    farm_job_id: StringProperty(name="Farm Job")  # type: ignore[valid-type]
    farm_status: StringProperty(name="Farm Status")  # type: ignore[valid-type]
    farm_progress: FloatProperty(  # type: ignore[valid-type]
        name="Farm Progress", subtype="FACTOR", min=0.0, max=1.0,
    )
    farm_message: StringProperty(name="Farm Message")  # type: ignore[valid-type]
    farm_push: StringProperty(name="Farm Push State")  # type: ignore[valid-type]

    # the product's jobs on the service
    history: CollectionProperty(type=TSHIRT_PG_history_job)  # type: ignore[valid-type]
    history_index: IntProperty(name="Selected Job", default=0)  # type: ignore[valid-type]
    history_product: StringProperty(name="History Product")  # type: ignore[valid-type]
    history_message: StringProperty(name="History Message")  # type: ignore[valid-type]


classes = (TSHIRT_PG_result, TSHIRT_PG_history_job, TSHIRT_PG_print, TSHIRT_PG_settings)
_register_classes, _unregister_classes = bpy.utils.register_classes_factory(classes)


def register() -> None:
    _register_classes()
    bpy.types.Scene.tshirt = PointerProperty(type=TSHIRT_PG_settings)
    # Not per scene and never saved: the preferences show the last "Test connection" answer.
    bpy.types.WindowManager.tshirt_connection_status = StringProperty(
        name="Connection", description="What the last connection test found",
        options={"SKIP_SAVE"})
    # before the preview's handler, which shows the migrated prints
    bpy.app.handlers.load_post.append(_on_load_post)
    bpy.app.timers.register(_migrate_open_file, first_interval=0.0)


def unregister() -> None:
    if bpy.app.timers.is_registered(_migrate_open_file):
        bpy.app.timers.unregister(_migrate_open_file)
    while _on_load_post in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.remove(_on_load_post)
    del bpy.types.WindowManager.tshirt_connection_status
    del bpy.types.Scene.tshirt
    _unregister_classes()
    _template_items_cache.clear()
    _preset_items_cache.clear()
    _templates.clear()
