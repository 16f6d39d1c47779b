"""Procedural crew-neck T-shirt meshes (the classic tee, the long-sleeve tee) with the "Print"
UV layout.

The shirt is built from analytic surfaces rather than sculpted data so that it is deterministic
(same code, same mesh), light enough for CPU Cycles and exactly to size: the UV layout of the
print panels is a planar projection of the real garment measurements, so a placement box given
in panel coordinates lands where a print shop would put it.

Pieces, as a garment is sewn:

* the body: one tube (front and back panels joined at the side seams) whose top closes over
  the shoulders (the shoulder seams) and leaves the neck opening;
* two set-in sleeves: tapered tubes whose roots sit inside the body, so the line where they
  leave it reads as the armhole seam; their rings come from the garment's measurements
  (``shirt_shape``): short and raised on the classic tee, hanging to a rib cuff on the
  long-sleeve tee;
* a rib collar band sewn into the neck opening, with real geometric ribs;
* gentle folds: a fixed sum of smooth waves pushed along the normals (no random seed);
* thickness: a shell turned inwards so the openings show a fabric edge;
* where the stitching runs: each point's distance to a coverstitched hem and to the collar's
  seam, as point attributes the fabric draws the stitch rows along.

Everything here is plain ``bmesh``/``mathutils``/``math``; it creates one mesh datablock and
knows nothing about materials, lights or cameras.
"""

from __future__ import annotations

import math

import bmesh
import bpy
from mathutils import Vector
from mathutils.kdtree import KDTree

from . import shirt_shape as shape
from .shirt_shape import (
    FAR_UV,
    GARMENTS,
    HEM_DISTANCE_ATTRIBUTE,
    NECK_DISTANCE_ATTRIBUTE,
    NO_STITCHING,
    PART_ATTRIBUTE,
    PART_BACK,
    PART_COLLAR,
    PART_FRONT,
    PART_INSIDE,
    PART_SLEEVE,
    UV_MAP_NAME,
    TeeMeasurements,
    TeeResolution,
)

# --------------------------------------------------------------------------------------------
# the pieces


class _Builder:
    def __init__(self, m: TeeMeasurements, res: TeeResolution) -> None:
        self.m = m
        self.res = res
        self.bm = bmesh.new()
        self.part_layer = self.bm.faces.layers.int.new(PART_ATTRIBUTE)
        # every layer before the first point: adding one re-allocates the points' data, and
        # ``sleeve_coords`` would no longer find its points
        self.hem_layer = self.bm.verts.layers.float.new(HEM_DISTANCE_ATTRIBUTE)
        self.neck_layer = self.bm.verts.layers.float.new(NECK_DISTANCE_ATTRIBUTE)
        self.panel_faces: list[bmesh.types.BMFace] = []
        # each sleeve vertex's distance to the sleeve's end and angle around its ring
        self.sleeve_coords: dict[bmesh.types.BMVert, tuple[float, float]] = {}

    # -- body ---------------------------------------------------------------------------------

    def _top_point(self, x_top: float, front: bool) -> tuple[Vector, bool]:
        """Point on the shoulder seam or the neckline for a column ending at ``x_top``."""
        m = self.m
        nw = m.neck_width / 2
        sw = m.shoulder_width / 2
        ax = abs(x_top)
        if ax <= nw + 1e-9:
            k = ax / nw
            c = math.sqrt(max(0.0, 1.0 - k * k))
            # drop ~ (1 - k^2.5)^1.5: a round U from the front that still passes flat over
            # the HPS in profile (no peak where the front and back necklines meet)
            drop = (1.0 - k**2.5) ** 1.5
            if front:
                y = -m.neck_front_depth * c
                z = m.hps_z - m.front_neck_drop * drop
            else:
                y = m.neck_back_depth * c
                z = m.hps_z - m.back_neck_drop * drop
            return Vector((x_top, y, z)), True
        t = (ax - nw) / (sw - nw)
        # shoulders slope a bit faster toward the shoulder point (natural shoulder curve)
        z = m.hps_z - m.shoulder_slope * (0.6 * t + 0.4 * t * t)
        return Vector((x_top, 0.0, z)), False

    def build_body(self) -> None:
        m, res = self.m, self.res
        bm = self.bm
        hw = m.body_width / 2
        sw = m.shoulder_width / 2
        nw = m.neck_width / 2
        p_exp = 3.0
        z_hem = m.hps_z - m.body_length
        z_arm = m.hps_z - m.armhole_depth

        quarter = shape.quarter_angles(res.columns_per_quarter, hw, m.chest_depth, p_exp)
        nq = res.columns_per_quarter
        # half ring from centre front (-Y) over the +X side to centre back, then its mirror
        # image back to the front: columns run counter-clockwise seen from above and every
        # front column has a back twin with the same x (needed to weld the shoulder seam).
        half = quarter + [-f for f in reversed(quarter[:-1])]
        ring = [shape.superellipse(f, hw, 1.0, p_exp) for f in half]
        ring += [(-ring[i][0], ring[i][1]) for i in range(2 * nq - 1, 0, -1)]
        ring = [(x, 0.0 if abs(y) < 1e-12 else y) for x, y in ring]
        ring_cols = len(ring)
        col_x0 = [x for x, _ in ring]
        col_y0 = [y for _, y in ring]

        # column top x: piecewise-linear map of ring x so one column lands exactly on each HPS
        front_quarter_x = [abs(col_x0[i]) for i in range(nq + 1)]
        k_hps = min(range(1, nq), key=lambda i: abs(front_quarter_x[i] * sw / hw - nw))

        def top_x(xr: float) -> float:
            ax = abs(xr)
            xk = front_quarter_x[k_hps]
            xt = ax / xk * nw if ax <= xk else nw + (ax - xk) / (hw - xk) * (sw - nw)
            return math.copysign(xt, xr)

        def depth_at(z: float) -> float:
            # slightly fuller chest than waist, hem a touch fuller again
            t = (z - z_hem) / (z_arm - z_hem)
            waist = m.hem_depth - 0.006
            return (1 - t) ** 2 * m.hem_depth + 2 * (1 - t) * t * waist + t * t * m.chest_depth

        def width_at(z: float) -> float:
            # a hint of waist and a straight hem: the garment hangs, it is not a box
            t = (z - z_hem) / (z_arm - z_hem)
            return (1 - t) ** 2 * 1.0 + 2 * (1 - t) * t * 0.965 + t * t * 1.0

        n_up = res.upper_rows
        # extra rows at the hem: the turned-up hem and its stitch line need a finer grid
        hem_band = [0.0, 0.003, 0.008, 0.013, 0.017, 0.021, 0.025, 0.029, 0.034, 0.040]
        start = hem_band[-1] + (z_arm - z_hem - hem_band[-1]) / res.lower_rows
        lower_zs = [z_hem + d for d in hem_band]
        lower_zs += [
            z_hem + start + (z_arm - z_hem - start) * i / (res.lower_rows - 1)
            for i in range(res.lower_rows - 1)
        ]
        n_low = len(lower_zs)
        grid: list[list[bmesh.types.BMVert]] = []
        for c in range(ring_cols):
            xr, yu = col_x0[c], col_y0[c]
            if yu > 0.0:
                yu *= m.back_depth_ratio
            column: list[bmesh.types.BMVert] = []
            for z in lower_zs:
                column.append(bm.verts.new((xr * width_at(z), yu * depth_at(z), z)))
            p0 = Vector((xr, yu * m.chest_depth, z_arm))
            xt = top_x(xr)
            p3, neck = self._top_point(xt, front=yu < 0)
            if abs(yu) < 1e-9:
                p3 = Vector((xt, 0.0, p3.z))
                neck = False
            flat = Vector((p3.x - p0.x, p3.y - p0.y, 0.0))
            d3 = flat.normalized() if flat.length > 1e-9 else Vector((0.0, 0.0, 1.0))
            if neck:
                k = abs(xt) / nw
                beta = math.radians(58.0) * (1.0 - k * k)
                d3 = (d3 * math.cos(beta) + Vector((0.0, 0.0, 1.0)) * math.sin(beta)).normalized()
            rise = p3.z - p0.z
            # the chest and back stay upright above the armpits, then slope in to the seam,
            # as a torso narrows from the chest (~25 cm deep) to the shoulder: in profile the
            # sleeve's cap carries the shoulder's line up to the collar, with no dome over it
            p1 = p0 + Vector((0.0, 0.0, 0.5 * rise))
            p2 = p3 - d3 * (0.45 * max(flat.length, 0.04) + 0.05 * rise)
            p2.z -= 0.1 * rise
            for r in range(1, n_up + 1):
                t = r / n_up
                column.append(bm.verts.new(shape.bezier(p0, p1, p2, p3, t)))
            grid.append(column)

        rows = n_low + n_up
        for c in range(ring_cols):
            c2 = (c + 1) % ring_cols
            # a face belongs to the front panel when both of its columns are on the front half
            part = PART_FRONT if col_y0[c] + col_y0[c2] < 0 else PART_BACK
            for r in range(rows - 1):
                # outward normals: columns run counter-clockwise seen from above, rows upward
                f = bm.faces.new((grid[c][r], grid[c2][r], grid[c2][r + 1], grid[c][r + 1]))
                f[self.part_layer] = part
                self.panel_faces.append(f)
        # weld the shoulder seams: front and back columns ending on the same ridge point
        top_xs = [top_x(col_x0[c]) for c in range(ring_cols)]
        ridge = [grid[c][rows - 1] for c in range(ring_cols) if abs(top_xs[c]) >= nw - 1e-9]
        bmesh.ops.remove_doubles(bm, verts=ridge, dist=1e-6)
        # the neckline as an ordered closed loop for the collar:
        # -X HPS, across the front to the +X HPS, then across the back
        inner = [c for c in range(ring_cols) if abs(top_xs[c]) < nw - 1e-9]
        front_cols = sorted((c for c in inner if col_y0[c] < 0), key=lambda c: col_x0[c])
        back_cols = sorted((c for c in inner if col_y0[c] > 0), key=lambda c: -col_x0[c])
        self.neck_loop = (
            [Vector((-nw, 0.0, m.hps_z))]
            + [grid[c][rows - 1].co.copy() for c in front_cols]
            + [Vector((nw, 0.0, m.hps_z))]
            + [grid[c][rows - 1].co.copy() for c in back_cols]
        )

    # -- sleeves ------------------------------------------------------------------------------

    def build_sleeve(self, side: float) -> None:
        """One sleeve from the garment's rings; ``side`` is +1 for the wearer's left (+X) and
        -1 for the right (the rings are given for +X and mirrored)."""
        n_s = self.res.sleeve_segments
        rings: list[list[bmesh.types.BMVert]] = []
        for spec in self.m.sleeve_rings(self.res):
            ring: list[bmesh.types.BMVert] = []
            for k_seg in range(n_s):
                a = 2 * math.pi * k_seg / n_s
                p = spec.point(a, spec.rib if k_seg % 2 == 0 else -spec.rib)
                v = self.bm.verts.new((p.x * side, p.y, p.z))
                self.sleeve_coords[v] = (spec.along, a)
                ring.append(v)
            rings.append(ring)
        for i in range(len(rings) - 1):
            for k in range(n_s):
                k2 = (k + 1) % n_s
                quad = (rings[i][k], rings[i][k2], rings[i + 1][k2], rings[i + 1][k])
                f = self.bm.faces.new(quad if side < 0 else tuple(reversed(quad)))
                f[self.part_layer] = PART_SLEEVE

    # -- collar -------------------------------------------------------------------------------

    def build_collar(self) -> None:
        """Rib band: the neckline resampled finely, rising up and slightly in, with ribs."""
        m, res = self.m, self.res
        bm = self.bm
        pts = self.neck_loop
        n = len(pts)
        # centripetal-free Catmull-Rom resampling of the closed neckline
        dense: list[Vector] = []
        sub = 16
        for i in range(n):
            p0, p1, p2, p3 = pts[i - 1], pts[i], pts[(i + 1) % n], pts[(i + 2) % n]
            for s in range(sub):
                t = s / sub
                t2, t3 = t * t, t * t * t
                dense.append(
                    0.5
                    * (
                        (2 * p1)
                        + (-p0 + p2) * t
                        + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2
                        + (-p0 + 3 * p1 - 3 * p2 + p3) * t3
                    )
                )
        acc = [0.0]
        for a, b in zip(dense, dense[1:] + dense[:1], strict=False):
            acc.append(acc[-1] + (b - a).length)
        total = acc[-1]
        samples: list[Vector] = []
        j = 0
        nseg = res.collar_segments
        for i in range(nseg):
            target = total * i / nseg
            while acc[j + 1] < target:
                j += 1
            t = (target - acc[j]) / max(acc[j + 1] - acc[j], 1e-12)
            samples.append(dense[j].lerp(dense[(j + 1) % len(dense)], t))
        centre = Vector((0.0, (m.neck_back_depth - m.neck_front_depth) * 0.5, 0.0))
        rows: list[list[bmesh.types.BMVert]] = []
        nrow = res.collar_rows
        for r in range(nrow + 1):
            s = -0.005 + (m.collar_height + 0.005) * r / nrow
            ring = []
            for i, p in enumerate(samples):
                inward = Vector((centre.x - p.x, centre.y - p.y, 0.0)).normalized()
                # the band leans in, most at the sides of the neck, so it wraps an (invisible)
                # neck instead of standing up as tips above the shoulder seams
                side = min(1.0, abs(p.x) / (m.neck_width / 2))
                lean = 0.30 + 0.35 * side * side
                d = (Vector((0.0, 0.0, 1.0)) * (1.0 - lean * 0.5) + inward * lean).normalized()
                # knit ribs: alternate samples in and out, fading out at the seam so the line
                # where the band meets the body stays clean
                rib = 0.0005 * (1.0 if i % 2 == 0 else -1.0) * min(1.0, r / 2)
                q = p + d * s - inward * (rib + 0.0012)
                ring.append(bm.verts.new(q))
            rows.append(ring)
        # orientation: samples run -X HPS -> front -> +X HPS -> back, i.e. counter-clockwise
        for r in range(nrow):
            for i in range(nseg):
                i2 = (i + 1) % nseg
                f = bm.faces.new((rows[r][i], rows[r][i2], rows[r + 1][i2], rows[r + 1][i]))
                f[self.part_layer] = PART_COLLAR

    # -- finishing ----------------------------------------------------------------------------

    def mark_stitch_distances(self) -> None:
        """Store each point's distance to a coverstitched hem's edge and to the neckline the
        collar is sewn into (before the folds move the points: distances over the cloth)."""
        m = self.m
        # the neckline as points ~1 mm apart; a body point's distance is to the nearest
        loop = self.neck_loop
        samples = []
        for a, b in zip(loop, loop[1:] + loop[:1], strict=False):
            steps = max(1, math.ceil((b - a).length / 0.001))
            samples += [a.lerp(b, i / steps) for i in range(steps)]
        neckline = KDTree(len(samples))
        for i, co in enumerate(samples):
            neckline.insert(co, i)
        neckline.balance()
        z_hem = m.hps_z - m.body_length
        for v in self.bm.verts:
            parts = {f[self.part_layer] for f in v.link_faces}
            hem = neck = NO_STITCHING
            if PART_SLEEVE in parts:
                if m.sleeve_hemmed:
                    hem = self.sleeve_coords[v][0]
            elif PART_COLLAR not in parts:
                hem = v.co.z - z_hem
                neck = neckline.find(v.co)[2]
            v[self.hem_layer] = min(hem, NO_STITCHING)
            v[self.neck_layer] = min(neck, NO_STITCHING)

    def add_folds(self) -> None:
        """Push vertices along their normals: folds, plus stitched hem lines (small grooves)."""
        m = self.m
        bm = self.bm
        bm.normal_update()
        z_hem = m.hps_z - m.body_length
        moves: list[tuple[bmesh.types.BMVert, Vector]] = []
        for v in bm.verts:
            parts = {f[self.part_layer] for f in v.link_faces}
            if PART_COLLAR in parts:
                continue
            if PART_SLEEVE in parts:
                offset = m.sleeve_offset(v.co, *self.sleeve_coords.get(v, (1.0, 0.0)))
            else:
                # folds fade out at the neckline and shoulder seam so the collar sits clean,
                # and near the hem, which a turned-up double layer keeps flatter
                d_hem = v.co.z - z_hem
                fade = shape.smoothstep(m.hps_z - 0.02, m.hps_z - 0.16, v.co.z)
                fade *= 0.4 + 0.6 * shape.smoothstep(0.0, 0.05, d_hem)
                offset = m.fold_amplitude * fade * shape.fold_offset(v.co)
                offset -= 0.0013 * shape.groove(d_hem, shape.HEM_STITCH_LINE, 0.006)
            moves.append((v, v.normal * offset))
        for v, d in moves:
            v.co += d

    def assign_uvs(self) -> None:
        m = self.m
        uv = self.bm.loops.layers.uv.new(UV_MAP_NAME)
        for f in self.bm.faces:
            part = f[self.part_layer]
            for loop in f.loops:
                co = loop.vert.co
                x_front = co.x / m.body_width + 0.5
                y = (m.hps_z - co.z) / m.body_length
                if part == PART_FRONT:
                    loop[uv].uv = (x_front, 1.0 - y)
                elif part == PART_BACK:
                    loop[uv].uv = (2.0 + (1.0 - x_front), 1.0 - y)
                else:
                    loop[uv].uv = FAR_UV

    def solidify(self) -> None:
        """Give the cloth its thickness: an inner shell plus rims at every opening.

        Hand-rolled rather than ``bmesh.ops.solidify``, whose angle-based shell factor throws
        spikes where a sleeve root ring ends inside the body. Plain offsets along the vertex
        normals are enough for 3 mm of cloth.
        """
        bm = self.bm
        bm.normal_update()
        t = self.m.thickness
        verts = list(bm.verts)
        faces = list(bm.faces)
        boundary = [e for e in bm.edges if e.is_boundary]
        # (each inner point a copy of its outer one's attributes: the stitches go through)
        inner = {v: bm.verts.new(v.co - v.normal * t, v) for v in verts}
        for f in faces:
            g = bm.faces.new([inner[v] for v in reversed(f.verts)])
            g[self.part_layer] = PART_INSIDE
            g.smooth = True
        for e in boundary:
            face = e.link_faces[0]
            # keep the edge's direction as the face loop runs, so the rim winds consistently
            loop = next(lp for lp in face.loops if lp.edge == e)
            a, b = loop.vert, loop.link_loop_next.vert
            g = bm.faces.new((b, a, inner[a], inner[b]))
            g[self.part_layer] = PART_INSIDE


def build_shirt_mesh(
    name: str = "ClassicTee",
    generator: str = "classic_tee",
    measurements: TeeMeasurements | None = None,
    resolution: TeeResolution | None = None,
) -> bpy.types.Mesh:
    """Build a procedural garment as a new mesh datablock (smooth shaded, UV map "Print").

    ``generator`` names the garment (``shirt_shape.GARMENTS``); ``measurements`` overrides its
    default size-L measurements.
    """
    if generator not in GARMENTS:
        raise ValueError(f"Unknown garment generator {generator!r}.")
    b = _Builder(measurements or GARMENTS[generator](), resolution or TeeResolution())
    b.build_body()
    b.build_sleeve(+1.0)
    b.build_sleeve(-1.0)
    b.build_collar()
    b.mark_stitch_distances()
    b.add_folds()
    b.solidify()
    b.assign_uvs()
    mesh = bpy.data.meshes.new(name)
    b.bm.to_mesh(mesh)
    b.bm.free()
    for poly in mesh.polygons:
        poly.use_smooth = True
    mesh.uv_layers.active = mesh.uv_layers[UV_MAP_NAME]
    mesh.update()
    return mesh
