"""Matrix/TRC ICC profiles: the maths to bring a tagged design's colours into sRGB.

Display-class RGB profiles (Adobe RGB (1998), Display P3, a camera's or a monitor's own) and
grey profiles describe a colour space by three tone curves and a 3 x 3 matrix into the PCS
(CIE XYZ, D50). That is all the renderer needs to convert pixels without LittleCMS, which
Blender does not ship: decode each channel through its curve, multiply by
`MatrixProfile.to_linear_srgb()`, encode with the sRGB curve. Profiles built from lookup
tables (CMYK press profiles, some scanner profiles) are refused with `UnsupportedProfile`; the
service converts those with LittleCMS, the renderer reads such a design's numbers as sRGB.

The XYZ -> sRGB side follows LittleCMS's built-in sRGB profile (IEC 61966-2-1 primaries, D65
adapted to the D50 PCS with Bradford), so results agree with Pillow's ImageCms to a level or two.
Stdlib only: this runs inside Blender, the service and the CLI.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .colors import linear_to_srgb, srgb_to_linear

Vector = tuple[float, float, float]
Matrix = tuple[Vector, Vector, Vector]

#: The ICC profile connection space's white (D50), as the ICC specification fixes it.
D50: Vector = (0.9642, 1.0, 0.8249)
_SRGB_PRIMARIES = ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06))
_D65_XY = (0.3127, 0.3290)
_BRADFORD: Matrix = ((0.8951, 0.2664, -0.1614),
                     (-0.7502, 1.7135, 0.0367),
                     (0.0389, -0.0685, 1.0296))
# How close a profile must be to sRGB to be treated as sRGB (skipping a no-op conversion):
# well under half an 8-bit level anywhere.
_SRGB_TOLERANCE = 1e-3


class UnsupportedProfile(ValueError):
    """Not a matrix/TRC RGB or grey profile, or a damaged one: the caller keeps the numbers."""


# ---------------------------------------------------------------------------------------------
# 3 x 3 maths


def mat_mul(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]]) -> Matrix:
    return tuple(tuple(sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3))
                 for i in range(3))  # type: ignore[return-value]


def mat_vec(m: Sequence[Sequence[float]], v: Sequence[float]) -> Vector:
    return tuple(sum(m[i][k] * v[k] for k in range(3)) for i in range(3))  # type: ignore


def mat_inv(m: Sequence[Sequence[float]]) -> Matrix:
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    if abs(det) < 1e-12:
        raise UnsupportedProfile("the profile's colour matrix cannot be inverted")
    cof = ((e * i - f * h, c * h - b * i, b * f - c * e),
           (f * g - d * i, a * i - c * g, c * d - a * f),
           (d * h - e * g, b * g - a * h, a * e - b * d))
    return tuple(tuple(v / det for v in row) for row in cof)  # type: ignore[return-value]


def _diag(v: Vector) -> Matrix:
    return ((v[0], 0.0, 0.0), (0.0, v[1], 0.0), (0.0, 0.0, v[2]))


def _xy_to_xyz(x: float, y: float) -> Vector:
    return (x / y, 1.0, (1 - x - y) / y)


def bradford(source_white: Vector, target_white: Vector) -> Matrix:
    """Chromatic adaptation of XYZ from one white to another (the von Kries-Bradford method
    that ICC profiles and LittleCMS use)."""
    src = mat_vec(_BRADFORD, source_white)
    dst = mat_vec(_BRADFORD, target_white)
    scale = _diag((dst[0] / src[0], dst[1] / src[1], dst[2] / src[2]))
    return mat_mul(mat_inv(_BRADFORD), mat_mul(scale, _BRADFORD))


def _rgb_to_xyz(primaries: Sequence[tuple[float, float]], white: Vector) -> Matrix:
    columns = [_xy_to_xyz(x, y) for x, y in primaries]
    raw = tuple(tuple(columns[j][i] for j in range(3)) for i in range(3))
    scale = mat_vec(mat_inv(raw), white)
    return tuple(tuple(raw[i][j] * scale[j] for j in range(3)) for i in range(3))  # type: ignore


D65: Vector = _xy_to_xyz(*_D65_XY)
#: Linear sRGB -> XYZ (D65), from the standard's primaries and white.
SRGB_TO_XYZ_D65: Matrix = _rgb_to_xyz(_SRGB_PRIMARIES, D65)
XYZ_D65_TO_SRGB: Matrix = mat_inv(SRGB_TO_XYZ_D65)
#: XYZ in the PCS (D50) -> linear sRGB: Bradford to D65, then the sRGB matrix.
XYZ_D50_TO_SRGB: Matrix = mat_mul(XYZ_D65_TO_SRGB, bradford(D50, D65))


# ---------------------------------------------------------------------------------------------
# tone curves


@dataclass(frozen=True)
class Curve:
    """One channel's tone curve: encoded value (0..1) -> linear light (0..1).

    Exactly one of ``gamma``, ``table`` or ``params`` describes it (none: the identity).
    ``params`` are the ICC `para` function type and its g, a, b, c, d, e, f.
    """

    gamma: float | None = None
    table: tuple[float, ...] = ()
    params: tuple[float, ...] = ()

    def __call__(self, x: float) -> float:
        x = min(1.0, max(0.0, x))
        if self.gamma is not None:
            return x ** self.gamma
        if self.table:
            return _interpolate(self.table, x)
        if self.params:
            return min(1.0, max(0.0, _parametric(self.params, x)))
        return x

    def samples(self, count: int) -> list[float]:
        """The curve at ``count`` evenly spaced inputs 0..1: a lookup table for numpy."""
        return [self(i / (count - 1)) for i in range(count)]


def _interpolate(table: Sequence[float], x: float) -> float:
    position = x * (len(table) - 1)
    index = min(int(position), len(table) - 2)
    frac = position - index
    return table[index] + (table[index + 1] - table[index]) * frac


def _parametric(params: Sequence[float], x: float) -> float:
    kind = int(params[0])
    g, a, b, c, d, e, f = (*params[1:], 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)[:7]

    def power(value: float) -> float:
        return value ** g if value > 0 else 0.0

    if kind == 0:
        return power(x)
    if kind == 1:
        return power(a * x + b) if x >= -b / a else 0.0
    if kind == 2:
        return power(a * x + b) + c if x >= -b / a else c
    if kind == 3:
        return power(a * x + b) if x >= d else c * x
    return power(a * x + b) + e if x >= d else c * x + f


_PARA_COUNTS = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}


# ---------------------------------------------------------------------------------------------
# the profile


@dataclass(frozen=True)
class MatrixProfile:
    """What a matrix/TRC profile says: per-channel curves and linear RGB -> XYZ (D50).

    A grey profile is stored as the RGB profile it behaves as: three copies of its one curve
    and a matrix that sends R = G = B = v to v times the PCS white, which is how ICC defines
    grey. Callers convert grey pixels as R = G = B.
    """

    color_space: Literal["RGB", "GRAY"]
    description: str
    white: Vector
    rgb_to_xyz: Matrix
    curves: tuple[Curve, Curve, Curve]

    def to_linear_srgb(self) -> Matrix:
        """Linear RGB of this profile -> linear sRGB, for ``np.einsum`` or a matrix product."""
        return mat_mul(XYZ_D50_TO_SRGB, self.rgb_to_xyz)

    @property
    def is_srgb(self) -> bool:
        """Whether converting would change nothing visible (most files tag themselves sRGB)."""
        matrix = self.to_linear_srgb()
        if self.color_space == "GRAY":  # grey stays grey when every row sums to one
            same = all(abs(sum(row) - 1) < _SRGB_TOLERANCE for row in matrix)
        else:
            same = all(abs(matrix[i][j] - (i == j)) < _SRGB_TOLERANCE
                       for i in range(3) for j in range(3))
        probe = [i / 32 for i in range(33)]
        return same and all(abs(curve(x) - srgb_to_linear(x)) < _SRGB_TOLERANCE
                                for curve in self.curves for x in probe)


def _s15(data: bytes, offset: int) -> float:
    return struct.unpack_from(">i", data, offset)[0] / 65536


def _xyz(data: bytes) -> Vector:
    if data[:4] != b"XYZ " or len(data) < 20:
        raise UnsupportedProfile("an XYZ tag is damaged")
    return (_s15(data, 8), _s15(data, 12), _s15(data, 16))


def _curve(data: bytes) -> Curve:
    kind = data[:4]
    if kind == b"curv" and len(data) >= 12:
        (count,) = struct.unpack_from(">I", data, 8)
        if len(data) < 12 + 2 * count:
            raise UnsupportedProfile("a tone curve is cut short")
        if count == 0:
            return Curve()
        if count == 1:
            return Curve(gamma=struct.unpack_from(">H", data, 12)[0] / 256)
        values = struct.unpack_from(f">{count}H", data, 12)
        return Curve(table=tuple(v / 65535 for v in values))
    if kind == b"para" and len(data) >= 12:
        (function,) = struct.unpack_from(">H", data, 8)
        count = _PARA_COUNTS.get(function)
        if count is None or len(data) < 12 + 4 * count:
            raise UnsupportedProfile("a parametric tone curve is damaged")
        params = tuple(_s15(data, 12 + 4 * i) for i in range(count))
        if function in (1, 2) and params[1] == 0:
            raise UnsupportedProfile("a parametric tone curve is damaged")
        return Curve(params=(float(function), *params))
    raise UnsupportedProfile("a tone curve has an unknown type")


def _description(tag: bytes | None) -> str:
    if not tag:
        return ""
    if tag[:4] == b"desc" and len(tag) >= 12:
        (count,) = struct.unpack_from(">I", tag, 8)
        return tag[12:12 + count].split(b"\0")[0].decode("latin-1")
    if tag[:4] == b"mluc" and len(tag) >= 28:
        length, offset = struct.unpack_from(">II", tag, 20)
        return tag[offset:offset + length].decode("utf-16-be", "replace")
    return ""


def _tags(data: bytes) -> dict[bytes, bytes]:
    if len(data) < 132 or data[36:40] != b"acsp":
        raise UnsupportedProfile("not an ICC profile")
    (count,) = struct.unpack_from(">I", data, 128)
    if 132 + 12 * count > len(data):
        raise UnsupportedProfile("the tag table is cut short")
    tags = {}
    for i in range(count):
        signature, offset, size = struct.unpack_from(">4sII", data, 132 + 12 * i)
        if offset + size > len(data):
            raise UnsupportedProfile("a tag lies outside the profile")
        tags[signature] = data[offset:offset + size]
    return tags


def parse_profile(data: bytes) -> MatrixProfile:
    """Read an embedded ICC profile; `UnsupportedProfile` when it is not matrix/TRC."""
    tags = _tags(data)
    space, pcs = data[16:20], data[20:24]
    if pcs != b"XYZ ":
        raise UnsupportedProfile("the profile connects through Lab, not XYZ")
    white = _xyz(tags[b"wtpt"]) if b"wtpt" in tags else D50
    description = _description(tags.get(b"desc"))
    try:
        if space == b"GRAY":
            curve = _curve(tags[b"kTRC"])
            column = tuple(v / 3 for v in D50)
            rgb_to_xyz = tuple((v, v, v) for v in column)
            return MatrixProfile("GRAY", description, white, rgb_to_xyz,  # type: ignore[arg-type]
                                 (curve, curve, curve))
        if space == b"RGB ":
            r, g, b = (_xyz(tags[name]) for name in (b"rXYZ", b"gXYZ", b"bXYZ"))
            curves = tuple(_curve(tags[name]) for name in (b"rTRC", b"gTRC", b"bTRC"))
            matrix = tuple((r[i], g[i], b[i]) for i in range(3))
            mat_inv(matrix)  # a degenerate matrix is a damaged profile
            return MatrixProfile("RGB", description, white, matrix,  # type: ignore[arg-type]
                                 curves)  # type: ignore[arg-type]
    except KeyError as missing:
        raise UnsupportedProfile(f"no {missing.args[0].decode('latin-1')} tag "
                                 "(a lookup-table profile)") from None
    raise UnsupportedProfile(f"a {space.decode('latin-1').strip()} profile is not RGB or grey")


def srgb_encode_table(count: int) -> list[float]:
    """Linear light 0..1 -> sRGB-encoded 0..1 at ``count`` evenly spaced inputs: a lookup
    table for numpy callers, like `Curve.samples` for the decoding side."""
    return [linear_to_srgb(i / (count - 1)) for i in range(count)]

