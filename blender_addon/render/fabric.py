"""Cotton jersey as shader nodes: the knit's loops, the yarn's slubs and heather fibres.

All three are procedural textures on the shirt's object coordinates (metres), so they keep
their real size whatever the UV layout: single jersey has ~12 wales (loop columns) and ~16
courses (loop rows) per cm; slub yarn leaves thicker stretches a centimetre or two long along
the courses; a heather (marled) yarn spins lighter and darker fibres together into short
streaks. `materials.build_fabric_material` wires these outputs into the fabric and the print.
"""

from __future__ import annotations

import math

import bpy

from . import shirt_shape

# A wave texture's X/Z bands repeat every 2 pi / 20 object units (Cycles' svm_wave), over Scale.
_WAVE_PERIOD = 2.0 * math.pi / 20.0
WALES_PER_CM = 12.0
COURSES_PER_CM = 16.0
WALE_WANDER = 2.0
# Side panels face +-x: there the wales run along y. Which projection a face takes follows its
# normal; the blend is narrow so the two patterns hardly overlap.
_SIDE_BLEND = (0.55, 0.8)
# The loop height: wales x (0.6 + 0.4 courses); mean 0.5 x 0.8 (independent sines).
LOOP_MEAN = 0.4
# Slub streaks: ~17 mm along the course, ~1.7 mm high; noise Fac has mean 0.5.
SLUB_SCALE = 60.0
SLUB_STRETCH = 10.0
SLUB_MEAN = 0.5
# the noise's central band stretched to 0..1: its streaks are faint otherwise
SLUB_SPREAD = 0.22
# Heather fibres: ~7 mm streaks, 0.7 mm high, pushed to high contrast.
HEATHER_SCALE = 150.0
HEATHER_LIGHT = 1.55
HEATHER_DARK = 0.6


def _node(tree: bpy.types.NodeTree, kind: str, location: tuple[float, float]) -> bpy.types.Node:
    node = tree.nodes.new(kind)
    node.location = location
    return node


def _math(tree, op: str, location, b: float | None = None) -> bpy.types.Node:
    node = _node(tree, "ShaderNodeMath", location)
    node.operation = op
    if b is not None:
        node.inputs[1].default_value = b
    return node


def _bands(tree, vector, direction: str, per_cm: float, location,
           wander: float = 0.0) -> bpy.types.NodeSocket:
    """Sine bands ``per_cm`` along ``direction``; ``wander`` (radians) bends them gently, as
    real wales meander: a perfectly regular grid this close to the pixel pitch beats into
    moire."""
    wave = _node(tree, "ShaderNodeTexWave", location)
    wave.wave_type = "BANDS"
    wave.bands_direction = direction
    wave.inputs["Scale"].default_value = _WAVE_PERIOD * per_cm * 100.0
    wave.inputs["Distortion"].default_value = wander
    wave.inputs["Detail"].default_value = 0.0
    # the bend's noise spans ~3 bands
    wave.inputs["Detail Scale"].default_value = 0.3
    tree.links.new(vector, wave.inputs["Vector"])
    return wave.outputs["Fac"]


def _stretched_noise(tree, coords, scale: float, location) -> bpy.types.NodeSocket:
    """Noise long across the shirt (x, y) and short up it (z): streaks along the courses."""
    mapping = _node(tree, "ShaderNodeMapping", location)
    mapping.inputs["Scale"].default_value = (1.0, 1.0, SLUB_STRETCH)
    tree.links.new(coords, mapping.inputs["Vector"])
    noise = _node(tree, "ShaderNodeTexNoise", (location[0] + 200, location[1]))
    noise.inputs["Scale"].default_value = scale
    noise.inputs["Detail"].default_value = 1.0
    noise.inputs["Roughness"].default_value = 0.5
    tree.links.new(mapping.outputs["Vector"], noise.inputs["Vector"])
    return noise.outputs["Fac"]


def add_loops(tree: bpy.types.NodeTree, coords, normal, x: float, y: float):
    """The knit's loop height (0..1): wale ridges across, course rows up the shirt."""
    split = _node(tree, "ShaderNodeSeparateXYZ", (x, y - 300))
    tree.links.new(normal, split.inputs["Vector"])
    side = _math(tree, "ABSOLUTE", (x + 200, y - 300))
    tree.links.new(split.outputs["X"], side.inputs[0])
    blend = _node(tree, "ShaderNodeMapRange", (x + 400, y - 300))
    blend.inputs["From Min"].default_value, blend.inputs["From Max"].default_value = _SIDE_BLEND
    tree.links.new(side.outputs[0], blend.inputs["Value"])
    front = _bands(tree, coords, "X", WALES_PER_CM, (x, y), WALE_WANDER)
    flank = _bands(tree, coords, "Y", WALES_PER_CM, (x, y - 150), WALE_WANDER)
    wales = _node(tree, "ShaderNodeMix", (x + 600, y))
    wales.data_type = "FLOAT"
    tree.links.new(blend.outputs["Result"], wales.inputs["Factor"])
    tree.links.new(front, wales.inputs["A"])
    tree.links.new(flank, wales.inputs["B"])
    courses = _bands(tree, coords, "Z", COURSES_PER_CM, (x, y + 150))
    rows = _math(tree, "MULTIPLY_ADD", (x + 600, y + 150), b=0.4)
    rows.inputs[2].default_value = 0.6
    tree.links.new(courses, rows.inputs[0])
    height = _math(tree, "MULTIPLY", (x + 800, y))
    tree.links.new(wales.outputs["Result"], height.inputs[0])
    tree.links.new(rows.outputs[0], height.inputs[1])
    return height.outputs[0]


def add_slub(tree: bpy.types.NodeTree, coords, x: float, y: float):
    """Slub yarn: soft lighter and darker streaks along the courses (0..1, mean 0.5)."""
    contrast = _node(tree, "ShaderNodeMapRange", (x + 400, y))
    # symmetric about the noise's mean 0.5, so the mean shade stays SLUB_MEAN
    contrast.inputs["From Min"].default_value = 0.5 - SLUB_SPREAD
    contrast.inputs["From Max"].default_value = 0.5 + SLUB_SPREAD
    tree.links.new(_stretched_noise(tree, coords, SLUB_SCALE, (x, y)), contrast.inputs["Value"])
    return contrast.outputs["Result"]


def add_heather(tree: bpy.types.NodeTree, coords, fabric_color, x: float, y: float):
    """The fabric colour spun from lighter and darker fibres (a colour socket)."""
    fibres = _stretched_noise(tree, coords, HEATHER_SCALE, (x, y))
    contrast = _node(tree, "ShaderNodeMapRange", (x + 400, y))
    contrast.inputs["From Min"].default_value = 0.38
    contrast.inputs["From Max"].default_value = 0.62
    tree.links.new(fibres, contrast.inputs["Value"])
    dark = _node(tree, "ShaderNodeVectorMath", (x + 400, y - 200))
    dark.operation = "SCALE"
    dark.inputs["Scale"].default_value = HEATHER_DARK
    tree.links.new(fabric_color, dark.inputs[0])
    light = _node(tree, "ShaderNodeVectorMath", (x + 400, y - 350))
    light.operation = "MULTIPLY_ADD"
    light.inputs[1].default_value = (HEATHER_LIGHT,) * 3
    light.inputs[2].default_value = (0.08,) * 3
    tree.links.new(fabric_color, light.inputs[0])
    mix = _node(tree, "ShaderNodeMix", (x + 650, y))
    mix.data_type = "RGBA"
    mix.clamp_result = True
    tree.links.new(contrast.outputs["Result"], mix.inputs["Factor"])
    tree.links.new(dark.outputs["Vector"], _socket(mix.inputs, "A_Color"))
    tree.links.new(light.outputs["Vector"], _socket(mix.inputs, "B_Color"))
    return _socket(mix.outputs, "Result_Color")


def _socket(sockets, identifier: str) -> bpy.types.NodeSocket:
    """A Mix node's socket by identifier (its names repeat once per data type)."""
    return next(s for s in sockets if s.identifier == identifier)


# Seams of the procedural tee (render/shirt_shape.py): the front and back panels meet on the
# plane y = 0 (the side seams and, over the top, the shoulder seams). The body's and the short
# sleeves' hems are turned up and held by a double-needle coverstitch, two rows ~6 mm apart
# straddling the hem's groove; another twin row holds the collar's seam down on the body. The
# mesh says how far each point is from those edges (shirt_shape's distance attributes).
HEM_STITCH_ROWS = (shirt_shape.HEM_STITCH_LINE - 0.0032, shirt_shape.HEM_STITCH_LINE + 0.0032)
NECK_STITCH_ROWS = (0.004, 0.0104)  # below the collar's seam, metres
STITCH_HALF_WIDTH = 0.0007
STITCHES_PER_CM = 4.0
SEAM_HALF_WIDTH = 0.0009


def _band(tree, value, centre: float, half_width: float, location):
    """1 where ``value`` is within ``half_width`` of ``centre``, falling to 0 (smoothly)."""
    dist = _math(tree, "SUBTRACT", location, b=centre)
    tree.links.new(value, dist.inputs[0])
    far = _math(tree, "ABSOLUTE", (location[0] + 150, location[1]))
    tree.links.new(dist.outputs[0], far.inputs[0])
    band = _node(tree, "ShaderNodeMapRange", (location[0] + 300, location[1]))
    band.interpolation_type = "SMOOTHSTEP"
    band.inputs["From Min"].default_value = half_width
    band.inputs["From Max"].default_value = 0.4 * half_width
    tree.links.new(far.outputs[0], band.inputs["Value"])
    return band.outputs["Result"]


def _attribute(tree, name: str, location):
    node = _node(tree, "ShaderNodeAttribute", location)
    node.attribute_type = "GEOMETRY"
    node.attribute_name = name
    return node.outputs["Fac"]


def _stitch_rows(tree, distance, rows: tuple[float, float], location):
    """The two rows of a twin-needle stitch, ``rows`` metres along ``distance``."""
    x, y = location
    first, second = (_band(tree, distance, row, STITCH_HALF_WIDTH, (x, y + 200 * i))
                     for i, row in enumerate(rows))
    both = _math(tree, "ADD", (x + 500, y))
    tree.links.new(first, both.inputs[0])
    tree.links.new(second, both.inputs[1])
    return both.outputs[0]


def add_seams(tree: bpy.types.NodeTree, coords, x: float, y: float):
    """How much seam or stitch a point is on (0..1): the shoulder and side seam lines, and the
    stitch rows of the hems and the collar, dashed stitch by stitch. Needs the tee's part and
    stitch-distance attributes."""
    part = _attribute(tree, shirt_shape.PART_ATTRIBUTE, (x, y - 300))
    body = _math(tree, "LESS_THAN", (x + 200, y - 300), b=shirt_shape.PART_BACK + 0.5)
    tree.links.new(part, body.inputs[0])
    split = _node(tree, "ShaderNodeSeparateXYZ", (x, y))
    tree.links.new(coords, split.inputs["Vector"])
    side_seam = _band(tree, split.outputs["Y"], 0.0, SEAM_HALF_WIDTH, (x + 200, y))
    seam = _math(tree, "MULTIPLY", (x + 700, y))
    tree.links.new(side_seam, seam.inputs[0])
    tree.links.new(body.outputs[0], seam.inputs[1])
    hem = _stitch_rows(tree, _attribute(tree, shirt_shape.HEM_DISTANCE_ATTRIBUTE, (x, y + 200)),
                       HEM_STITCH_ROWS, (x + 200, y + 200))
    neck = _stitch_rows(tree,
                        _attribute(tree, shirt_shape.NECK_DISTANCE_ATTRIBUTE, (x, y + 600)),
                        NECK_STITCH_ROWS, (x + 200, y + 600))
    rows = _math(tree, "ADD", (x + 900, y + 400))
    tree.links.new(hem, rows.inputs[0])
    tree.links.new(neck, rows.inputs[1])
    # stitches along a row, which runs round the body, a sleeve or the neck (x + y + z
    # changes along each); the thread dips into the cloth between stitches
    along = _math(tree, "ADD", (x + 200, y + 1000))
    tree.links.new(split.outputs["X"], along.inputs[0])
    tree.links.new(split.outputs["Y"], along.inputs[1])
    along_z = _math(tree, "ADD", (x + 350, y + 1000))
    tree.links.new(along.outputs[0], along_z.inputs[0])
    tree.links.new(split.outputs["Z"], along_z.inputs[1])
    dash = _bands(tree, along_z.outputs[0], "X", STITCHES_PER_CM, (x + 500, y + 1000))
    stitched = _node(tree, "ShaderNodeMapRange", (x + 700, y + 1000))
    stitched.inputs["To Min"].default_value = 0.35
    tree.links.new(dash, stitched.inputs["Value"])
    stitches = _math(tree, "MULTIPLY", (x + 1100, y + 400))
    tree.links.new(rows.outputs[0], stitches.inputs[0])
    tree.links.new(stitched.outputs["Result"], stitches.inputs[1])
    lines = _math(tree, "MAXIMUM", (x + 1300, y))
    tree.links.new(seam.outputs[0], lines.inputs[0])
    tree.links.new(stitches.outputs[0], lines.inputs[1])
    return lines.outputs[0]
