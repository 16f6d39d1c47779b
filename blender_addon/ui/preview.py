"""The live preview: the shirt built into the artist's scene, kept in step with the panel.

Property ``update=`` callbacks land here; each one is a cheap node edit on the preview's
material (colour, design image, print mapping), so Material Preview follows at once. The
preview's shirt and material are remembered as pointer properties on the settings, which
survive undo and saving where Python references would not.
"""

from __future__ import annotations

import logging

import bpy

from .._shared import colors, errors, presets, templates
from ..core import panel_logic
from ..render import materials
from ..render.scene import build_scene

_log = logging.getLogger(__name__)


def is_active(settings) -> bool:
    material = settings.preview_material
    return material is not None and material.node_tree is not None


def setup(context: bpy.types.Context, settings) -> None:
    """Build (or rebuild) the shirt in the current scene and apply every setting to it."""
    template = templates.get_template(settings.template)
    shirt_scene = build_scene(template, scene=context.scene)
    settings.preview_shirt = shirt_scene.shirt
    settings.preview_material = shirt_scene.material
    apply_all(settings)
    _show_material_preview(context)


def apply_all(settings) -> None:
    apply_color(settings)
    apply_design(settings)


def apply_color(settings) -> None:
    if not is_active(settings):
        return
    # The picker always holds the last valid colour (a bad hex never reaches it).
    linear = tuple(colors.srgb_to_linear(float(c)) for c in settings.color)
    materials.set_fabric_color(settings.preview_material, linear)


def apply_design(settings) -> None:
    """Show the design where it will print, or nothing while no usable design is chosen."""
    if not is_active(settings):
        return
    material = settings.preview_material
    status = design_status(settings)
    if not status.ok:
        materials.set_print(material, None)
        return
    placement = presets.fit_design(settings.preset, status.width, status.height)
    try:
        image = design_image(settings.design_path)
        materials.set_print(material, image, placement.side, placement.box.as_tuple())
    except ValueError as exc:
        _log.warning("preview: %s", exc)
        materials.set_print(material, None)


def design_status(settings) -> panel_logic.DesignStatus:
    """The design's size as the ``design_path`` update last read it (no file access here)."""
    if not settings.design_path or settings.design_error:
        return panel_logic.DesignStatus(error=settings.design_error)
    status = panel_logic.DesignStatus(settings.design_width, settings.design_height)
    return panel_logic.at_preset(status, settings.preset)


def design_image(path: str) -> bpy.types.Image:
    """The design as a Blender image (loaded once, reloaded when the file changes)."""
    image = materials.load_design_image(bpy.path.abspath(path))
    return image


def rebuild_if_active(context: bpy.types.Context, settings) -> None:
    """A new template means a new shirt; rebuild only if a preview exists."""
    if is_active(settings):
        try:
            setup(context, settings)
        except errors.TshirtError as exc:
            _log.warning("preview rebuild failed: %s", exc.message)


def _show_material_preview(context: bpy.types.Context) -> None:
    screen = getattr(context, "screen", None)
    if screen is None:
        return
    for area in screen.areas:
        if area.type != "VIEW_3D":
            continue
        for space in area.spaces:
            if space.type == "VIEW_3D" and space.shading.type in {"SOLID", "WIREFRAME"}:
                space.shading.type = "MATERIAL"
        area.tag_redraw()
