"""From a print's box (cm on the reference shirt) to a projector onto this garment.

A print is a planar projection of its design along the direction it is seen from: along Y for
the front, the back and the neck label (seen from the front through the neck opening), along a
sleeve's outward axis for a sleeve. The box's centimetres are metres on the garment, measured
from its landmarks (`garment_frame`): x from the centre line toward the viewer's right (+X seen
from the front, -X from the back; on a sleeve, from its centre), y down from the anchor:

- "collar": the reference neck drops 9 cm (front) or 2.5 cm (back, neck label) below the HPS,
  so a box `y` cm below the HPS lands `y - drop` cm below that side's collar seam;
- "hem": `BODY_LENGTH_CM - y` cm above the hem;
- "sleeve": from the sleeve's centre, its top toward the shoulder.

Which surface takes the print (see `materials`' projection group): a point must face the
viewer of its side, by its shading normal (Cycles turns a back face's normal toward the ray,
so a single-sided model and one with an inner shell both read right, whichever way its
normals were made), and lie in its side's depth window. The window is a half-space for the
body: nearer the front than the plane between front and back for a front print, nearer the
back for a back print and for the neck label (whose facing test then keeps only the inside of
the back, which faces the front). A sleeve's window is a slab about its surface, deep enough
for the sleeve's curve under the print and shallow enough to miss the body's side beneath.
Everything is in object space, so the turntable (which turns the object) moves the print along.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._shared import errors, presets, prints
from .garment_frame import GarmentFrame, SleeveFrame, Vec3

#: A depth no garment reaches: the open side of a half-space window.
FAR_M = 10.0
#: A sleeve's window about its surface centre: outward (the surface rises toward the print's
#: centre) and inward (the sleeve's curve over the widest print its area allows).
SLEEVE_RISE_M = 0.03
SLEEVE_DEPTH_M = 0.06


@dataclass(frozen=True)
class Projector:
    """A design's projection in object space: a point P takes the image at
    s = (P - origin) . u + 0.5, t = (P - origin) . v + 0.5 (t up), where it faces `axis` and
    depth_min < (P - origin) . axis < depth_max."""

    origin: Vec3
    #: the design's right, divided by its width (per metre)
    u: Vec3
    #: the design's up, divided by its height
    v: Vec3
    #: unit, out of the printed surface toward its viewer
    axis: Vec3
    depth_min: float
    depth_max: float


def _add(a: Vec3, b: Vec3, scale: float = 1.0) -> Vec3:
    return (a[0] + b[0] * scale, a[1] + b[1] * scale, a[2] + b[2] * scale)


def _scaled(a: Vec3, scale: float) -> Vec3:
    return (a[0] * scale, a[1] * scale, a[2] * scale)


def _cross(a: Vec3, b: Vec3) -> Vec3:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _unit(a: Vec3) -> Vec3:
    length = math.sqrt(a[0] ** 2 + a[1] ** 2 + a[2] ** 2)
    return _scaled(a, 1.0 / length)


def _sleeve_axes(sleeve: SleeveFrame) -> tuple[Vec3, Vec3]:
    """(right, up) seen from outside a sleeve: up is the world's up made square to the axis
    (toward the shoulder on a sleeve that slopes down), right follows as the viewer sees it."""
    axis = sleeve.axis
    lift = axis[2]
    up = (-axis[0] * lift, -axis[1] * lift, 1.0 - axis[2] * lift)
    if math.sqrt(sum(c * c for c in up)) < 1e-6:  # a sleeve pointing straight up or down
        up = (-axis[0], -axis[1], 0.0)
    up = _unit(up)
    return _cross(_scaled(axis, -1.0), up), up


def _collar_z(frame: GarmentFrame, side: str, y_m: float) -> float:
    if side == "front":
        return frame.collar_front_z - (y_m - presets.FRONT_NECK_DROP_CM / 100.0)
    return frame.collar_back_z - (y_m - presets.BACK_NECK_DROP_CM / 100.0)


def projector_for(placed: prints.PlacedPrint, frame: GarmentFrame) -> Projector:
    """Where ``placed`` lands on the garment of ``frame``."""
    box = placed.box
    x_m, y_m = box.center_x_cm / 100.0, box.center_y_cm / 100.0
    if box.side.startswith("sleeve"):
        sleeve = frame.sleeve_left if box.side == "sleeve-left" else frame.sleeve_right
        if sleeve is None:
            raise errors.InvalidInput(
                f"This garment has no {box.side.replace('-', ' ')} to print on.",
                code="unknown_preset")
        right, up = _sleeve_axes(sleeve)
        axis = sleeve.axis
        origin = _add(_add(sleeve.center, right, x_m), up, -y_m)
        window = (-SLEEVE_DEPTH_M, SLEEVE_RISE_M)
    else:
        # the body: seen from the front (front, neck label) or from the back
        from_back = box.side == "back"
        right = (-1.0, 0.0, 0.0) if from_back else (1.0, 0.0, 0.0)
        up = (0.0, 0.0, 1.0)
        axis = (0.0, 1.0, 0.0) if from_back else (0.0, -1.0, 0.0)
        if box.anchor == "hem":
            z = frame.hem_z + (presets.BODY_LENGTH_CM / 100.0 - y_m)
        else:
            z = _collar_z(frame, box.side, y_m)
        origin = (frame.center_x + right[0] * x_m, frame.mid_y, z)
        # depth from the mid plane: the front or back half; the neck label in the back half
        window = (-FAR_M, 0.0) if box.side == "neck" else (0.0, FAR_M)
    # turned clockwise as seen: the design's right swings down, its up toward the right
    turn = math.radians(box.rotation_deg)
    cos, sin = math.cos(turn), math.sin(turn)
    design_right = _add(_scaled(right, cos), up, -sin)
    design_up = _add(_scaled(up, cos), right, sin)
    return Projector(
        origin=origin,
        u=_scaled(design_right, 100.0 / box.width_cm),
        v=_scaled(design_up, 100.0 / box.height_cm),
        axis=axis, depth_min=window[0], depth_max=window[1])
