"""Every difference between the Blender releases the add-on supports (4.2 LTS through 5.0), in
one place: the rest of the render layer calls these and never tests a version itself.

Each difference is decided once, at import, where possible from Blender's own type information
(`bl_rna`) rather than from version numbers: 4.3-4.5 changed these at different times, and a
property that is there is the one to use.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import bpy

# 5.0 put the file format behind a media type (image / multilayer / video); before that, the
# file format alone said it.
_HAS_MEDIA_TYPE = "media_type" in bpy.types.ImageFormatSettings.bl_rna.properties
# 4.4 renamed the sequencer's `sequences` to `strips` (and 5.0 removed the old name), along with
# `new_effect`'s `frame_end` (exclusive) becoming `length`.
_HAS_STRIPS = "strips" in bpy.types.SequenceEditor.bl_rna.properties
# 4.4 introduced slotted actions (F-curves live in a channel bag per slot) and kept
# `Action.fcurves` as a view of the first slot's; 5.0 removed it.
_HAS_LEGACY_FCURVES = "fcurves" in bpy.types.Action.bl_rna.properties
# 5.0 always uses nodes for materials and worlds and deprecates `use_nodes` (the property is
# still there, so only the version tells); before, a new one needs the flag for its node tree.
_NODES_ALWAYS_ON = bpy.app.version >= (5, 0, 0)


def set_image_output(settings: bpy.types.ImageFormatSettings, file_format: str) -> None:
    """Choose a still image format ("PNG") or Blender's FFmpeg video ("FFMPEG")."""
    if _HAS_MEDIA_TYPE:
        settings.media_type = "VIDEO" if file_format == "FFMPEG" else "IMAGE"
    settings.file_format = file_format


def sequencer_strips(editor: bpy.types.SequenceEditor):
    """The top-level strip collection of a sequence editor (`strips` or `sequences`)."""
    return editor.strips if _HAS_STRIPS else editor.sequences


def new_color_strip(editor: bpy.types.SequenceEditor, name: str, channel: int,
                    frame_start: int, length: int) -> bpy.types.Strip:
    """A colour effect strip covering `length` frames from `frame_start`."""
    strips = sequencer_strips(editor)
    if _HAS_STRIPS:
        return strips.new_effect(name, "COLOR", channel, frame_start, length=length)
    return strips.new_effect(name, "COLOR", channel, frame_start,
                             frame_end=frame_start + length)


def new_image_strip(editor: bpy.types.SequenceEditor, name: str, frames: Sequence[Path],
                    channel: int, frame_start: int) -> bpy.types.Strip:
    """An image-sequence strip of `frames` (files in one folder), one frame each."""
    strip = sequencer_strips(editor).new_image(name, str(frames[0]), channel, frame_start)
    for frame in frames[1:]:
        strip.elements.append(frame.name)
    return strip


def action_fcurves(obj: bpy.types.Object) -> list[bpy.types.FCurve]:
    """The F-curves that animate `obj`: the action's own (4.2) or its slot's channel bag."""
    anim = obj.animation_data
    action = anim.action if anim else None
    if action is None:
        return []
    if _HAS_LEGACY_FCURVES:
        return list(action.fcurves)
    from bpy_extras import anim_utils

    bag = anim_utils.action_get_channelbag_for_slot(action, anim.action_slot)
    return list(bag.fcurves) if bag else []


def use_nodes(block: bpy.types.Material | bpy.types.World) -> None:
    """Make sure a new material or world has its node tree."""
    if not _NODES_ALWAYS_ON:
        block.use_nodes = True
