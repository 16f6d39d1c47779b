"""Where a garment's landmarks are: the frame every print is projected from.

Prints are placed by projection, not through a model's UVs, so any garment takes them: its
centre line, front-most and back-most surfaces, collar seams (centre front and centre back),
hem, the high point of the shoulder (HPS) and each sleeve's outer centre with its outward axis.
A template may give the collar seams, the hem and the sleeve centres (`template.landmarks`,
shifted by the offset the importer applied when it centred the model); whatever it does not
give is measured on the evaluated mesh.

Everything is in the shirt object's own space (metres: an importer applies any scale to the
mesh), so a frame stays true while the turntable turns the object.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import bpy
import numpy as np

from .garment_import import LANDMARK_OFFSET_PROPERTY, LANDMARK_SCALE_PROPERTY
from .shirt_shape import PART_ATTRIBUTE, PART_BACK, PART_FRONT, PART_INSIDE

_log = logging.getLogger(__name__)

Vec3 = tuple[float, float, float]

#: Half-width of the strip about the centre line where the collar seams and the hem are read.
CENTRE_BAND_M = 0.015
#: The hem's height band where the body's half-width is read (sleeves start beyond it).
HEM_BAND_M = 0.05
#: A sleeve starts this far beyond the body's side; its print lands within this reach of that
#: start (a long sleeve's upper arm, not its cuff).
SLEEVE_GAP_M = 0.01
SLEEVE_REACH_M = 0.15
#: Vertices whose normal leans this much outward count as the sleeve's outside.
SLEEVE_OUTWARD = 0.2
#: Where along that outside (0: at the body, 1: at the end of the reach) the print centres:
#: a short sleeve's print then stays clear of its hem, a long sleeve's sits on the upper arm.
SLEEVE_CENTRE_AT = 0.4
#: Around a sleeve's centre: the slice across the sleeve that places the centre, the radius
#: about its axis that finds the surface, and the reach that reads a template point's axis.
SLEEVE_SLICE_M = 0.015
SLEEVE_LINE_M = 0.03
SLEEVE_NEAR_M = 0.04
#: The HPS is the highest point of the body between these fractions of its width from the
#: centre: just outside any crew or V neck opening, inside the shoulder points.
HPS_BAND = (0.2, 1.0 / 3.0)


@dataclass(frozen=True)
class SleeveFrame:
    """A sleeve's outer centre (on its surface) and the unit axis pointing out of it."""

    center: Vec3
    axis: Vec3


@dataclass(frozen=True)
class GarmentFrame:
    """A garment's landmarks in its object's space, in metres (Z up, the front faces -Y)."""

    center_x: float
    front_y: float
    back_y: float
    collar_front_z: float
    collar_back_z: float
    hem_z: float
    hps_z: float
    #: None on a garment without that sleeve (a sleeve print is then refused)
    sleeve_left: SleeveFrame | None
    sleeve_right: SleeveFrame | None

    @property
    def mid_y(self) -> float:
        """The plane between the front and the back: what is nearer the front is the front."""
        return (self.front_y + self.back_y) / 2.0


@dataclass(frozen=True)
class _Mesh:
    co: np.ndarray  # (n, 3)
    normals: np.ndarray  # (n, 3)
    #: the outer surface (a procedural tee's inner shell left out)
    outer: np.ndarray  # (n,) bool
    #: the body's panels (without sleeves and collar where the mesh says which is which)
    body: np.ndarray  # (n,) bool


def _read_mesh(obj: bpy.types.Object) -> _Mesh:
    """Vertices, normals and part masks of the evaluated mesh (modifiers applied)."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    evaluated = obj.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    try:
        count = len(mesh.vertices)
        if count == 0:
            raise ValueError(f"The garment {obj.name!r} has no vertices.")
        co = np.empty(count * 3, dtype=np.float64)
        mesh.vertices.foreach_get("co", co)
        normals = np.empty(count * 3, dtype=np.float64)
        mesh.vertex_normals.foreach_get("vector", normals)
        outer = np.ones(count, dtype=bool)
        body = np.ones(count, dtype=bool)
        attribute = mesh.attributes.get(PART_ATTRIBUTE)
        if attribute is not None and attribute.domain == "FACE" and len(mesh.polygons):
            # a procedural garment says which face is which: vertices take their faces' parts
            parts = np.empty(len(mesh.polygons), dtype=np.int32)
            attribute.data.foreach_get("value", parts)
            totals = np.empty(len(mesh.polygons), dtype=np.int32)
            mesh.polygons.foreach_get("loop_total", totals)
            loop_verts = np.empty(len(mesh.loops), dtype=np.int32)
            mesh.loops.foreach_get("vertex_index", loop_verts)
            loop_parts = np.repeat(parts, totals)
            on_inside = np.zeros(count, dtype=bool)
            on_inside[loop_verts[loop_parts == PART_INSIDE]] = True
            on_body = np.zeros(count, dtype=bool)
            on_body[loop_verts[(loop_parts == PART_FRONT) | (loop_parts == PART_BACK)]] = True
            outer, body = ~on_inside, on_body & ~on_inside
    finally:
        evaluated.to_mesh_clear()
    return _Mesh(co.reshape(-1, 3), normals.reshape(-1, 3), outer, body)


def _unit(vector: np.ndarray) -> np.ndarray | None:
    length = float(np.linalg.norm(vector))
    return vector / length if length > 1e-9 else None


def _vec(values: np.ndarray) -> Vec3:
    return (float(values[0]), float(values[1]), float(values[2]))


def _landmarks(obj: bpy.types.Object, template) -> dict[str, np.ndarray]:
    """The template's landmarks in object space: in the model's units, scaled to metres as the
    importer scaled the model, plus its re-centring shift."""
    given = dict(getattr(template, "landmarks", None) or {})
    scale = float(obj.get(LANDMARK_SCALE_PROPERTY, 1.0))
    offset = np.zeros(3)
    shift = obj.get(LANDMARK_OFFSET_PROPERTY)
    if shift is not None:
        offset = np.asarray(list(shift), dtype=np.float64)
    return {name: np.asarray(point, dtype=np.float64) * scale + offset
            for name, point in given.items()}


def _sleeve_axis(mesh: _Mesh, center: np.ndarray, side: float) -> np.ndarray:
    """The mean normal of the outward-facing surface near a given sleeve centre."""
    near = mesh.outer & (np.linalg.norm(mesh.co - center, axis=1) < SLEEVE_NEAR_M)
    near &= mesh.normals[:, 0] * side > SLEEVE_OUTWARD
    axis = _unit(mesh.normals[near].sum(axis=0)) if near.any() else None
    return axis if axis is not None else np.array([side, 0.0, 0.0])


def _measure_sleeve(mesh: _Mesh, center_x: float, half_width: float,
                    side: float) -> SleeveFrame | None:
    """The outer centre of the sleeve on ``side`` (+1: +X, the wearer's left).

    The sleeve is what lies beyond the body's side; its outside is the part whose normals lean
    outward, their mean is the axis. The centre is SLEEVE_CENTRE_AT of the way along that
    outside (within the upper arm's reach), moved out along the axis onto the surface.
    """
    out = (mesh.co[:, 0] - center_x) * side
    start = half_width + SLEEVE_GAP_M
    outside = mesh.outer & (out > start) & (out < start + SLEEVE_REACH_M)
    outside &= mesh.normals[:, 0] * side > SLEEVE_OUTWARD
    if np.count_nonzero(outside) < 8:
        return None
    points, normals = mesh.co[outside], mesh.normals[outside]
    axis = _unit(normals.sum(axis=0))
    if axis is None:
        return None
    # along the sleeve: outward, square to the axis (a horizontal axis has no such line; then
    # the sleeve runs down)
    along = _unit(np.array([side, 0.0, 0.0]) - axis[0] * side * axis)
    if along is None:
        along = _unit(np.array([0.0, 0.0, -1.0]) + axis[2] * axis)
    reach = points @ along
    middle = reach.min() + (reach.max() - reach.min()) * SLEEVE_CENTRE_AT
    slice_ = np.abs(reach - middle) < SLEEVE_SLICE_M
    center = points[slice_].mean(axis=0) if slice_.any() else points.mean(axis=0)
    offsets = points - center
    depth = offsets @ axis
    radial = np.linalg.norm(offsets - np.outer(depth, axis), axis=1)
    on_line = radial < SLEEVE_LINE_M
    if on_line.any():
        center = center + axis * depth[on_line].max()
    return SleeveFrame(_vec(center), _vec(axis))


def _measured_sleeve(mesh: _Mesh, marks: dict[str, np.ndarray], name: str, center_x: float,
                     half_width: float, side: float) -> SleeveFrame | None:
    if name in marks:
        center = marks[name]
        return SleeveFrame(_vec(center), _vec(_sleeve_axis(mesh, center, side)))
    return _measure_sleeve(mesh, center_x, half_width, side)


def frame_for(obj: bpy.types.Object, template=None) -> GarmentFrame:
    """The garment frame of ``obj``: the template's landmarks where given, else measured."""
    mesh = _read_mesh(obj)
    marks = _landmarks(obj, template)
    body = mesh.co[mesh.body] if mesh.body.any() else mesh.co[mesh.outer]
    collar_marks = [marks[n] for n in ("collar_front", "collar_back") if n in marks]
    if collar_marks:
        center_x = float(np.mean([p[0] for p in collar_marks]))
    else:
        center_x = float(body[:, 0].min() + body[:, 0].max()) / 2.0
    front_y, back_y = float(body[:, 1].min()), float(body[:, 1].max())
    mid_y = (front_y + back_y) / 2.0
    centre = body[np.abs(body[:, 0] - center_x) < CENTRE_BAND_M]
    if len(centre) == 0:
        centre = body

    def highest(front: bool) -> float:
        half = centre[(centre[:, 1] < mid_y) == front]
        return float((half if len(half) else centre)[:, 2].max())

    hem_z = float(marks["hem"][2]) if "hem" in marks else float(centre[:, 2].min())
    collar_front_z = (float(marks["collar_front"][2]) if "collar_front" in marks
                      else highest(front=True))
    collar_back_z = (float(marks["collar_back"][2]) if "collar_back" in marks
                     else highest(front=False))
    at_hem = body[body[:, 2] < hem_z + HEM_BAND_M]
    half_width = float(np.abs((at_hem if len(at_hem) else body)[:, 0] - center_x).max())
    beside_neck = np.abs(body[:, 0] - center_x)
    shoulders = body[(beside_neck > 2 * half_width * HPS_BAND[0])
                     & (beside_neck < 2 * half_width * HPS_BAND[1])]
    hps_z = float(shoulders[:, 2].max()) if len(shoulders) else max(collar_front_z,
                                                                       collar_back_z)
    frame = GarmentFrame(
        center_x=center_x, front_y=front_y, back_y=back_y, collar_front_z=collar_front_z,
        collar_back_z=collar_back_z, hem_z=hem_z, hps_z=hps_z,
        sleeve_left=_measured_sleeve(mesh, marks, "sleeve_left", center_x, half_width, 1.0),
        sleeve_right=_measured_sleeve(mesh, marks, "sleeve_right", center_x, half_width, -1.0),
    )
    _log.debug("garment frame of %s: %s", obj.name, frame)
    return frame
