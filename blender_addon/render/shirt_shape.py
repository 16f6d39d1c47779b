"""The classic tee's shape as numbers: garment measurements, tessellation density, the ids of
its parts, and the smooth curves and deterministic folds the mesh builder samples.

Kept apart from the builder (`shirt_mesh.py`) so the pattern maker's figures and formulas read
on their own; nothing here creates Blender data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mathutils import Vector

UV_MAP_NAME = "Print"
PART_ATTRIBUTE = "tshirt_part"

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
class TeeMeasurements:
    """Garment measurements in metres (defaults: a size-L classic tee).

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
    chest_depth: float = 0.125  # half depth of the torso (front to centre)
    hem_depth: float = 0.118
    sleeve_length: float = 0.20  # shoulder point to sleeve hem, along the top
    sleeve_opening_radius: float = 0.064
    sleeve_drop_deg: float = 42.0  # sleeve top line below horizontal
    collar_height: float = 0.021
    thickness: float = 0.0028
    fold_amplitude: float = 0.007
    hps_z: float = 0.37


@dataclass(frozen=True)
class TeeResolution:
    """Tessellation density; the defaults give ~20k faces after the shell."""

    columns_per_quarter: int = 26
    lower_rows: int = 30
    upper_rows: int = 18
    sleeve_segments: int = 48
    sleeve_rings: int = 16
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


def fold_offset(co: Vector, part: int) -> float:
    """Deterministic soft folds (unit amplitude): a fixed sum of waves, no random seed.

    The same code always gives the same mesh, so renders are reproducible and golden-image
    tests are possible. Body: vertical drape folds that grow toward the hem and meander a
    little, plus shallow drag lines running from the underarms toward the centre. Sleeves:
    a few soft wrinkles around the tube.
    """
    x, y, z = co.x, co.y, co.z
    tau = 2.0 * math.pi
    if part == PART_SLEEVE:
        ax = abs(x)
        ang = math.atan2(y, z - 0.2)
        # fade in away from the shoulder so the sleeve cap keeps a clean silhouette
        cap = smoothstep(0.27, 0.33, ax)
        return cap * (
            0.6 * math.sin(2.0 * ang + tau * ax / 0.12 + 0.7)
            + 0.3 * math.sin(3.0 * ang - tau * z / 0.09 + 1.9)
        )
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
    return (0.3 + 0.7 * low) * drape + 0.35 * diag


def groove(d: float, centre: float, half_width: float) -> float:
    """0..1 profile of a stitched hem line at distance ``d`` from an edge (smooth both sides)."""
    t = abs(d - centre) / half_width
    return 0.0 if t >= 1.0 else 0.5 * (1.0 + math.cos(math.pi * t))
