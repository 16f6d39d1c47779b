"""A texture atlas for baking: a UV layout of the whole garment in which no two faces overlap.

A garment's own UVs cannot be trusted for a bake: the procedural tee maps only its front and
back panels, and exported models often mirror both sides onto one island or spread UDIM tiles.
This layout is made from the geometry alone: every face goes to the axis its normal is closest
to (+-X, +-Y, +-Z), each connected patch of faces with the same axis becomes a chart projected
flat along that axis, and the charts are packed into the unit square at one common scale, so
every part of the garment gets the same number of texels per metre. (Blender's Smart UV
Project does this better, but it needs edit mode, and toggling edit mode inside the render
process crashed a later Cycles render in 4 of 6 runs.)

A patch whose normals stay within 55 degrees of its axis is a height field along that axis
almost everywhere on a garment; the inner and outer shells of a solidified one face opposite
ways and land in different charts. Where a patch does lie over itself (a cloth-simulated fold
that doubles the cloth and opens out again, a spiral), its layers would share texels, so such
a garment gets no atlas and its turntable reads the prints live, as before the bake.
"""

from __future__ import annotations

import bpy
import numpy as np

ATLAS_UV = "TShirt_BakeAtlas"
#: empty texels kept between charts on a 2048^2 texture (the standard turntable's), so a
#: texel's bilinear reach and the bake's margin never take colour from a neighbouring chart
PADDING_TEXELS = 4
PADDING_SIZE = 2048
# Overlap: two points of one chart in the same OVERLAP_CELL_M square (in its plane) whose depths
# differ by more than OVERLAP_DEPTH_M. One sheet tilted at most 55 degrees changes depth by
# 1.43 x the cell's 2.8 cm diagonal there at most (4 cm), so only two layers can.
OVERLAP_CELL_M = 0.02
OVERLAP_DEPTH_M = 0.05
# the two in-plane axes of a chart whose faces look along X, Y or Z
_PLANE_AXES = ((1, 2), (0, 2), (0, 1))


def padding_texels(size: int) -> int:
    """The empty texels between two charts on a ``size``-texel texture."""
    return PADDING_TEXELS * size // PADDING_SIZE


def ensure_atlas(mesh: bpy.types.Mesh) -> str | None:
    """Give ``mesh`` the atlas layer (once: it depends only on the geometry) and return its
    name, or None for a garment whose charts would overlap. The mesh's active and rendered UV
    layers stay as they were."""
    if mesh.uv_layers.get(ATLAS_UV) is not None:
        return ATLAS_UV
    co = np.empty(len(mesh.vertices) * 3, dtype=np.float64)
    mesh.vertices.foreach_get("co", co)
    normals = np.empty(len(mesh.polygons) * 3, dtype=np.float64)
    mesh.polygons.foreach_get("normal", normals)
    totals = np.empty(len(mesh.polygons), dtype=np.int64)
    mesh.polygons.foreach_get("loop_total", totals)
    loop_vertex = np.empty(len(mesh.loops), dtype=np.int64)
    mesh.loops.foreach_get("vertex_index", loop_vertex)
    loop_edge = np.empty(len(mesh.loops), dtype=np.int64)
    mesh.loops.foreach_get("edge_index", loop_edge)
    uv = atlas_uvs(co.reshape(-1, 3), normals.reshape(-1, 3), totals, loop_vertex, loop_edge)
    if uv is None:
        return None
    # by name: adding a layer reallocates the collection and leaves its old items dangling
    active = mesh.uv_layers.active.name if mesh.uv_layers.active is not None else None
    rendered = next((layer.name for layer in mesh.uv_layers if layer.active_render), None)
    mesh.uv_layers.new(name=ATLAS_UV).data.foreach_set("uv", uv.astype(np.float32).ravel())
    if active is not None:
        mesh.uv_layers.active = mesh.uv_layers[active]
    if rendered is not None:
        mesh.uv_layers[rendered].active_render = True
    return ATLAS_UV


def atlas_uvs(co: np.ndarray, normals: np.ndarray, loop_totals: np.ndarray,
              loop_vertex: np.ndarray, loop_edge: np.ndarray) -> np.ndarray | None:
    """Per-loop UVs (loops x 2) of the atlas, or None if a chart lies over itself."""
    face_count = len(normals)
    loop_face = np.repeat(np.arange(face_count), loop_totals)
    axis = np.abs(normals).argmax(axis=1)
    side = axis * 2 + (np.take_along_axis(normals, axis[:, None], 1)[:, 0] < 0)
    chart = _patches(side, _face_pairs(loop_face, loop_edge))

    # each loop's position flattened along its chart's axis
    plane = np.array(_PLANE_AXES)[axis[loop_face]]
    points = co[loop_vertex]
    flat = np.take_along_axis(points, plane, axis=1)
    charts, loop_chart = np.unique(chart[loop_face], return_inverse=True)
    depth = np.take_along_axis(points, axis[loop_face][:, None], axis=1)[:, 0]
    if _overlaps(loop_chart, flat, depth):
        return None
    low = np.full((len(charts), 2), np.inf)
    high = np.full((len(charts), 2), -np.inf)
    np.minimum.at(low, loop_chart, flat)
    np.maximum.at(high, loop_chart, flat)
    corners, scale = _pack(high - low)
    return (flat - low[loop_chart] + corners[loop_chart]) * scale


def _overlaps(chart: np.ndarray, flat: np.ndarray, depth: np.ndarray) -> bool:
    """Whether two layers of one chart lie over each other (see OVERLAP_DEPTH_M); the points
    are the faces' corners."""
    cells = np.floor(flat / OVERLAP_CELL_M).astype(np.int64)
    keys = np.stack([chart, cells[:, 0], cells[:, 1]], axis=1)
    _, cell = np.unique(keys, axis=0, return_inverse=True)
    cell = cell.ravel()
    low = np.full(cell.max() + 1, np.inf)
    high = np.full(cell.max() + 1, -np.inf)
    np.minimum.at(low, cell, depth)
    np.maximum.at(high, cell, depth)
    return bool((high - low > OVERLAP_DEPTH_M).any())


def _face_pairs(loop_face: np.ndarray, loop_edge: np.ndarray) -> np.ndarray:
    """Pairs of faces that share an edge (an edge of more than two faces pairs its
    neighbours in loop order, which is enough to keep them together)."""
    order = np.argsort(loop_edge, kind="stable")
    edge, face = loop_edge[order], loop_face[order]
    same = edge[1:] == edge[:-1]
    return np.stack([face[:-1][same], face[1:][same]], axis=1)


def _patches(side: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """A label per face: faces joined through neighbours of their own side share one."""
    pairs = pairs[side[pairs[:, 0]] == side[pairs[:, 1]]]
    label = np.arange(len(side))
    a, b = pairs[:, 0], pairs[:, 1]
    while True:
        lowest = np.minimum(label[a], label[b])
        before = label.copy()
        np.minimum.at(label, a, lowest)
        np.minimum.at(label, b, lowest)
        label = label[label]  # jump to the label's own label: halves the remaining path
        if np.array_equal(label, before):
            return label


def _pack(extents: np.ndarray) -> tuple[np.ndarray, float]:
    """Shelf-pack chart boxes (metres) into the unit square: each chart's corner (metres, in
    the packed layout) and the one scale from metres to UV."""
    root = np.sqrt(float((extents[:, 0] * extents[:, 1]).sum()))
    # the layout's side comes to about 1.2 x the root of the boxes' area: the gap lands at
    # PADDING_TEXELS (4.08 texels at 2048^2 on the classic tee)
    gap = root * 1.2 * PADDING_TEXELS / PADDING_SIZE
    best = None
    for row_width in root * np.linspace(0.9, 2.0, 23):  # the row width that packs tightest
        corners, width, height = _shelves(extents, max(row_width, extents[:, 0].max()), gap)
        side = max(width, height) + 2.0 * gap  # a gap before the first chart and after the last
        if best is None or side < best[1]:
            best = corners + gap, side
    return best[0], 1.0 / best[1]


def _shelves(extents: np.ndarray, width: float, gap: float
             ) -> tuple[np.ndarray, float, float]:
    """Tallest first, left to right in rows ``width`` wide."""
    corners = np.zeros_like(extents)
    x = y = row = used = 0.0
    for index in np.argsort(-extents[:, 1], kind="stable"):
        w, h = extents[index]
        if x > 0.0 and x + w > width:
            x, y, row = 0.0, y + row + gap, 0.0
        corners[index] = (x, y)
        x += w + gap
        row = max(row, h)
        used = max(used, x - gap)
    return corners, used, y + row
