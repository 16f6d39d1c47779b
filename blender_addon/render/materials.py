"""The "Fabric" material: cotton jersey with the design printed into it.

One plain node graph (no OSL, no volumes, one UV map) so the same material renders in Cycles and
EEVEE and can be baked. The design is an Image Texture read through the "Print" UV map and a
Mapping node that places it in the panel box; the fabric colour, the placement and the image are
node values, so changing them for a live preview never rebuilds the graph. The image is one
`design_image.load_design` made: always four channels, so CLIP leaves the shirt outside the box.
"""

from __future__ import annotations

import bpy

from . import compat

FABRIC_MATERIAL_NAME = "Fabric"
UV_MAP_NAME = "Print"

# Node names are part of this module's contract with itself: setters find nodes by name.
_N_COLOR = "tshirt_fabric_color"
_N_MAPPING = "tshirt_print_mapping"
_N_IMAGE = "tshirt_print_image"
_N_PRINT_ON = "tshirt_print_enabled"
_N_KNIT_SHADE = "tshirt_knit_shade"
# The knit's average: wave bands (mean 0.5) x 0.35 + noise (mean 0.5).
KNIT_MEAN = 0.675

# Cotton: very rough, no specular shine, a soft sheen at grazing angles. The specular layer is
# off: at this roughness it only greyed the folds a little, and it cost a fifth of every
# sample (1024^2, 8 spp, 2 cores: 9.0 -> 7.2 s with the knit bump also gone).
FABRIC_ROUGHNESS = 0.86
FABRIC_SPECULAR = 0.0
FABRIC_SHEEN = 0.3
INK_SHEEN = 0.15
# Real black cotton still reflects a little; a pure 0 base colour hides every fold.
MIN_ALBEDO = 0.008
# ...and the whitest cotton reflects ~90 %: keeps white shirts from clipping while folds show.
MAX_ALBEDO = 0.9
# Panels are laid side by side in UV space: front at u 0..1, back at u 2..3.
PANEL_U_OFFSET = {"front": 0.0, "back": 2.0}


def _new_node_material(name: str) -> bpy.types.Material:
    mat = bpy.data.materials.new(name)
    compat.use_nodes(mat)
    mat.node_tree.nodes.clear()
    return mat


def _link(tree: bpy.types.NodeTree, out_socket, in_socket) -> None:
    tree.links.new(out_socket, in_socket)


def _mix(tree: bpy.types.NodeTree, blend: str, location: tuple[float, float]) -> bpy.types.Node:
    node = tree.nodes.new("ShaderNodeMix")
    node.data_type = "RGBA"
    node.blend_type = blend
    node.location = location
    return node


def _mix_in(node: bpy.types.Node, which: str):
    """Colour sockets of a Mix node by identifier (the names repeat per data type)."""
    ident = {"fac": "Factor_Float", "a": "A_Color", "b": "B_Color"}[which]
    return next(s for s in node.inputs if s.identifier == ident)


def _mix_out(node: bpy.types.Node):
    return next(s for s in node.outputs if s.identifier == "Result_Color")


def _math(tree, op: str, location, a: float | None = None, b: float | None = None):
    node = tree.nodes.new("ShaderNodeMath")
    node.operation = op
    node.location = location
    if a is not None:
        node.inputs[0].default_value = a
    if b is not None:
        node.inputs[1].default_value = b
    return node


def build_fabric_material(name: str = FABRIC_MATERIAL_NAME) -> bpy.types.Material:
    """Create the fabric + print material (no design loaded, white fabric)."""
    mat = _new_node_material(name)
    tree = mat.node_tree
    nodes = tree.nodes

    out = nodes.new("ShaderNodeOutputMaterial")
    out.location = (1300, 0)
    bsdf = nodes.new("ShaderNodeBsdfPrincipled")
    bsdf.location = (1000, 0)
    bsdf.inputs["Roughness"].default_value = FABRIC_ROUGHNESS
    bsdf.inputs["Specular IOR Level"].default_value = FABRIC_SPECULAR
    bsdf.inputs["Sheen Roughness"].default_value = 0.45
    bsdf.inputs["Sheen Tint"].default_value = (1.0, 1.0, 1.0, 1.0)
    _link(tree, bsdf.outputs["BSDF"], out.inputs["Surface"])

    fabric = nodes.new("ShaderNodeRGB")
    fabric.name = fabric.label = _N_COLOR
    fabric.location = (0, 250)
    fabric.outputs[0].default_value = (1.0, 1.0, 1.0, 1.0)

    # design: Print UV -> Mapping (placement box) -> Image Texture (clipped outside the box)
    uv = nodes.new("ShaderNodeUVMap")
    uv.uv_map = UV_MAP_NAME
    uv.location = (-600, -100)
    mapping = nodes.new("ShaderNodeMapping")
    mapping.name = mapping.label = _N_MAPPING
    mapping.vector_type = "POINT"
    mapping.location = (-400, -100)
    _link(tree, uv.outputs["UV"], mapping.inputs["Vector"])
    image = nodes.new("ShaderNodeTexImage")
    image.name = image.label = _N_IMAGE
    image.extension = "CLIP"
    image.interpolation = "Linear"
    image.location = (-150, -100)
    _link(tree, mapping.outputs["Vector"], image.inputs["Vector"])

    # ink coverage = image alpha x "a design is loaded" (0 keeps a stale image invisible)
    enabled = nodes.new("ShaderNodeValue")
    enabled.name = enabled.label = _N_PRINT_ON
    enabled.outputs[0].default_value = 0.0
    enabled.location = (-150, -380)
    coverage = _math(tree, "MULTIPLY", (150, -250))
    coverage.use_clamp = True
    _link(tree, image.outputs["Alpha"], coverage.inputs[0])
    _link(tree, enabled.outputs[0], coverage.inputs[1])

    mix = _mix(tree, "MIX", (400, 150))
    _link(tree, coverage.outputs[0], _mix_in(mix, "fac"))
    _link(tree, fabric.outputs[0], _mix_in(mix, "a"))
    _link(tree, image.outputs["Color"], _mix_in(mix, "b"))

    # cotton picks up a little of the knit's micro-shadowing: darken by a faint noise
    geo = nodes.new("ShaderNodeTexCoord")
    geo.location = (-600, -650)
    knit = nodes.new("ShaderNodeTexNoise")
    knit.location = (-350, -650)
    knit.inputs["Scale"].default_value = 900.0
    knit.inputs["Detail"].default_value = 0.0
    knit.inputs["Roughness"].default_value = 0.5
    _link(tree, geo.outputs["Object"], knit.inputs["Vector"])
    ribs = nodes.new("ShaderNodeTexWave")
    ribs.location = (-350, -900)
    ribs.wave_type = "BANDS"
    ribs.bands_direction = "Z"
    ribs.inputs["Scale"].default_value = 380.0
    ribs.inputs["Distortion"].default_value = 0.0
    ribs.inputs["Detail"].default_value = 0.0
    _link(tree, geo.outputs["Object"], ribs.inputs["Vector"])
    weave = _math(tree, "MULTIPLY_ADD", (-100, -750), b=0.35)
    _link(tree, ribs.outputs["Color"], weave.inputs[0])
    _link(tree, knit.outputs["Fac"], weave.inputs[2])
    # no bump from it: a knit finer than a pixel only turned the normal pass into noise that
    # OIDN needed its slow prefilter for, and cost 15 % of every sample

    shade = _mix(tree, "MULTIPLY", (700, 150))
    shade.name = shade.label = _N_KNIT_SHADE
    _mix_in(shade, "fac").default_value = 0.12
    _link(tree, _mix_out(mix), _mix_in(shade, "a"))
    _link(tree, weave.outputs[0], _mix_in(shade, "b"))
    _link(tree, _mix_out(shade), bsdf.inputs["Base Color"])

    # ink sits in the fibres: same roughness and bump, a little less sheen
    sheen = nodes.new("ShaderNodeMapRange")
    sheen.location = (700, -250)
    sheen.inputs["To Min"].default_value = FABRIC_SHEEN
    sheen.inputs["To Max"].default_value = INK_SHEEN
    _link(tree, coverage.outputs[0], sheen.inputs["Value"])
    _link(tree, sheen.outputs["Result"], bsdf.inputs["Sheen Weight"])
    return mat


def _node(mat: bpy.types.Material, name: str) -> bpy.types.Node:
    node = mat.node_tree.nodes.get(name)
    if node is None:
        raise ValueError(f"Material {mat.name!r} is not a T-shirt fabric material.")
    return node


def flatten_knit(mat: bpy.types.Material) -> None:
    """Replace the procedural knit with its average shade (same colour, no texture lookups):
    for a copy drawn where the knit is finer than a pixel, like the turntable's frames."""
    shade = _node(mat, _N_KNIT_SHADE)
    b_in = _mix_in(shade, "b")
    for link in list(b_in.links):
        mat.node_tree.links.remove(link)
    b_in.default_value = (KNIT_MEAN, KNIT_MEAN, KNIT_MEAN, 1.0)
    for node in [n for n in mat.node_tree.nodes if n.type in ("TEX_NOISE", "TEX_WAVE")]:
        mat.node_tree.nodes.remove(node)


def set_fabric_color(mat: bpy.types.Material, linear_rgb: tuple[float, float, float]) -> None:
    """Set the shirt colour from a linear RGB triple (0..1)."""
    r, g, b = (min(MAX_ALBEDO, max(MIN_ALBEDO, float(c))) for c in linear_rgb)
    _node(mat, _N_COLOR).outputs[0].default_value = (r, g, b, 1.0)
    # the viewport's solid mode shows this one
    mat.diffuse_color = (r, g, b, 1.0)


def print_image(mat: bpy.types.Material) -> bpy.types.Image | None:
    """The design image the material prints now (None when it prints nothing)."""
    return _node(mat, _N_IMAGE).image


def set_print(
    mat: bpy.types.Material,
    image: bpy.types.Image | None,
    side: str = "front",
    box: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
) -> None:
    """Show ``image`` in ``box`` (x, y, w, h; panel coords, y down) on ``side``; None clears."""
    tex = _node(mat, _N_IMAGE)
    enabled = _node(mat, _N_PRINT_ON)
    if image is None:
        enabled.outputs[0].default_value = 0.0
        tex.image = None
        return
    if side not in PANEL_U_OFFSET:
        raise ValueError(f"Print side must be 'front' or 'back', not {side!r}.")
    x, y, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0:
        raise ValueError("Print box width and height must be positive.")
    # texture s = (u - offset - x) / w ; image t (up) = (v - (1 - y - h)) / h
    mapping = _node(mat, _N_MAPPING)
    mapping.inputs["Scale"].default_value = (1.0 / w, 1.0 / h, 1.0)
    mapping.inputs["Location"].default_value = (
        -(PANEL_U_OFFSET[side] + x) / w,
        -(1.0 - y - h) / h,
        0.0,
    )
    mapping.inputs["Rotation"].default_value = (0.0, 0.0, 0.0)
    tex.image = image
    enabled.outputs[0].default_value = 1.0
