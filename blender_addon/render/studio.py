"""Studio: camera rig, soft lights, world ambient, backgrounds and colour management.

The camera and the lights hang on one rig that turns around the shirt: every angle is lit the
same way relative to the lens, the way a product photographer re-lights each shot, so the back
view is not the dark side of a fixed setup. The studio backdrop rides on the same rig and is
seen only by camera rays, so changing the background never changes how the shirt is lit.
A close-up (`closeup`) moves only the camera on the rig, for one still, and puts it back.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

import bpy
import numpy as np
from bpy_extras.object_utils import world_to_camera_view
from mathutils import Vector

from . import compat, cycles_setup

RIG_NAME = "TShirt_Rig"
CAMERA_NAME = "TShirt_Camera"
BACKDROP_NAME = "TShirt_Backdrop"
WORLD_NAME = "TShirt_World"

# World nodes found by name when the background changes.
_N_WORLD_MIX = "tshirt_bg_mix"
_N_WORLD_CAMERA_COLOR = "tshirt_bg_camera_color"

AMBIENT_RGB = (0.30, 0.30, 0.31)
AMBIENT_STRENGTH = 0.35
LENS_MM = 85.0
SENSOR_MM = 36.0
FILL_FRACTION = 0.86  # the shirt's silhouette fills ~86 % of the frame height
# ... as if all of it stood at the target's depth. The parts turned toward the camera are
# nearer and look bigger (the hem's side corners in a side view): from any azimuth, no point
# comes nearer the frame's edge than this fraction of the half frame.
EDGE_FRACTION = 0.97
CAMERA_ELEVATION_DEG = 4.0
#: A close-up's frame side over its print's larger side: the print fills most of the frame,
#: with enough of the garment around it to say where it is.
CLOSEUP_MARGIN = 1.5
BACKGROUNDS = ("transparent", "color", "studio")


@dataclass(frozen=True)
class _LightSpec:
    name: str
    azimuth_deg: float  # relative to the camera (0 = from the camera's side)
    elevation_deg: float
    distance: float
    size: float
    energy_w: float
    color: tuple[float, float, float]


# A large soft key up-left of the camera, a broad fill from the right at lens height and a rim
# from behind that separates dark shirts from dark backgrounds.
LIGHTS = (
    _LightSpec("TShirt_Key", -40.0, 32.0, 2.6, 2.2, 80.0, (1.0, 0.985, 0.96)),
    _LightSpec("TShirt_Fill", 50.0, 8.0, 2.8, 2.6, 32.0, (0.96, 0.98, 1.0)),
    _LightSpec("TShirt_Rim", 165.0, 38.0, 2.4, 1.6, 70.0, (1.0, 1.0, 1.0)),
    _LightSpec("TShirt_Top", 0.0, 85.0, 2.4, 2.0, 18.0, (1.0, 1.0, 1.0)),
)


def _half_fov() -> float:
    return math.atan(SENSOR_MM * 0.5 / LENS_MM)


def _orbit_position(azimuth_deg: float, elevation_deg: float, distance: float) -> Vector:
    """Position on a sphere; azimuth 0 = front (-Y), counter-clockwise seen from above."""
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    return Vector(
        (
            distance * math.cos(el) * math.sin(az),
            -distance * math.cos(el) * math.cos(az),
            distance * math.sin(el),
        )
    )


def _aim(obj: bpy.types.Object, target: Vector) -> None:
    direction = target - obj.location
    obj.rotation_euler = direction.to_track_quat("-Z", "Y").to_euler()


def _link(collection: bpy.types.Collection, obj: bpy.types.Object) -> bpy.types.Object:
    collection.objects.link(obj)
    return obj


def camera_distance(points: np.ndarray) -> float:
    """How far the rig's camera stands from the target, given the points that bound the
    garment (N x 3, relative to the target, which is halfway up it): its silhouette seen from
    any side (a radius) fills FILL_FRACTION of the frame, and the camera backs off as far as
    needed for every point to stay within EDGE_FRACTION of it in perspective, at every
    azimuth a view or a turntable frame takes."""
    silhouette = max(float(np.hypot(points[:, 0], points[:, 1]).max()),
                     float(np.abs(points[:, 2]).max()))
    tan_half = math.tan(_half_fov())
    limit = EDGE_FRACTION * tan_half
    # the camera's axes at each azimuth, from where `build_rig` and `aim_rig` put it: forward
    # toward the target, right level (square to forward and Z), up square to both
    forward = -np.array([_orbit_position(az, CAMERA_ELEVATION_DEG, 1.0)
                         for az in range(0, 360, 5)])
    right = np.cross(forward, (0.0, 0.0, 1.0))
    right /= np.linalg.norm(right, axis=1, keepdims=True)
    up = np.cross(right, forward)
    # a point at depth (q . forward) + D in front of the camera shows at (q . right, q . up)
    # over that depth: within the limit when D >= max(|q . right|, |q . up|) / limit - q . fwd
    across = np.maximum(np.abs(points @ right.T), np.abs(points @ up.T))
    needed = float((across / limit - points @ forward.T).max())
    return max(silhouette / FILL_FRACTION / tan_half, needed)


def build_rig(
    collection: bpy.types.Collection, target: Vector, distance: float
) -> tuple[bpy.types.Object, bpy.types.Object]:
    """Create rig empty, camera, lights and the (hidden) studio backdrop.

    The camera stands ``distance`` from ``target`` (`camera_distance`), the same at every
    azimuth, so every view frames the shirt identically.
    """
    rig = _link(collection, bpy.data.objects.new(RIG_NAME, None))
    rig.location = (0.0, 0.0, target.z)
    rig.empty_display_size = 0.2

    cam_data = bpy.data.cameras.new(CAMERA_NAME)
    cam_data.lens = LENS_MM
    cam_data.sensor_width = SENSOR_MM
    cam_data.sensor_fit = "AUTO"
    cam_data.clip_start = 0.05
    cam_data.clip_end = distance * 4
    camera = _link(collection, bpy.data.objects.new(CAMERA_NAME, cam_data))
    camera.parent = rig
    # a touch above the chest line, looking slightly down like a product photographer
    camera.location = _orbit_position(0.0, CAMERA_ELEVATION_DEG, distance)
    _aim(camera, Vector((0.0, 0.0, 0.0)))

    for spec in LIGHTS:
        data = bpy.data.lights.new(spec.name, "AREA")
        data.shape = "DISK"
        data.size = spec.size
        data.energy = spec.energy_w
        data.color = spec.color
        light = _link(collection, bpy.data.objects.new(spec.name, data))
        light.parent = rig
        light.location = _orbit_position(spec.azimuth_deg, spec.elevation_deg, spec.distance)
        _aim(light, Vector((0.0, 0.0, 0.0)))

    backdrop = _build_backdrop(distance)
    _link(collection, backdrop)
    backdrop.parent = rig
    backdrop.location = _orbit_position(180.0, 0.0, 1.2)  # behind the shirt seen from camera
    backdrop.rotation_euler = (math.radians(90.0), 0.0, 0.0)
    backdrop.hide_render = True
    backdrop.hide_viewport = True
    return rig, camera


def _build_backdrop(distance: float) -> bpy.types.Object:
    """A camera-only plane with a soft radial grey gradient (the "studio" background)."""
    size = (distance + 1.2) * math.tan(_half_fov()) * 2.6
    mesh = bpy.data.meshes.new(BACKDROP_NAME)
    h = size / 2
    mesh.from_pydata([(-h, -h, 0), (h, -h, 0), (h, h, 0), (-h, h, 0)], [], [(0, 1, 2, 3)])
    mesh.update()
    obj = bpy.data.objects.new(BACKDROP_NAME, mesh)
    # only the camera sees it: it must neither light nor shadow the shirt
    for attr in ("visible_diffuse", "visible_glossy", "visible_transmission",
                 "visible_volume_scatter", "visible_shadow"):
        setattr(obj, attr, False)

    mat = bpy.data.materials.new(BACKDROP_NAME)
    compat.use_nodes(mat)
    tree = mat.node_tree
    tree.nodes.clear()
    coords = tree.nodes.new("ShaderNodeTexCoord")
    grad = tree.nodes.new("ShaderNodeTexGradient")
    grad.gradient_type = "SPHERICAL"
    mapping = tree.nodes.new("ShaderNodeMapping")
    mapping.inputs["Scale"].default_value = (1.0 / (h * 1.15), 1.0 / (h * 1.0), 1.0)
    mapping.inputs["Location"].default_value = (0.0, 0.12, 0.0)
    ramp = tree.nodes.new("ShaderNodeValToRGB")
    ramp.color_ramp.elements[0].color = (0.34, 0.345, 0.35, 1.0)
    ramp.color_ramp.elements[1].color = (0.80, 0.80, 0.80, 1.0)
    ramp.color_ramp.interpolation = "EASE"
    emission = tree.nodes.new("ShaderNodeEmission")
    out = tree.nodes.new("ShaderNodeOutputMaterial")
    tree.links.new(coords.outputs["Object"], mapping.inputs["Vector"])
    tree.links.new(mapping.outputs["Vector"], grad.inputs["Vector"])
    tree.links.new(grad.outputs["Fac"], ramp.inputs["Fac"])
    tree.links.new(ramp.outputs["Color"], emission.inputs["Color"])
    tree.links.new(emission.outputs["Emission"], out.inputs["Surface"])
    mesh.materials.append(mat)
    return obj


def build_world(scene: bpy.types.Scene) -> bpy.types.World:
    """Subtle grey ambient for lighting; camera rays see a separate, switchable colour."""
    world = bpy.data.worlds.get(WORLD_NAME) or bpy.data.worlds.new(WORLD_NAME)
    compat.use_nodes(world)
    tree = world.node_tree
    tree.nodes.clear()
    ambient = tree.nodes.new("ShaderNodeBackground")
    ambient.inputs["Color"].default_value = (*AMBIENT_RGB, 1.0)
    ambient.inputs["Strength"].default_value = AMBIENT_STRENGTH
    seen = tree.nodes.new("ShaderNodeBackground")
    seen.name = _N_WORLD_CAMERA_COLOR
    seen.inputs["Color"].default_value = (1.0, 1.0, 1.0, 1.0)
    seen.inputs["Strength"].default_value = 1.0
    path = tree.nodes.new("ShaderNodeLightPath")
    mix = tree.nodes.new("ShaderNodeMixShader")
    mix.name = _N_WORLD_MIX
    out = tree.nodes.new("ShaderNodeOutputWorld")
    tree.links.new(path.outputs["Is Camera Ray"], mix.inputs["Fac"])
    tree.links.new(ambient.outputs["Background"], mix.inputs[1])
    tree.links.new(seen.outputs["Background"], mix.inputs[2])
    tree.links.new(mix.outputs["Shader"], out.inputs["Surface"])
    scene.world = world
    return world


def set_background(
    scene: bpy.types.Scene, kind: str, linear_rgb: tuple[float, float, float] | None = None
) -> None:
    """Switch between a transparent film, a solid colour and the studio gradient."""
    if kind not in BACKGROUNDS:
        raise ValueError(f"Background must be one of {', '.join(BACKGROUNDS)}, not {kind!r}.")
    if kind == "color" and linear_rgb is None:
        raise ValueError("A colour background needs a linear RGB colour.")
    scene.render.film_transparent = kind == "transparent"
    world = scene.world
    seen = world.node_tree.nodes.get(_N_WORLD_CAMERA_COLOR) if world and world.node_tree else None
    if seen is None:
        raise ValueError("The scene's world was not built by the T-shirt studio.")
    if kind == "color":
        r, g, b = (float(c) for c in linear_rgb)  # type: ignore[union-attr]
        seen.inputs["Color"].default_value = (r, g, b, 1.0)
    else:
        seen.inputs["Color"].default_value = (0.55, 0.55, 0.56, 1.0)
    backdrop = scene.objects.get(BACKDROP_NAME)
    if backdrop is not None:
        backdrop.hide_render = kind != "studio"
        backdrop.hide_viewport = kind != "studio"


def aim_rig(rig: bpy.types.Object, azimuth_deg: float) -> None:
    """Turn the camera+lights rig; azimuth 0 = front, 90 = +X (wearer's left), CCW from above."""
    rig.rotation_euler = (0.0, 0.0, math.radians(azimuth_deg))


@contextlib.contextmanager
def closeup(scene: bpy.types.Scene, rig: bpy.types.Object, camera: bpy.types.Object,
            target: Vector, size_m: float, azimuth_deg: float, elevation_deg: float
            ) -> Iterator[None]:
    """While the block runs, the camera looks at ``target`` (world space) from ``azimuth_deg``
    and ``elevation_deg``, near enough that a square of ``size_m`` fills the frame; the lights
    stay on the rig turned to that azimuth, so the close-up is lit like that view. Then the
    rig, the camera and the render border are put back: the turntable and later jobs frame the
    shirt as always, even after a failed render.

    The whole frame renders: the garment fills it, and its bounding box (what
    `crop_to_subject` reads) reaches behind a camera this near.
    """
    render = scene.render
    saved = (rig.rotation_euler.copy(), camera.matrix_basis.copy(), render.use_border)
    try:
        aim_rig(rig, azimuth_deg)
        distance = size_m * CLOSEUP_MARGIN / 2.0 / math.tan(_half_fov())
        world = target + _orbit_position(azimuth_deg, elevation_deg, distance)
        to_rig = rig.matrix_basis.inverted()  # the rig has no parent: its basis is its world
        camera.location = to_rig @ world
        camera.rotation_euler = (to_rig.to_quaternion() @ (target - world).to_track_quat(
            "-Z", "Y")).to_euler()
        render.use_border = False
        yield
    finally:
        rig.rotation_euler, camera.matrix_basis, render.use_border = saved


def crop_to_subject(scene: bpy.types.Scene, subject: bpy.types.Object) -> None:
    """On a transparent film, render only the box the subject covers in this view.

    Pixels outside it would be empty anyway, but the denoiser filters the whole frame; a side
    view fills a third of it (1024^2, 2 cores: 3.8 -> 2.1 s a still). The frame keeps its size
    (the box is not cropped out). Any visible background needs every pixel, so it turns off.
    """
    render = scene.render
    render.use_crop_to_border = False
    render.use_border = render.film_transparent
    if not render.use_border:
        return
    depsgraph = bpy.context.evaluated_depsgraph_get()
    evaluated = subject.evaluated_get(depsgraph)
    corners = [world_to_camera_view(scene, scene.camera, evaluated.matrix_world @ Vector(c))
               for c in evaluated.bound_box]
    # a margin for the pixel filter and the sleeves' soft edge
    margin = 0.02
    render.border_min_x = max(0.0, min(c.x for c in corners) - margin)
    render.border_max_x = min(1.0, max(c.x for c in corners) + margin)
    render.border_min_y = max(0.0, min(c.y for c in corners) - margin)
    render.border_max_y = min(1.0, max(c.y for c in corners) + margin)


def configure_render(scene: bpy.types.Scene, resolution: int = 1024, samples: int = 16) -> None:
    """Cycles on the CPU, product-true colours (Standard, no look), square frames."""
    scene.render.engine = "CYCLES"
    scene.render.resolution_x = resolution
    scene.render.resolution_y = resolution
    scene.render.resolution_percentage = 100
    scene.render.pixel_aspect_x = scene.render.pixel_aspect_y = 1.0
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGBA"
    scene.display_settings.display_device = "sRGB"
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    scene.view_settings.exposure = 0.0
    scene.view_settings.gamma = 1.0
    cycles = scene.cycles
    cycles.device = "CPU"
    cycles.samples = samples
    cycles.use_adaptive_sampling = True
    cycles.adaptive_threshold = 0.02
    cycles.use_denoising = True
    with contextlib.suppress(TypeError):  # builds without OIDN keep their default
        cycles.denoiser = "OPENIMAGEDENOISE"
    cycles.denoising_quality = "BALANCED"
    cycles.denoising_input_passes = "RGB_ALBEDO_NORMAL"
    # diffuse cloth needs few bounces; keeps CPU renders quick
    cycles.max_bounces = 4
    cycles.diffuse_bounces = cycles_setup.DIFFUSE_BOUNCES
    cycles.glossy_bounces = cycles_setup.GLOSSY_BOUNCES
    cycles.transmission_bounces = 0
    cycles.volume_bounces = 0
    cycles.transparent_max_bounces = 2
    cycles.caustics_reflective = False
    cycles.caustics_refractive = False
    cycles.blur_glossy = 1.0
