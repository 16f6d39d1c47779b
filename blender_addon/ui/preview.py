"""The live preview: the shirt built into the artist's scene, kept in step with the panel.

Property ``update=`` callbacks land here; each one is a cheap node edit on the preview's
material (colour, the prints' images and where each lands), so Material Preview follows at
once. The preview's shirt and material are remembered as pointer properties on the settings,
which survive undo and saving where Python references would not.

The design shows as the renderer prints it (`render.design_image.load_design`: normalised, in a
generated image). Normalising a big photo takes seconds, so each version of a file is loaded
once and an image nothing shows any more is removed. A generated image keeps no pixels in a
.blend: after a file opens, its preview's design is loaded again.
"""

from __future__ import annotations

import logging
from pathlib import Path

import bpy

from .._shared import colors, errors, prints, templates
from ..core import panel_logic
from ..render import materials
from ..render.design_image import load_design
from ..render.garment_frame import GarmentFrame, frame_for
from ..render.print_nodes import PrintLayer
from ..render.print_projection import projector_for
from ..render.scene import build_scene

_log = logging.getLogger(__name__)

#: Custom property of a preview's design image: the file it shows.
DESIGN_SOURCE = "tshirt_design"
# session_uid of each design image this session loaded -> (path, mtime, size) of the file it
# shows. A reopened .blend gives its images new uids, so a blank one is never taken for loaded.
_loaded: dict[int, tuple[str, int, int]] = {}
# session_uid of a preview's shirt -> its landmarks, measured once per build (or per session,
# for the shirt of a reopened file), which place every print that follows.
_frames: dict[int, GarmentFrame] = {}


def is_active(settings) -> bool:
    material = settings.preview_material
    return material is not None and material.node_tree is not None \
        and settings.preview_shirt is not None


def setup(context: bpy.types.Context, settings) -> None:
    """Build (or rebuild) the shirt in the current scene and apply every setting to it."""
    template = templates.get_template(settings.template)
    shirt_scene = build_scene(template, scene=context.scene)
    settings.preview_shirt = shirt_scene.shirt
    settings.preview_material = shirt_scene.material
    _frames[shirt_scene.shirt.session_uid] = shirt_scene.frame
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
    """Show every print with a usable design where it will print (none: a bare shirt)."""
    if not is_active(settings):
        return
    layers = [layer for item in settings.prints
              if (layer := _layer(settings, item)) is not None]
    materials.set_prints(settings.preview_material, layers)
    _remove_unused_designs()


def _layer(settings, item) -> PrintLayer | None:
    """A print as the material shows it: placed as it will print (even outside its area,
    which the panel says), or None while its design cannot print."""
    if not print_status(item).ok:
        return None
    try:
        placed = prints.fit_print(item.spec(), item.design_width, item.design_height)
        return PrintLayer(design_image(item.design_path),
                          projector_for(placed, _frame(settings)))
    except (errors.TshirtError, ValueError) as exc:  # e.g. a sleeve print on no sleeve
        _log.warning("preview: %s", exc)
        return None


def _frame(settings) -> GarmentFrame:
    shirt = settings.preview_shirt
    frame = _frames.get(shirt.session_uid)
    if frame is None:
        frame = frame_for(shirt, templates.get_template(settings.template))
        _frames[shirt.session_uid] = frame
    return frame


def set_frame(shirt: bpy.types.Object, frame: GarmentFrame) -> None:
    """Place the prints on ``shirt`` from ``frame`` from now on: an artist's own shirt has its
    picked landmarks, not a template's (``garment_ops``)."""
    _frames[shirt.session_uid] = frame


def print_status(item) -> panel_logic.DesignStatus:
    """A print's design as the ``design_path`` update last read it (no file access here), at
    the print's final size."""
    if not item.design_path or item.design_error:
        return panel_logic.DesignStatus(error=item.design_error)
    status = panel_logic.DesignStatus(item.design_width, item.design_height)
    return panel_logic.at_print(status, item.spec())


def design_image(path: str) -> bpy.types.Image:
    """The design as it prints, loaded once per version of the file (a changed file is loaded
    again). Errors are `TshirtError`s with the sentence the user sees."""
    image = loaded_design(path)
    if image is None:
        _remove_unused_designs()  # a thumbnail of the design chosen before, an older version
        full = Path(bpy.path.abspath(path)).absolute()
        image = load_design(full)
        image[DESIGN_SOURCE] = str(full)
        version = _version(path)
        if version is not None:
            _loaded[image.session_uid] = version
    return image


def loaded_design(path: str) -> bpy.types.Image | None:
    """The image already showing the file as it is now, if any (loads nothing)."""
    version = _version(path)
    if version is None:
        return None
    return next((image for image in bpy.data.images
                 if _loaded.get(image.session_uid) == version), None)


def _version(path: str) -> tuple[str, int, int] | None:
    full = Path(bpy.path.abspath(path)).absolute()
    try:
        stat = full.stat()
    except OSError:
        return None
    return str(full), stat.st_mtime_ns, stat.st_size


def _remove_unused_designs() -> None:
    """Remove the design images nothing shows: no material uses them and no print's file is
    (still) the version they hold (a print's image also gives the panel its thumbnail)."""
    wanted = {_version(item.design_path) for scene in bpy.data.scenes
              for item in getattr(getattr(scene, "tshirt", None), "prints", ())
              if item.design_path}
    for image in [i for i in bpy.data.images if DESIGN_SOURCE in i and i.users == 0
                  and _loaded.get(i.session_uid) not in wanted]:
        _loaded.pop(image.session_uid, None)
        bpy.data.images.remove(image)


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


@bpy.app.handlers.persistent
def _on_load_post(*_args) -> None:
    """An opened file's previews show blank design images: load their designs again."""
    for scene in bpy.data.scenes:
        settings = getattr(scene, "tshirt", None)
        if settings is not None:
            apply_design(settings)


def register() -> None:
    bpy.app.handlers.load_post.append(_on_load_post)


def unregister() -> None:
    while _on_load_post in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.remove(_on_load_post)
    _loaded.clear()
    _frames.clear()
