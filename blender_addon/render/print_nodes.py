"""The shader nodes of the prints: one projection group, and per print a layer of nodes.

A layer reads its design through the projection (`print_projection.Projector`, held as the
group node's input values, so moving a print is a value edit), masks it to the surface it
prints on, inks it (a touch more saturated than the file, as ink on cotton reads) and lays it
over what is below; the layers' combined coverage is what gives the fabric its printed look
(`materials`). The nodes of a layer are made only when a job has that many prints.
"""

from __future__ import annotations

from dataclasses import dataclass

import bpy

from .print_projection import Projector

GROUP_NAME = "TShirt_PrintProjection"
INK_SATURATION = 1.08
_PREFIX = "tshirt_print_"
_PARTS = ("projection", "image", "alpha", "ink", "over", "coverage")
# the group's interface: name, socket type
_INPUTS = (("Origin", "NodeSocketVector"), ("U", "NodeSocketVector"),
           ("V", "NodeSocketVector"), ("Axis", "NodeSocketVector"),
           ("Depth Min", "NodeSocketFloat"), ("Depth Max", "NodeSocketFloat"))
_OUTPUTS = (("Vector", "NodeSocketVector"), ("Mask", "NodeSocketFloat"))


@dataclass(frozen=True)
class PrintLayer:
    """One print as the material shows it: its design image and where it projects."""

    image: bpy.types.Image
    projector: Projector


def _math(tree, op: str, a=None, b=None, *, location=(0, 0)) -> bpy.types.Node:
    node = tree.nodes.new("ShaderNodeMath")
    node.operation = op
    node.location = location
    for index, value in enumerate((a, b)):
        if isinstance(value, bpy.types.NodeSocket):
            tree.links.new(value, node.inputs[index])
        elif value is not None:
            node.inputs[index].default_value = value
    return node


def _vector_math(tree, op: str, a, b, *, location=(0, 0)) -> bpy.types.Node:
    node = tree.nodes.new("ShaderNodeVectorMath")
    node.operation = op
    node.location = location
    tree.links.new(a, node.inputs[0])
    tree.links.new(b, node.inputs[1])
    return node


def _build_group() -> bpy.types.NodeTree:
    """s, t (the design's coordinates) and the mask: in the depth window and facing the axis.

    The shading normal is Cycles' (and EEVEE's) turned toward the ray on a back face, so
    "faces the axis" means "is seen from the print's side", whichever way a model's normals
    point; see `print_projection` for why that and the window keep each print on its surface.
    """
    group = bpy.data.node_groups.new(GROUP_NAME, "ShaderNodeTree")
    for name, kind in _INPUTS:
        group.interface.new_socket(name, in_out="INPUT", socket_type=kind)
    for name, kind in _OUTPUTS:
        group.interface.new_socket(name, in_out="OUTPUT", socket_type=kind)
    nodes = group.nodes
    given = nodes.new("NodeGroupInput")
    given.location = (-800, 0)
    result = nodes.new("NodeGroupOutput")
    result.location = (600, 0)
    coords = nodes.new("ShaderNodeTexCoord")
    coords.location = (-800, 300)
    offset = _vector_math(group, "SUBTRACT", coords.outputs["Object"], given.outputs["Origin"],
                          location=(-550, 200))
    s = _vector_math(group, "DOT_PRODUCT", offset.outputs[0], given.outputs["U"],
                     location=(-300, 350))
    t = _vector_math(group, "DOT_PRODUCT", offset.outputs[0], given.outputs["V"],
                     location=(-300, 200))
    st = nodes.new("ShaderNodeCombineXYZ")
    st.location = (300, 300)
    group.links.new(_math(group, "ADD", s.outputs["Value"], 0.5, location=(0, 350)).outputs[0],
                    st.inputs["X"])
    group.links.new(_math(group, "ADD", t.outputs["Value"], 0.5, location=(0, 200)).outputs[0],
                    st.inputs["Y"])
    group.links.new(st.outputs[0], result.inputs["Vector"])
    depth = _vector_math(group, "DOT_PRODUCT", offset.outputs[0], given.outputs["Axis"],
                         location=(-300, 0)).outputs["Value"]
    beyond = _math(group, "GREATER_THAN", depth, given.outputs["Depth Min"], location=(0, 50))
    within = _math(group, "LESS_THAN", depth, given.outputs["Depth Max"], location=(0, -100))
    facing = _vector_math(group, "DOT_PRODUCT", coords.outputs["Normal"], given.outputs["Axis"],
                          location=(-300, -250)).outputs["Value"]
    seen = _math(group, "GREATER_THAN", facing, 0.0, location=(0, -250))
    in_window = _math(group, "MULTIPLY", beyond.outputs[0], within.outputs[0],
                      location=(200, -50))
    mask = _math(group, "MULTIPLY", in_window.outputs[0], seen.outputs[0], location=(400, -100))
    group.links.new(mask.outputs[0], result.inputs["Mask"])
    return group


def projection_group() -> bpy.types.NodeTree:
    """The shared projection group (built once per file)."""
    group = bpy.data.node_groups.get(GROUP_NAME)
    if group is None or group.bl_idname != "ShaderNodeTree":
        group = _build_group()
    return group


def _name(index: int, part: str) -> str:
    return f"{_PREFIX}{index}_{part}"


def layer_count(tree: bpy.types.NodeTree) -> int:
    count = 0
    while tree.nodes.get(_name(count, "image")) is not None:
        count += 1
    return count


def image_of(tree: bpy.types.NodeTree, index: int) -> bpy.types.Image | None:
    return tree.nodes[_name(index, "image")].image


def add_layer(tree: bpy.types.NodeTree, index: int) -> None:
    """The nodes of print ``index``, laid out in a row below the fabric's graph."""
    x, y = -900, -2600 - 350 * index
    made = {}
    projection = tree.nodes.new("ShaderNodeGroup")
    projection.node_tree = projection_group()
    projection.location = (x, y)
    image = tree.nodes.new("ShaderNodeTexImage")
    image.extension = "CLIP"  # nothing outside the design's own rectangle
    image.interpolation = "Linear"
    image.location = (x + 250, y)
    tree.links.new(projection.outputs["Vector"], image.inputs["Vector"])
    alpha = _math(tree, "MULTIPLY", image.outputs["Alpha"], projection.outputs["Mask"],
                  location=(x + 550, y - 150))
    alpha.use_clamp = True
    ink = tree.nodes.new("ShaderNodeHueSaturation")
    ink.location = (x + 550, y)
    ink.inputs["Saturation"].default_value = INK_SATURATION
    tree.links.new(image.outputs["Color"], ink.inputs["Color"])
    over = tree.nodes.new("ShaderNodeMix")
    over.data_type = "RGBA"
    over.location = (x + 800, y)
    coverage = tree.nodes.new("ShaderNodeMix")  # 1 - (1 - below) (1 - alpha)
    coverage.data_type = "FLOAT"
    coverage.location = (x + 800, y - 200)
    _socket(coverage, "B", "Float").default_value = 1.0
    for socket_owner in (over, coverage):
        tree.links.new(alpha.outputs[0], _socket(socket_owner, "Factor", "Float"))
    tree.links.new(ink.outputs["Color"], _socket(over, "B", "Color"))
    made.update(projection=projection, image=image, alpha=alpha, ink=ink, over=over,
                coverage=coverage)
    for part, node in made.items():
        node.name = node.label = _name(index, part)


def remove_layer(tree: bpy.types.NodeTree, index: int) -> None:
    for part in _PARTS:
        node = tree.nodes.get(_name(index, part))
        if node is not None:
            tree.nodes.remove(node)


def _socket(node: bpy.types.Node, which: str, kind: str) -> bpy.types.NodeSocket:
    """A Mix node's socket by identifier (its names repeat for each data type)."""
    ident = "Factor_Float" if which == "Factor" else f"{which}_{kind}"
    return next(s for s in node.inputs if s.identifier == ident)


def set_layer(tree: bpy.types.NodeTree, index: int, layer: PrintLayer) -> None:
    """Show ``layer`` in the nodes of print ``index`` (values only, no new links)."""
    tree.nodes[_name(index, "image")].image = layer.image
    inputs = tree.nodes[_name(index, "projection")].inputs
    p = layer.projector
    for name, value in (("Origin", p.origin), ("U", p.u), ("V", p.v), ("Axis", p.axis),
                        ("Depth Min", p.depth_min), ("Depth Max", p.depth_max)):
        inputs[name].default_value = value


def wire(tree: bpy.types.NodeTree, below: bpy.types.NodeSocket, count: int
         ) -> tuple[bpy.types.NodeSocket, bpy.types.NodeSocket | None]:
    """Chain ``count`` layers over the colour ``below``, later over earlier; returns the
    printed colour and the combined coverage (None without prints)."""
    colour, coverage = below, None
    for index in range(count):
        over = tree.nodes[_name(index, "over")]
        cover = tree.nodes[_name(index, "coverage")]
        tree.links.new(colour, _socket(over, "A", "Color"))
        a_in = _socket(cover, "A", "Float")
        if coverage is None:
            for link in list(a_in.links):
                tree.links.remove(link)
            a_in.default_value = 0.0
        else:
            tree.links.new(coverage, a_in)
        colour = next(s for s in over.outputs if s.identifier == "Result_Color")
        coverage = next(s for s in cover.outputs if s.identifier == "Result_Float")
    return colour, coverage
