"""A print's close-up: where the camera stands and what it looks at.

The neck label is printed inside the back neck; in the front view (the camera 4 degrees up)
only its top shows above the front collar. Its close-up stands in front and above, looking
over the front collar down into the neck opening, so the inside of the back neck fills the
frame. It is aimed at the print where its projector puts it on this garment's surface and
sized by the print's box, so it frames the label on any garment (the classic and long-sleeve
tees, a foreign model) and at any offset or scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager

import bpy
from mathutils import Vector

from .._shared import angles, prints
from . import print_projection, studio
from .scene import ShirtScene

#: High enough to see over a crew neck's front collar down to the label's lower edge (the
#: classic tee needs about 20 degrees), low enough that the label is not seen edge-on.
ELEVATION_DEG = 25.0


def print_center(shirt: ShirtScene, placed: prints.PlacedPrint) -> Vector:
    """The print's centre on the surface that takes it, in world space: cast from its
    projector's origin against its axis (for the neck label, from the plane between front and
    back onto the inside of the back neck); the origin itself where nothing is hit."""
    projector = print_projection.projector_for(placed, shirt.frame)
    origin = Vector(projector.origin)
    hit, location, _normal, _index = shirt.shirt.ray_cast(
        origin, -Vector(projector.axis), depsgraph=bpy.context.evaluated_depsgraph_get())
    return shirt.shirt.matrix_world @ (location if hit else origin)


def camera_on(shirt: ShirtScene, angle: angles.Angle,
              placed: Sequence[prints.PlacedPrint]) -> AbstractContextManager[None]:
    """The camera on the first print of the close-up's side while the block runs (see
    `studio.closeup`: the normal camera comes back afterwards)."""
    target = next(p for p in placed if p.box.side == angle.closeup_of)
    size_m = max(target.box.width_cm, target.box.height_cm) / 100.0
    return studio.closeup(shirt.scene, shirt.rig, shirt.camera, print_center(shirt, target),
                          size_m, angle.azimuth_deg, ELEVATION_DEG)
