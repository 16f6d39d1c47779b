"""The garments' shapes as numbers: garment measurements, tessellation density, the ids of
its parts, and the smooth curves and deterministic folds the mesh builder samples.

Kept apart from the builder (`shirt_mesh.py`) so the pattern maker's figures and formulas read
on their own; nothing here creates Blender data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from mathutils import Vector

UV_MAP_NAME = "Print"
PART_ATTRIBUTE = "tshirt_part"
# Point attributes the fabric's stitches are drawn along (metres over the cloth, 1 m where
# there is no such stitching): the distance to a turned-up, coverstitched hem's edge (the
# body's, a short sleeve's) and to the line where the collar band is sewn on.
HEM_DISTANCE_ATTRIBUTE = "tshirt_hem_distance"
NECK_DISTANCE_ATTRIBUTE = "tshirt_neck_distance"
NO_STITCHING = 1.0
# A turned-up hem's stitch line (the groove the coverstitch pulls in), above its edge.
HEM_STITCH_LINE = 0.021

# Face part ids stored in the ``tshirt_part`` integer face attribute. The material does not
# need them; they keep the UV assignment honest and help debugging / future bakes.
PART_FRONT = 0
PART_BACK = 1
PART_SLEEVE = 2
PART_COLLAR = 3
PART_INSIDE = 4

# Where non-print faces are parked in UV space: far outside both panels, so a clipped design
# texture can never land on sleeves, collar or the inside of the shirt.
FAR_UV = (-8.0, -8.0)


@dataclass(frozen=True)
class SleeveRing:
    """One ring of a sleeve tube, for the +X sleeve: an ellipse in the plane through ``up``
    (in the XZ plane) and Y, centred on ``centre``."""

    centre: Vector
    up: Vector
    rz: float  # half extent along ``up``
    ry: float  # half depth along Y
    along: float  # distance to the sleeve's end along its top line (folds and stitch lines)
    rib: float = 0.0  # knit rib depth: alternate ring points stand out and in by this much

    def point(self, around: float, rib: float = 0.0) -> Vector:
        """The ring's point ``around`` radians from the front (pi/2 on the top line), stood
        ``rib`` out from the ellipse."""
        p = self.centre + self.up * ((self.rz + rib) * math.sin(around))
        return p + Vector((0.0, -(self.ry + rib) * math.cos(around), 0.0))


def _tucked(centre: Vector, rz: float, ry: float, k: float) -> tuple[Vector, float, float]:
    """A root ring moved into the body (``k`` 0..1), so the armhole never shows a gap."""
    centre = centre + Vector((-0.065 * k, 0.0, -0.006 * k))
    return centre, rz * (1.0 - 0.18 * k), ry * (1.0 - 0.12 * k)


@dataclass(frozen=True)
class TeeMeasurements:
    """The classic short-sleeve tee: garment measurements in metres (defaults: size L).

    ``hps_z`` places the high-point-shoulder line so the body (HPS to hem) is centred on the
    origin; the panel coordinates used by the print presets are defined from that line.
    """

    body_width: float = 0.56  # side seam to side seam
    body_length: float = 0.74  # HPS line to hem
    front_neck_drop: float = 0.09
    back_neck_drop: float = 0.025
    neck_width: float = 0.19  # HPS to HPS
    neck_front_depth: float = 0.075  # plan view: HPS line to centre-front neck
    neck_back_depth: float = 0.045
    shoulder_width: float = 0.50  # shoulder point to shoulder point
    shoulder_slope: float = 0.045  # drop from HPS to the shoulder point
    armhole_depth: float = 0.245  # HPS line to underarm
    chest_depth: float = 0.131  # half depth of the torso (front to centre)
    hem_depth: float = 0.124
    # the back hangs flatter than the chest: its half depths over the front's
    back_depth_ratio: float = 0.9
    sleeve_length: float = 0.22  # shoulder point to sleeve hem, along the top
    sleeve_opening_radius: float = 0.064
    sleeve_drop_deg: float = 52.0  # sleeve top line below horizontal
    # the hem is cut on the bias of the arm, as a hanging sleeve falls: its opening faces this
    # far below horizontal (toward the floor, not at a side camera), the top line the longer
    hem_facing_deg: float = 74.0
    hem_flatten: float = 0.8  # the empty opening sags shut: its depth over its height
    collar_height: float = 0.021
    thickness: float = 0.0028
    fold_amplitude: float = 0.010
    hps_z: float = 0.37
    #: the short sleeves end in a turned-up, coverstitched hem like the body's
    sleeve_hemmed: ClassVar[bool] = True

    def armhole(self) -> tuple[Vector, Vector]:
        """The +X shoulder point and armpit, where every sleeve's top and underarm lines start."""
        shoulder = Vector((self.shoulder_width / 2, 0.0, self.hps_z - self.shoulder_slope))
        armpit = Vector((self.body_width / 2, 0.0, self.hps_z - self.armhole_depth))
        return shoulder, armpit

    def sleeve_rings(self, res: TeeResolution) -> list[SleeveRing]:
        """A set-in short sleeve lofted between two guide lines, as a pattern maker draws it.

        The top line runs from the shoulder point down the arm, the underarm line from the
        armpit to the hem. Each ring is an ellipse spanning the two lines, so the silhouette
        is exactly those lines; a short extension tucks the root inside the body.
        """
        shoulder, armpit = self.armhole()
        drop = math.radians(self.sleeve_drop_deg)
        d_top = Vector((math.cos(drop), 0.0, -math.sin(drop)))
        top_end = shoulder + d_top * self.sleeve_length
        # the underarm end sits one opening-diameter from the top's, across the biased hem
        facing = math.radians(self.hem_facing_deg)
        across = Vector((-math.sin(facing), 0.0, -math.cos(facing)))
        bottom_end = top_end + across * (2.0 * self.sleeve_opening_radius)
        root_ry = self.chest_depth * 0.68
        end_ry = self.sleeve_opening_radius * self.hem_flatten

        n_r = res.sleeve_rings
        fine = [0.885, 0.905, 0.925, 0.945, 0.965, 0.985, 1.0]
        ts = [-0.3, -0.12] + [0.86 * i / (n_r - len(fine)) for i in range(n_r - len(fine) + 1)]
        ts += fine
        rings: list[SleeveRing] = []
        for t in ts:
            tc = max(t, 0.0)
            top = shoulder.lerp(top_end, tc)
            bottom = armpit.lerp(bottom_end, tc)
            # the cap is fuller than a straight cone: a gentle bulge in the upper half
            bulge = 0.012 * math.sin(math.pi * min(1.0, tc / 0.7))
            centre = (top + bottom) * 0.5
            up = (top - bottom).normalized()
            rz = (top - bottom).length * 0.5 + bulge
            ry = root_ry + (end_ry - root_ry) * smoothstep(0.0, 0.95, tc)
            if t < 0.0:
                centre, rz, ry = _tucked(centre, rz, ry, -t / 0.3)
            rings.append(SleeveRing(centre, up, rz, ry, (1.0 - t) * self.sleeve_length))
        return rings

    def sleeve_offset(self, co: Vector, along: float, around: float) -> float:
        """How far a sleeve point moves along its normal: soft wrinkles, and the stitched
        hem's groove ``along`` metres from the sleeve's end (``around``: angle on the ring)."""
        fold = sleeve_wrinkles(co, around) * smoothstep(0.0, 0.03, along)
        return self.fold_amplitude * 0.7 * fold - 0.0012 * groove(along, HEM_STITCH_LINE, 0.005)


@dataclass(frozen=True)
class LongSleeveMeasurements(TeeMeasurements):
    """The long-sleeve crew-neck tee: the classic body and collar, sleeves to the wrist.

    The sleeves hang as on a ghost mannequin: the top line leaves the shoulder point over the
    cap, then runs straight down the arm ``hang_deg`` out from vertical, while the underarm
    line starts at the armpit. Below the cap every ring is square to the arm, tapering from
    the biceps to the wrist, where a narrower rib cuff is sewn on.
    """

    sleeve_length: float = 0.60  # shoulder point to the cuff's end, along the top line
    hang_deg: float = 10.0  # the arm's line out from vertical
    cap_drop_deg: float = 32.0  # the top line leaves the shoulder point this far below level
    bicep_width: float = 0.128  # across the sleeve just below the armpit
    wrist_width: float = 0.094  # across the sleeve where it meets the cuff
    cuff_width: float = 0.084
    cuff_length: float = 0.065
    rib_depth: float = 0.0006
    #: the sleeves end in a rib cuff, sewn on (a groove), not turned up and stitched
    sleeve_hemmed: ClassVar[bool] = False

    def sleeve_rings(self, res: TeeResolution) -> list[SleeveRing]:
        shoulder, armpit = self.armhole()
        hang = math.radians(self.hang_deg)
        down = Vector((math.sin(hang), 0.0, -math.cos(hang)))
        across = Vector((math.cos(hang), 0.0, math.sin(hang)))  # underarm -> top, square to arm
        cap_in = armpit + down * 0.02
        cap_out = cap_in + across * self.bicep_width
        drop = math.radians(self.cap_drop_deg)
        leave = Vector((math.cos(drop), 0.0, -math.sin(drop)))
        reach = 0.45 * (cap_out - shoulder).length
        handles = (shoulder, shoulder + leave * reach, cap_out - down * reach, cap_out)
        dense = [bezier(*handles, i / 64) for i in range(65)]
        cap_length = sum((b - a).length for a, b in zip(dense, dense[1:], strict=False))
        arm_length = self.sleeve_length - cap_length
        root_ry = self.chest_depth * 0.6  # hanging, the cap is shallower than a raised sleeve's
        flat = 0.9  # a sleeve on the form is a little shallower than it is wide

        rings: list[SleeveRing] = []
        n_cap = res.long_sleeve_cap_rings
        tops = [bezier(*handles, i / n_cap) for i in range(n_cap)]
        gone = 0.0
        for i, top in enumerate(tops):
            tau = i / n_cap
            gone += (top - tops[i - 1]).length if i else 0.0
            bottom = armpit.lerp(cap_in, tau)
            centre = (top + bottom) * 0.5
            ry = root_ry + (self.bicep_width / 2 * flat - root_ry) * smoothstep(0.0, 0.7, tau)
            ring = SleeveRing(centre, (top - bottom).normalized(), (top - bottom).length / 2, ry,
                              self.sleeve_length - gone)
            if i == 0:
                for t in (-0.3, -0.12):
                    c, rz, r_y = _tucked(ring.centre, ring.rz, ring.ry, -t / 0.3)
                    rings.append(SleeveRing(c, ring.up, rz, r_y, ring.along - t * 0.2))
            rings.append(ring)
        # down the arm to the cuff seam, then (after a 4 mm step in) the rib cuff
        u_cuff = 1.0 - self.cuff_length / arm_length
        step = 0.004 / arm_length
        n_arm, n_cuff = res.long_sleeve_rings, res.cuff_rows
        arm = [(u_cuff * i / n_arm, 0.0) for i in range(n_arm + 1)]
        cuff = [(u_cuff + step + (1.0 - u_cuff - step) * i / n_cuff, self.rib_depth)
                for i in range(n_cuff + 1)]
        for u, rib in arm + cuff:
            if u <= u_cuff:
                width = self.wrist_width + (self.bicep_width - self.wrist_width) * (
                    1.0 - u / u_cuff) ** 1.4
            else:
                width = self.cuff_width
            top = cap_out + down * (arm_length * u)
            centre = top - across * (width / 2)
            rings.append(SleeveRing(centre, across, width / 2, width / 2 * flat,
                                    arm_length * (1.0 - u), rib))
        return rings

    def sleeve_offset(self, co: Vector, along: float, around: float) -> float:
        """Wrinkles that stack toward the cuff (the sleeve is longer than the arm it hangs
        on) and a few lengthwise drapes; none on the cap or the cuff, whose seam is a groove."""
        tau = 2.0 * math.pi
        from_shoulder = self.sleeve_length - along
        on = smoothstep(0.08, 0.2, from_shoulder)
        on *= smoothstep(self.cuff_length + 0.004, self.cuff_length + 0.03, along)
        stack = 0.35 + 0.65 * smoothstep(0.35, 0.1, along)
        wander = 1.3 * math.sin(around + 0.6) + 0.8 * math.sin(tau * along / 0.23)
        across = math.sin(tau * along / 0.075 + wander + 0.4)
        across *= 0.6 + 0.4 * math.cos(around - 1.2)
        drape = math.sin(3.0 * around + tau * along / 0.5 + 0.9)
        fold = on * (0.4 * stack * across + 0.3 * drape)
        return self.fold_amplitude * 0.7 * fold - 0.0012 * groove(along, self.cuff_length, 0.004)


@dataclass(frozen=True)
class TeeResolution:
    """Tessellation density; the defaults give ~20k faces after the shell."""

    columns_per_quarter: int = 26
    lower_rows: int = 30
    upper_rows: int = 18
    sleeve_segments: int = 48
    sleeve_rings: int = 16
    long_sleeve_cap_rings: int = 10
    long_sleeve_rings: int = 30  # from the biceps to the cuff seam
    cuff_rows: int = 8
    collar_segments: int = 192
    collar_rows: int = 4


# --------------------------------------------------------------------------------------------
# small maths helpers


def superellipse(phi: float, a: float, b: float, p: float) -> tuple[float, float]:
    """Point on a superellipse; p > 2 squares the torso's sides like a filled garment."""
    c, s = math.cos(phi), math.sin(phi)
    x = a * math.copysign(abs(c) ** (2.0 / p), c)
    y = b * math.copysign(abs(s) ** (2.0 / p), s)
    return x, y


def bezier(p0: Vector, p1: Vector, p2: Vector, p3: Vector, t: float) -> Vector:
    u = 1.0 - t
    return (u * u * u) * p0 + (3 * u * u * t) * p1 + (3 * u * t * t) * p2 + (t * t * t) * p3


def smoothstep(e0: float, e1: float, x: float) -> float:
    t = min(1.0, max(0.0, (x - e0) / (e1 - e0)))
    return t * t * (3.0 - 2.0 * t)


def quarter_angles(n: int, a: float, b: float, p: float) -> list[float]:
    """Angles 0..pi/2 (front centre to side) evenly spaced by arc length on the chest ring.

    Even spacing keeps quads square; using the same angles mirrored to all four quarters makes
    front and back columns pair up exactly, which is what lets the shoulder seam be welded.
    """
    dense = 2000
    phis = [-(math.pi / 2) + (math.pi / 2) * i / dense for i in range(dense + 1)]
    pts = [superellipse(f, a, b, p) for f in phis]
    acc = [0.0]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False):
        acc.append(acc[-1] + math.hypot(x1 - x0, y1 - y0))
    total = acc[-1]
    out: list[float] = []
    j = 0
    for i in range(n + 1):
        target = total * i / n
        while j < dense - 1 and acc[j + 1] < target:
            j += 1
        seg = acc[j + 1] - acc[j]
        t = 0.0 if seg == 0 else (target - acc[j]) / seg
        out.append(phis[j] + t * (phis[j + 1] - phis[j]))
    out[0], out[-1] = -math.pi / 2, 0.0
    return out


def fold_offset(co: Vector) -> float:
    """Deterministic soft folds of the body (unit amplitude): a fixed sum of waves, no random
    seed.

    The same code always gives the same mesh, so renders are reproducible and golden-image
    tests are possible: vertical drape folds that grow toward the hem and meander a little,
    shallow drag lines running from the underarms toward the centre, folds across the sides
    with flutes above the hem, and a fan from each underarm.
    """
    x, y, z = co.x, co.y, co.z
    tau = 2.0 * math.pi
    low = smoothstep(0.30, -0.32, z)  # 0 at the chest, 1 near the hem
    # long vertical drapes; each wave is switched on and off along z so folds have ends
    drape = 0.0
    for wavelength, phase, z_len, z_phase, weight in (
        (0.21, 0.4, 0.9, 0.3, 0.60),
        (0.13, 2.1, 0.55, 1.7, 0.40),
        (0.085, 4.2, 0.42, 4.0, 0.22),
    ):
        bend = 0.6 * math.sin(tau * z / 0.7 + phase)
        on = 0.5 + 0.5 * math.sin(tau * z / z_len + z_phase)
        drape += weight * on * math.sin(tau * x / wavelength + bend + phase)
    # shallow drag lines from the underarms toward the centre, fading out quickly
    ax = abs(x)
    diag = math.sin(tau * (0.75 * ax + z) / 0.09 + 1.1)
    diag *= smoothstep(0.08, 0.22, ax) * smoothstep(-0.10, 0.02, z) * smoothstep(0.13, 0.05, z)
    return (0.3 + 0.7 * low) * drape + 0.35 * diag + _side_folds(x, y, z) + _armpit_fan(x, z)


def sleeve_wrinkles(co: Vector, around: float) -> float:
    """A few soft wrinkles round a short sleeve (unit amplitude): waves in the angle round its
    rings (``around``: 0 at the front, pi/2 on the top line), so they follow the tube however
    far it hangs. An angle about a fixed point would flip where the tube passes through that
    point, and pinch the cloth there."""
    tau = 2.0 * math.pi
    ax = abs(co.x)
    ang = around - math.pi / 2
    # fade in away from the shoulder so the sleeve cap keeps a clean silhouette
    cap = smoothstep(0.27, 0.33, ax)
    return cap * (
        0.6 * math.sin(2.0 * ang + tau * ax / 0.12 + 0.7)
        + 0.3 * math.sin(3.0 * ang - tau * co.z / 0.09 + 1.9)
    )


def _side_folds(x: float, y: float, z: float) -> float:
    """Vertical folds across the sides (their waves run along y, which the drapes' x waves
    cannot: the side seam is nearly constant in x), deeper toward the hem where the jersey
    hangs loosest, and a few broad flutes just above the hem."""
    tau = 2.0 * math.pi
    side = smoothstep(0.21, 0.275, abs(x)) * smoothstep(0.13, 0.0, z)
    wander = 0.9 * math.sin(tau * z / 0.55 + 0.4 * math.copysign(1.0, x))
    folds = side * (0.45 + 0.55 * smoothstep(0.0, -0.3, z)) * (
        0.7 * math.sin(tau * y / 0.075 + wander + 0.6)
        + 0.3 * math.sin(tau * y / 0.041 - 1.7 * wander + 2.2))
    above_hem = smoothstep(-0.20, -0.31, z)
    flutes = above_hem * 0.35 * math.sin(tau * x / 0.115 + 0.9 * math.sin(tau * y / 0.5) + 1.3)
    return folds + flutes


def _armpit_fan(x: float, z: float) -> float:
    """Soft folds radiating from each underarm, where a sleeve's fullness gathers into the
    body: waves around the armpit that fade in off the seam and out within ~20 cm."""
    inward, down = 0.28 - abs(x), 0.125 - z
    r = math.hypot(inward, down)
    angle = math.atan2(down, inward)
    reach = smoothstep(0.015, 0.05, r) * smoothstep(0.22, 0.09, r)
    return 0.4 * reach * smoothstep(-0.03, 0.02, down) * math.sin(6.0 * angle + 8.0 * r + 0.4)


def groove(d: float, centre: float, half_width: float) -> float:
    """0..1 profile of a stitched hem line at distance ``d`` from an edge (smooth both sides)."""
    t = abs(d - centre) / half_width
    return 0.0 if t >= 1.0 else 0.5 * (1.0 + math.cos(math.pi * t))


#: The procedural garments by generator name (``shared.templates.GENERATORS``): each one's
#: measurements class, whose sleeves are what sets it apart.
GARMENTS: dict[str, type[TeeMeasurements]] = {
    "classic_tee": TeeMeasurements,
    "long_sleeve_tee": LongSleeveMeasurements,
}
