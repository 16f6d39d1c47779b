"""A fast turntable: bake the lighting once, then draw every frame in one render.

In a turntable only the viewpoint changes, so with the lights fixed relative to the shirt (the
camera orbits a lit shirt) the diffuse lighting on the cloth is the same in every frame. It is
baked once with Cycles into a colour attribute on the shirt's vertices (one value per vertex,
so no UV islands whose borders show as stripes, and a few dozen thousand points instead of a
texture's quarter million, so each gets enough samples not to look mottled). A copy of the
fabric material then emits `base colour x irradiance`, plus a view-dependent sheen. The base
colour (cotton, heather, prints) is baked too, once per job, into a texture on the garment's
atlas (`bake_atlas`) at about a texel per frame pixel, so a frame reads one texture instead of
every print's projection and design (720^2 on 2 cores: 0.81-0.86 -> 0.52-0.60 s a frame, for
a 6.6 s bake). Frames then cost only their anti-aliasing samples: no light sampling, no
bounces, no denoiser, no print graph.
(Drawing all frames in one render through an OSL custom camera would also save Cycles' per-frame
overhead, but the bpy 5.0.1 wheel lacks `oslquery`, so custom camera shaders cannot compile.)
The lighting depends only on the geometry and the lights, so it is cached between jobs and
colours; the base colour is the job's own and goes with its turntable.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import bpy
import numpy as np

from .._shared import errors
from ..core.planning import RenderSettings
from . import bake_atlas, cycles_setup, materials, shots

_log = logging.getLogger(__name__)
BAKE_ATTRIBUTE = "TShirt_Irradiance"
TURNTABLE_MATERIAL = "TShirt_TurntableFabric"
# Per-vertex irradiance: 16 spp leaves ~6 % noise on a vertex, which SMOOTH_PASSES of
# neighbour averaging (each vertex with the ~4 it shares an edge with, a ~2 cm reach on this
# mesh) bring under 1.5 %: lighting is smooth at that scale, the folds keep their shading.
BAKE_SAMPLES = 16
BAKE_BOUNCES = 2
SMOOTH_PASSES = 3
# four: the silhouette gets five coverage levels through the 1 px box filter (three left
# it visibly ragged at 100 %); each sample costs ~0.17 s a 720^2 frame on 2 cores
FRAME_SAMPLES = 4
# The bake has no sheen: it is view-dependent, a white glow of the same light that grows
# towards grazing angles. Frames emit (base colour + SHEEN_GRAZING x (1 - |N.V|)^SHEEN_POWER)
# x irradiance. Fitted on frame 0 against the front still (360^2, mean CIELAB of the shirt):
# red 0.65, navy 1.36, white 0.37 ΔE at 0.15; the old constant white 0.02 was 4.5 on red.
SHEEN_GRAZING = 0.2
SHEEN_POWER = 2.0
BASE_IMAGE = "TShirt_TurntableBase"
# Texture side per frame side. The atlas fills about half its square and lays the whole
# garment, inside and out, so a 720^2 frame's 2048^2 gives about one texel per pixel on the
# front: at 100 % a print's edges look as they did read from the design (at 200 % a little
# softer). 4096^2 took 21 s to bake at one sample, more than the frames save.
BASE_TEXELS_PER_PIXEL = 2.5
BASE_MAX_SIZE = 4096
# A texel averages its samples over its own square, as a frame's pixel does: with one, a
# heather's fibre streaks and a halftone's dots (finer than a texel) came out as blotches.
# Four (as the frames take) cost 6.6 s instead of 2.7 s on 2048^2 (2 cores).
BASE_SAMPLES = FRAME_SAMPLES
_N_SHEEN = "tshirt_turntable_sheen"  # base colour + sheen: its first input is the base
_cache: dict[str, object] = {}


def forget_cache() -> None:
    """Drop the bake of a previously built scene (its geometry is gone)."""
    _cache.clear()


# ------------------------------------------------------------------------------------------
# bake


def _smooth(values: np.ndarray, edges: np.ndarray, passes: int) -> np.ndarray:
    """Average every vertex with its edge neighbours, `passes` times (Jacobi steps)."""
    a, b = edges[:, 0], edges[:, 1]
    degree = np.bincount(np.concatenate([a, b]), minlength=len(values)).astype(np.float32)
    for _ in range(passes):
        total = values.copy()
        for channel in range(values.shape[1]):
            total[:, channel] += (np.bincount(a, values[b, channel], len(values))
                                  + np.bincount(b, values[a, channel], len(values)))
        values = total / (1.0 + degree)[:, None]
    return values


def _select_only(obj: bpy.types.Object) -> None:
    view_layer = bpy.context.view_layer
    view_layer.update()  # objects removed by a rebuild leave stale entries until then
    for other in view_layer.objects:
        other.select_set(False)
    obj.select_set(True)
    view_layer.objects.active = obj


def bake_irradiance(shirt, device: cycles_setup.Device) -> str:
    """Bake the diffuse light (direct + indirect, no colour) into a point colour attribute
    of the shirt and return the attribute's name."""
    if _cache.get("irradiance") == BAKE_ATTRIBUTE:
        return BAKE_ATTRIBUTE
    scene = shirt.scene
    obj = shirt.shirt
    mesh = obj.data
    attr = mesh.color_attributes.get(BAKE_ATTRIBUTE) or mesh.color_attributes.new(
        BAKE_ATTRIBUTE, "FLOAT_COLOR", "POINT")
    saved_active = mesh.color_attributes.active_color
    mesh.color_attributes.active_color = attr
    _select_only(obj)
    shirt.aim_camera(0.0)
    cycles_setup.configure(scene, RenderSettings(64, BAKE_SAMPLES, 0.0, False, BAKE_BOUNCES),
                           device)
    bake = scene.render.bake
    bake.use_pass_direct = True
    bake.use_pass_indirect = True
    bake.use_pass_color = False
    bake.target = "VERTEX_COLORS"
    try:
        with bpy.context.temp_override(active_object=obj, object=obj, selected_objects=[obj]):
            bpy.ops.object.bake(type="DIFFUSE", pass_filter={"DIRECT", "INDIRECT"},
                                target="VERTEX_COLORS")
    except RuntimeError as exc:
        raise errors.RenderFailed(f"Baking the turntable lighting failed: {exc}") from None
    finally:
        if saved_active is not None:
            mesh.color_attributes.active_color = saved_active
    count = len(mesh.vertices)
    colors = np.empty(count * 4, dtype=np.float32)
    attr.data.foreach_get("color", colors)
    colors = colors.reshape(count, 4)
    edges = np.empty(len(mesh.edges) * 2, dtype=np.int64)
    mesh.edges.foreach_get("vertices", edges)
    colors[:, :3] = _smooth(colors[:, :3], edges.reshape(-1, 2), SMOOTH_PASSES)
    attr.data.foreach_set("color", colors.ravel())
    _cache["irradiance"] = BAKE_ATTRIBUTE
    return BAKE_ATTRIBUTE


def _turntable_material(shirt, attribute: str) -> bpy.types.Material:
    """A copy of the fabric that emits (base colour + sheen) x baked irradiance."""
    old = bpy.data.materials.get(TURNTABLE_MATERIAL)
    if old is not None:
        bpy.data.materials.remove(old)
    mat = shirt.material.copy()
    mat.name = TURNTABLE_MATERIAL
    # the knit is finer than a frame's pixel: its average shade looks the same, and the base
    # colour's bake would only alias the loops into moire
    materials.flatten_knit(mat)
    tree = mat.node_tree
    bsdf = next((n for n in tree.nodes if n.type == "BSDF_PRINCIPLED"), None)
    output = next((n for n in tree.nodes if n.type == "OUTPUT_MATERIAL"), None)
    if bsdf is None or output is None:
        raise errors.RenderFailed("The fabric material has no Principled BSDF to bake from.")
    base = bsdf.inputs["Base Color"]
    irradiance = tree.nodes.new("ShaderNodeAttribute")
    irradiance.attribute_type = "GEOMETRY"
    irradiance.attribute_name = attribute
    facing = tree.nodes.new("ShaderNodeLayerWeight")
    facing.inputs["Blend"].default_value = 0.5
    grazing = tree.nodes.new("ShaderNodeMath")
    grazing.operation = "POWER"
    grazing.inputs[1].default_value = SHEEN_POWER
    tree.links.new(facing.outputs["Facing"], grazing.inputs[0])
    glow = tree.nodes.new("ShaderNodeMath")
    glow.operation = "MULTIPLY"
    glow.inputs[1].default_value = SHEEN_GRAZING
    tree.links.new(grazing.outputs["Value"], glow.inputs[0])
    sheen = tree.nodes.new("ShaderNodeVectorMath")
    sheen.name = _N_SHEEN
    sheen.operation = "ADD"
    if base.is_linked:
        tree.links.new(base.links[0].from_socket, sheen.inputs[0])
    else:
        sheen.inputs[0].default_value = base.default_value[:3]
    tree.links.new(glow.outputs["Value"], sheen.inputs[1])
    lit = tree.nodes.new("ShaderNodeVectorMath")
    lit.operation = "MULTIPLY"
    tree.links.new(sheen.outputs["Vector"], lit.inputs[0])
    tree.links.new(irradiance.outputs["Color"], lit.inputs[1])
    emit = tree.nodes.new("ShaderNodeEmission")
    tree.links.new(lit.outputs["Vector"], emit.inputs["Color"])
    emit.inputs["Strength"].default_value = 1.0
    tree.links.new(emit.outputs["Emission"], output.inputs["Surface"])
    return mat


def _base_size(resolution: int) -> int:
    size = 512
    while size < BASE_TEXELS_PER_PIXEL * resolution and size < BASE_MAX_SIZE:
        size *= 2
    return size


def _open_surface(mesh: bpy.types.Mesh) -> bool:
    """Whether some edge borders one face only: a single-layer model, whose faces are seen
    from both sides (through its openings), as a solidified one's never are."""
    loop_edge = np.empty(len(mesh.loops), dtype=np.int64)
    mesh.loops.foreach_get("edge_index", loop_edge)
    return bool((np.bincount(loop_edge, minlength=len(mesh.edges)) == 1).any())


def bake_base_colour(shirt, material: bpy.types.Material, device: cycles_setup.Device,
                     resolution: int) -> list[bpy.types.Image]:
    """Bake what `material` (the frames' copy) takes as its base colour onto the garment's
    atlas and make the material read it from there; returns the images, for the caller to
    remove. A bake sees each face from the side its normal points to, so a single-layer model
    bakes a second image with its normals flipped: the inner side, which takes a neck label
    (and no front or back print), and the frames read it where they see a face from behind.
    A garment with no atlas bakes nothing (an empty list): its frames read the live colours."""
    obj = shirt.shirt
    mesh = obj.data
    size = _base_size(resolution)
    atlas = bake_atlas.ensure_atlas(mesh)
    if atlas is None:
        _log.info("the garment folds over itself in the bake atlas: live turntable colours")
        return []
    tree = material.node_tree
    sheen = tree.nodes[_N_SHEEN]
    base = sheen.inputs[0].links[0].from_socket if sheen.inputs[0].is_linked else None
    output = next(n for n in tree.nodes if n.type == "OUTPUT_MATERIAL")
    shaded = output.inputs["Surface"].links[0].from_socket
    coords = tree.nodes.new("ShaderNodeUVMap")
    coords.uv_map = atlas
    flat = tree.nodes.new("ShaderNodeEmission")
    if base is not None:
        tree.links.new(base, flat.inputs["Color"])
    else:
        flat.inputs["Color"].default_value = (*sheen.inputs[0].default_value, 1.0)
    tree.links.new(flat.outputs["Emission"], output.inputs["Surface"])
    # every face needs a target: the model's other materials bake as fabric too, into texels
    # their frames never read
    saved = [slot.material for slot in obj.material_slots]
    for slot in obj.material_slots:
        slot.material = material
    scene = shirt.scene
    # the designs at the size the frames would read them (`texture_limit_render`)
    cycles_setup.configure(scene, RenderSettings(resolution, BASE_SAMPLES, 0.0, False, 0),
                           device)
    settings = scene.render.bake
    settings.target = "IMAGE_TEXTURES"
    settings.margin = max(1, bake_atlas.padding_texels(size) // 2)
    settings.margin_type = "EXTEND"
    _select_only(obj)
    images: list[bpy.types.Image] = []
    textures: list[bpy.types.Node] = []
    try:
        for inner in (False, True) if _open_surface(mesh) else (False,):
            image = bpy.data.images.new(BASE_IMAGE, size, size, alpha=False)
            images.append(image)
            texture = tree.nodes.new("ShaderNodeTexImage")
            texture.image = image
            texture.extension = "EXTEND"  # the charts' edges: their margin, never another chart
            tree.links.new(coords.outputs["UV"], texture.inputs["Vector"])
            textures.append(texture)
            tree.nodes.active = texture  # the bake's target
            if inner:
                mesh.flip_normals()
            try:
                with bpy.context.temp_override(active_object=obj, object=obj,
                                               selected_objects=[obj]):
                    bpy.ops.object.bake(type="EMIT", target="IMAGE_TEXTURES", uv_layer=atlas,
                                        margin=settings.margin)
            finally:
                if inner:
                    mesh.flip_normals()
    except BaseException as exc:  # a failed or cancelled bake leaves no image behind
        for image in images:
            bpy.data.images.remove(image)
        if isinstance(exc, RuntimeError):
            raise errors.RenderFailed(f"Baking the turntable's colours failed: {exc}") from None
        raise
    finally:
        for slot, saved_material in zip(obj.material_slots, saved, strict=True):
            slot.material = saved_material
        tree.links.new(shaded, output.inputs["Surface"])
        tree.nodes.remove(flat)
    colour = textures[0].outputs["Color"]
    if len(textures) == 2:
        behind = tree.nodes.new("ShaderNodeNewGeometry")
        sides = tree.nodes.new("ShaderNodeMix")
        sides.data_type = "RGBA"
        socket = {s.identifier: s for s in (*sides.inputs, *sides.outputs)}  # names repeat
        tree.links.new(behind.outputs["Backfacing"], socket["Factor_Float"])
        tree.links.new(colour, socket["A_Color"])
        tree.links.new(textures[1].outputs["Color"], socket["B_Color"])
        colour = socket["Result_Color"]
    tree.links.new(colour, sheen.inputs[0])
    return images


# ------------------------------------------------------------------------------------------
# frames


def render_frames(shirt, settings: RenderSettings, device: cycles_setup.Device,
                  frames: int, frame_dir: Path, frame_done: Callable[[int], None],
                  timings: dict[str, float]) -> None:
    """Turn the shirt (with its baked lighting) in front of the camera, frame by frame."""
    scene = shirt.scene
    t = time.monotonic()
    attribute = bake_irradiance(shirt, device)
    timings["bake"] = time.monotonic() - t
    material = _turntable_material(shirt, attribute)
    t = time.monotonic()
    bases = bake_base_colour(shirt, material, device, settings.resolution)
    timings["bake_colour"] = time.monotonic() - t
    slots = [s for s in shirt.shirt.material_slots if s.material == shirt.material]
    try:
        for slot in slots:
            slot.material = material
        # emission only: anti-aliasing samples, no bounces, nothing to denoise
        cycles_setup.configure(
            scene, RenderSettings(settings.resolution, FRAME_SAMPLES, 0.0, False, 0), device,
            box_filter=True, texture_size=bases[0].size[0] if bases else None)
        shots.render_turning_frames(shirt, frames, frame_dir, frame_done)
    finally:
        for slot in slots:
            slot.material = shirt.material
        for image in bases:
            bpy.data.images.remove(image)
