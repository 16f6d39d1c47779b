"""The "Fabric" material: cotton jersey with the prints printed into it.

One plain node graph (no OSL, no volumes) so the same material renders in Cycles and EEVEE and
can be baked. Each print is a layer of nodes (`print_nodes`) that projects its design from the
garment's landmarks, so no UV layout is needed; the fabric colour, the prints' places and their
images are node values, so changing them for a live preview never rebuilds the graph (only a
change in the number of prints adds or removes a layer). The layers' combined coverage gives
the fabric its printed look: more saturated, less sheen, a faint gloss, the knit showing through.
A foreign model's own texture can keep its detail under our colour (`set_fabric_detail`).
"""

from __future__ import annotations

from collections.abc import Sequence

import bpy
import numpy as np

from . import compat, print_nodes
from . import fabric as fabric_nodes
from .print_nodes import PrintLayer

FABRIC_MATERIAL_NAME = "Fabric"

# Node names are part of this module's contract with itself: setters find nodes by name.
_N_COLOR = "tshirt_fabric_color"
_N_COVERAGE = "tshirt_print_coverage"
_N_DETAIL = "tshirt_fabric_detail"
_N_DETAIL_IMAGE = "tshirt_fabric_detail_image"
_N_DETAIL_LUMA = "tshirt_fabric_detail_luma"
_N_DETAIL_SCALE = "tshirt_fabric_detail_scale"
_N_KNIT_SHADE = "tshirt_knit_shade"
_N_HEATHER = "tshirt_heather"
_N_RELIEF = "tshirt_knit_relief"
_N_WEAVE = "tshirt_knit_weave"
_N_LOOPS = "tshirt_knit_loops"
_N_SEAMS = "tshirt_seams"
# The knit shade: cotton x (1 - KNIT_SHADE + KNIT_SHADE x (loops x LOOP_SHADE + slub)).
KNIT_SHADE = 0.14
LOOP_SHADE = 0.35
KNIT_MEAN = fabric_nodes.LOOP_MEAN * LOOP_SHADE + fabric_nodes.SLUB_MEAN
# Ink fills the loops: it keeps this share of the cotton's knit shade and relief.
INK_TEXTURE = 0.5
# The loops' height in metres: ~0.15 mm of relief over half a wale.
RELIEF_DISTANCE = 0.00015
# A wale (0.83 mm) spans ~1.5 px from here on (the shirt fills ~0.85 of a frame's 0.8 m):
# below it the bump is noise the denoiser must hide, at 15 % of every sample.
RELIEF_MIN_RESOLUTION = 1536
# Seams and stitches: a little darker, and (in the relief) ~0.4 mm deep.
SEAM_SHADE = 0.3
SEAM_DEPTH = 2.5

# Cotton: very rough, no specular shine, a soft sheen at grazing angles. The specular layer is
# off: at this roughness it only greyed the folds a little, and it cost a fifth of every
# sample (1024^2, 8 spp, 2 cores: 9.0 -> 7.2 s with the knit bump also gone).
FABRIC_ROUGHNESS = 0.86
FABRIC_SPECULAR = 0.0
FABRIC_SHEEN = 0.3
INK_SHEEN = 0.15
# Plastisol and DTG ink dry smoother than the yarn: a faint, broad gloss on the print only
INK_SPECULAR = 0.25
INK_ROUGHNESS = 0.6
# Real black cotton still reflects a little; a pure 0 base colour hides every fold.
MIN_ALBEDO = 0.008
# ...and the whitest cotton reflects ~90 %: keeps white shirts from clipping while folds show.
MAX_ALBEDO = 0.9
# A texture's detail is read from a copy this small (its mean is all that is needed of it)...
DETAIL_SAMPLE_PX = 256
# ...and a texture darker than this on average has no detail to keep (it would only blacken).
MIN_DETAIL_MEAN = 0.01


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


def _map_coverage(tree, coverage: bpy.types.Node, cotton: float, ink: float, location):
    """A value that is ``cotton`` off the print and ``ink`` under full ink coverage."""
    node = tree.nodes.new("ShaderNodeMapRange")
    node.location = location
    node.inputs["To Min"].default_value = cotton
    node.inputs["To Max"].default_value = ink
    _link(tree, coverage.outputs[0], node.inputs["Value"])
    return node.outputs["Result"]


def build_fabric_material(name: str = FABRIC_MATERIAL_NAME, *,
                          seams: bool = False) -> bpy.types.Material:
    """Create the fabric material (white, no prints: `set_prints` adds them). ``seams`` draws the
    procedural tee's seams and hem stitches (they are placed by its part attribute)."""
    mat = _new_node_material(name)
    tree = mat.node_tree
    nodes = tree.nodes

    out = nodes.new("ShaderNodeOutputMaterial")
    out.location = (1300, 0)
    bsdf = nodes.new("ShaderNodeBsdfPrincipled")
    bsdf.location = (1000, 0)
    bsdf.inputs["Sheen Roughness"].default_value = 0.45
    bsdf.inputs["Sheen Tint"].default_value = (1.0, 1.0, 1.0, 1.0)
    _link(tree, bsdf.outputs["BSDF"], out.inputs["Surface"])

    fabric = nodes.new("ShaderNodeRGB")
    fabric.name = fabric.label = _N_COLOR
    fabric.location = (0, 250)
    fabric.outputs[0].default_value = (1.0, 1.0, 1.0, 1.0)

    # the prints' combined coverage (0 until set_prints links the layers to it)
    coverage = _math(tree, "ADD", (150, -250), b=0.0)
    coverage.name = coverage.label = _N_COVERAGE
    coverage.use_clamp = True
    coverage.inputs[0].default_value = 0.0

    # heather: the colour spun from lighter and darker fibres; a factor of 0 folds away in
    # Cycles' shader compiler, so a plain shirt pays nothing for it
    geo = nodes.new("ShaderNodeTexCoord")
    geo.location = (-900, -650)
    heather = _mix(tree, "MIX", (150, 400))
    heather.name = heather.label = _N_HEATHER
    _mix_in(heather, "fac").default_value = 0.0
    _link(tree, fabric.outputs[0], _mix_in(heather, "a"))
    _link(tree, fabric_nodes.add_heather(tree, geo.outputs["Object"], fabric.outputs[0],
                                         -650, 700), _mix_in(heather, "b"))

    # the knit's micro-shadowing and the slub streaks darken the cotton a little, and the ink
    # less: it fills the loops. Knit loops (~12 wales/cm) are finer than a standard still's
    # pixel and average out there; the slubs (centimetres long) show at every size.
    loops = fabric_nodes.add_loops(tree, geo.outputs["Object"], geo.outputs["Normal"], -650,
                                   -900)
    loops.node.name = loops.node.label = _N_LOOPS
    slub = fabric_nodes.add_slub(tree, geo.outputs["Object"], -650, -1400)
    weave = _math(tree, "MULTIPLY_ADD", (-100, -750), b=LOOP_SHADE)
    weave.name = weave.label = _N_WEAVE
    weave.inputs[0].default_value = fabric_nodes.LOOP_MEAN
    _link(tree, slub, weave.inputs[2])
    shade_fac = _map_coverage(tree, coverage, KNIT_SHADE, KNIT_SHADE * INK_TEXTURE, (400, -450))

    shade = _mix(tree, "MULTIPLY", (700, 150))
    shade.name = shade.label = _N_KNIT_SHADE
    _link(tree, shade_fac, _mix_in(shade, "fac"))
    _link(tree, _mix_out(heather), _mix_in(shade, "a"))  # the prints go between (set_prints)
    _link(tree, weave.outputs[0], _mix_in(shade, "b"))
    base = _mix_out(shade)
    seam = fabric_nodes.add_seams(tree, geo.outputs["Object"], -650, -2000) if seams else None
    if seam is not None:
        # a seam's fold and a stitch's thread shadow the cloth a little
        dim = _math(tree, "MULTIPLY_ADD", (400, -1000), b=-SEAM_SHADE)
        dim.inputs[2].default_value = 1.0
        _link(tree, seam, dim.inputs[0])
        seamed = _mix(tree, "MULTIPLY", (850, 150))
        seamed.name = seamed.label = _N_SEAMS
        _mix_in(seamed, "fac").default_value = 1.0
        _link(tree, base, _mix_in(seamed, "a"))
        _link(tree, dim.outputs[0], _mix_in(seamed, "b"))
        base = _mix_out(seamed)
    _link(tree, base, bsdf.inputs["Base Color"])

    # the knit's relief as a bump; it and the loops' shade are linked only where a pixel can
    # show them (set_knit_detail); the ink smooths the relief but does not hide it
    bump = nodes.new("ShaderNodeBump")
    bump.name = bump.label = _N_RELIEF
    bump.location = (700, -700)
    bump.inputs["Distance"].default_value = RELIEF_DISTANCE
    height = loops
    if seam is not None:
        groove = _math(tree, "MULTIPLY_ADD", (400, -850), b=-SEAM_DEPTH)
        _link(tree, seam, groove.inputs[0])
        _link(tree, loops, groove.inputs[2])
        height = groove.outputs[0]
    _link(tree, height, bump.inputs["Height"])
    _link(tree, _map_coverage(tree, coverage, 1.0, INK_TEXTURE, (400, -700)),
          bump.inputs["Strength"])

    # ink is smoother than the cotton: less sheen, a faint gloss only where it is printed
    _link(tree, _map_coverage(tree, coverage, FABRIC_SHEEN, INK_SHEEN, (700, -250)),
          bsdf.inputs["Sheen Weight"])
    _link(tree, _map_coverage(tree, coverage, FABRIC_SPECULAR, INK_SPECULAR, (700, -400)),
          bsdf.inputs["Specular IOR Level"])
    _link(tree, _map_coverage(tree, coverage, FABRIC_ROUGHNESS, INK_ROUGHNESS, (700, -550)),
          bsdf.inputs["Roughness"])
    return mat


def _node(mat: bpy.types.Material, name: str) -> bpy.types.Node:
    node = mat.node_tree.nodes.get(name)
    if node is None:
        raise ValueError(f"Material {mat.name!r} is not a T-shirt fabric material.")
    return node


def _upstream(node: bpy.types.Node) -> set[bpy.types.Node]:
    found: set[bpy.types.Node] = set()
    todo = [node]
    while todo:
        for socket in todo.pop().inputs:
            for link in socket.links:
                if link.from_node not in found:
                    found.add(link.from_node)
                    todo.append(link.from_node)
    return found


def flatten_knit(mat: bpy.types.Material) -> None:
    """Replace the procedural knit with its average shade and drop its relief (same colour, no
    texture lookups): for a copy drawn where the knit is finer than a pixel, like the
    turntable's frames. The heather, if any, stays: its streaks are larger."""
    tree = mat.node_tree
    shade = _node(mat, _N_KNIT_SHADE)
    relief = _node(mat, _N_RELIEF)
    b_in = _mix_in(shade, "b")
    knit = {relief} | _upstream(relief)
    for link in list(b_in.links):
        knit |= {link.from_node} | _upstream(link.from_node)
        tree.links.remove(link)
    for link in [link for s in relief.outputs for link in s.links]:
        tree.links.remove(link)
    b_in.default_value = (KNIT_MEAN, KNIT_MEAN, KNIT_MEAN, 1.0)
    # remove what fed only the knit (the texture coordinates also feed the heather)
    while unused := [n for n in knit if not any(s.links for s in n.outputs)]:
        for node in unused:
            knit.discard(node)
            tree.nodes.remove(node)


def set_knit_detail(mat: bpy.types.Material, resolution: int) -> None:
    """Show the knit's loops (shade and relief) and the seams' stitches on frames of
    ``resolution`` px where a wale spans ~1.5 px or more (a `final` still). Below that the
    loops would alias into moire and noise and a stitch is under a pixel: the loops' average
    shade stands in, the shading normal stays smooth, and the standard still does not pay
    for them (the seams' graph alone cost ~10 % of a sample)."""
    tree = mat.node_tree
    bsdf = next(n for n in tree.nodes if n.type == "BSDF_PRINCIPLED")
    weave = tree.nodes.get(_N_WEAVE)
    relief = tree.nodes.get(_N_RELIEF)
    seams = tree.nodes.get(_N_SEAMS)
    for socket in (bsdf.inputs["Normal"],) + ((weave.inputs[0],) if weave else ()):
        for link in list(socket.links):
            tree.links.remove(link)
    detailed = relief is not None and resolution >= RELIEF_MIN_RESOLUTION
    if seams is not None:
        source = seams if detailed else tree.nodes[_N_KNIT_SHADE]
        _link(tree, _mix_out(source), bsdf.inputs["Base Color"])
    if detailed:
        _link(tree, relief.outputs["Normal"], bsdf.inputs["Normal"])
        _link(tree, tree.nodes[_N_LOOPS].outputs[0], weave.inputs[0])


def set_heather(mat: bpy.types.Material, amount: float) -> None:
    """0: a plain-dyed jersey; 1: a heather (marled) one of the same mean shade family."""
    _mix_in(_node(mat, _N_HEATHER), "fac").default_value = min(1.0, max(0.0, float(amount)))


def set_fabric_color(mat: bpy.types.Material, linear_rgb: tuple[float, float, float]) -> None:
    """Set the shirt colour from a linear RGB triple (0..1)."""
    r, g, b = (min(MAX_ALBEDO, max(MIN_ALBEDO, float(c))) for c in linear_rgb)
    _node(mat, _N_COLOR).outputs[0].default_value = (r, g, b, 1.0)
    # the viewport's solid mode shows this one
    mat.diffuse_color = (r, g, b, 1.0)


def print_images(mat: bpy.types.Material) -> list[bpy.types.Image | None]:
    """The design images the material prints now, in their layers' order."""
    tree = mat.node_tree
    return [print_nodes.image_of(tree, i) for i in range(print_nodes.layer_count(tree))]


def set_prints(mat: bpy.types.Material, layers: Sequence[PrintLayer]) -> None:
    """Print ``layers`` (later over earlier); an empty list clears. Only a different number of
    prints than before changes the graph; otherwise only node values change."""
    tree = mat.node_tree
    _node(mat, _N_COVERAGE)  # refuse a material that is not ours before changing it
    count = print_nodes.layer_count(tree)
    if count != len(layers):
        for index in range(len(layers), count):
            print_nodes.remove_layer(tree, index)
        for index in range(count, len(layers)):
            print_nodes.add_layer(tree, index)
        _wire_prints(mat)
    for index, layer in enumerate(layers):
        print_nodes.set_layer(tree, index, layer)


def _wire_prints(mat: bpy.types.Material) -> None:
    """fabric colour (heather) -> [texture detail] -> prints -> the knit's shade."""
    tree = mat.node_tree
    detail = tree.nodes.get(_N_DETAIL)
    below = _mix_out(detail if detail is not None else _node(mat, _N_HEATHER))
    colour, coverage = print_nodes.wire(tree, below, print_nodes.layer_count(tree))
    _link(tree, colour, _mix_in(_node(mat, _N_KNIT_SHADE), "a"))
    covered = _node(mat, _N_COVERAGE).inputs[0]
    if coverage is None:
        for link in list(covered.links):
            tree.links.remove(link)
    else:
        _link(tree, coverage, covered)


def _mean_luminance(image: bpy.types.Image) -> float:
    """The mean linear luminance of ``image`` (read from a small copy of a large one)."""
    width, height = image.size
    sample = image
    if width * height > DETAIL_SAMPLE_PX ** 2:
        sample = image.copy()
        sample.scale(DETAIL_SAMPLE_PX, DETAIL_SAMPLE_PX)
    try:
        pixels = np.empty(len(sample.pixels), dtype=np.float32)
        sample.pixels.foreach_get(pixels)
    finally:
        if sample is not image:
            bpy.data.images.remove(sample)
    rgb = pixels.reshape(-1, 4)[:, :3].astype(np.float64)
    if not image.is_float and image.colorspace_settings.name == "sRGB":
        rgb = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float((rgb @ np.array([0.2126, 0.7152, 0.0722])).mean()) if len(rgb) else 0.0


def set_fabric_detail(mat: bpy.types.Material, image: bpy.types.Image | None) -> None:
    """Multiply the fabric colour by ``image``'s detail (its luminance over its mean), read
    through the mesh's own active UV map: a foreign model's texture keeps its weave, print or
    wear under our colour, and the colour stays the one asked for on average. None removes it.
    """
    tree = mat.node_tree
    for name in (_N_DETAIL, _N_DETAIL_IMAGE, _N_DETAIL_LUMA, _N_DETAIL_SCALE):
        node = tree.nodes.get(name)
        if node is not None:
            tree.nodes.remove(node)
    mean = _mean_luminance(image) if image is not None else 0.0
    if image is not None and mean >= MIN_DETAIL_MEAN:
        # an Image Texture without a vector input reads the active render UV map
        texture = tree.nodes.new("ShaderNodeTexImage")
        texture.name = texture.label = _N_DETAIL_IMAGE
        texture.image = image
        texture.location = (-400, 650)
        luma = tree.nodes.new("ShaderNodeRGBToBW")
        luma.name = luma.label = _N_DETAIL_LUMA
        luma.location = (-150, 650)
        _link(tree, texture.outputs["Color"], luma.inputs["Color"])
        scale = _math(tree, "DIVIDE", (50, 650), b=mean)
        scale.name = scale.label = _N_DETAIL_SCALE
        _link(tree, luma.outputs["Val"], scale.inputs[0])
        detail = _mix(tree, "MULTIPLY", (300, 450))
        detail.name = detail.label = _N_DETAIL
        _mix_in(detail, "fac").default_value = 1.0
        _link(tree, _mix_out(_node(mat, _N_HEATHER)), _mix_in(detail, "a"))
        _link(tree, scale.outputs[0], _mix_in(detail, "b"))
    _wire_prints(mat)
