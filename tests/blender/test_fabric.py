"""The cotton and the ink (render/fabric.py, render/materials.py): the knit's relief shows only
where a pixel can resolve it, seams only on a shirt with parts, the turntable's flattened copy
keeps the heather, and on a
`final`-sized tile the knit textures the cotton and, less, the print."""

from __future__ import annotations

import textwrap

import pytest
from render_helpers import run_script as _run

pytestmark = [pytest.mark.blender, pytest.mark.bpy42]


_GRAPH = textwrap.dedent("""
    import json
    from blender_addon.render import materials

    mat = materials.build_fabric_material("probe")
    bsdf = next(n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    result = {}
    materials.set_knit_detail(mat, 1024)
    result["relief_1024"] = bsdf.inputs["Normal"].is_linked
    materials.set_knit_detail(mat, 2048)
    result["relief_2048"] = bsdf.inputs["Normal"].is_linked
    materials.set_heather(mat, 3.0)
    heather = mat.node_tree.nodes["tshirt_heather"]
    result["heather"] = heather.inputs[0].default_value
    textures = lambda m: sorted(n.type for n in m.node_tree.nodes
                                if n.type.startswith("TEX_") and n.type != "TEX_COORD")
    result["textures"] = textures(mat)
    flat = mat.copy()
    materials.flatten_knit(flat)
    flat_bsdf = next(n for n in flat.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    result["flat_textures"] = textures(flat)
    result["flat_relief"] = flat_bsdf.inputs["Normal"].is_linked
    result["flat_heather_linked"] = flat.node_tree.nodes["tshirt_heather"].inputs[7].is_linked
    seamed = materials.build_fabric_material("seamed", seams=True)
    result["seam_attributes"] = [n.attribute_name for n in seamed.node_tree.nodes
                                 if n.type == "ATTRIBUTE"]
    result["plain_attributes"] = [n.type for n in mat.node_tree.nodes if n.type == "ATTRIBUTE"]
    base = next(n for n in seamed.node_tree.nodes if n.type == "BSDF_PRINCIPLED").inputs[0]
    materials.set_knit_detail(seamed, 1024)
    result["seams_1024"] = base.links[0].from_node.name
    materials.set_knit_detail(seamed, 2048)
    result["seams_2048"] = base.links[0].from_node.name
    print("RESULT " + json.dumps(result))
""")


def test_relief_only_at_final_sizes_and_the_flat_copy_keeps_the_heather():
    result = _run(_GRAPH)
    assert result["relief_1024"] is False
    assert result["relief_2048"] is True
    assert result["heather"] == 1.0
    # knit: wales front and side, courses; slub; heather fibres (no print: no image texture)
    assert result["textures"] == ["TEX_NOISE", "TEX_NOISE"] + ["TEX_WAVE"] * 3
    assert result["flat_textures"] == ["TEX_NOISE"]
    assert result["flat_relief"] is False
    assert result["flat_heather_linked"] is True
    # seams are placed by the procedural tee's part and stitch-distance attributes, drawn
    # only when asked for
    assert result["seam_attributes"] == ["tshirt_part", "tshirt_hem_distance",
                                         "tshirt_neck_distance"]
    assert result["plain_attributes"] == []
    assert (result["seams_1024"], result["seams_2048"]) == ("tshirt_knit_shade", "tshirt_seams")


# A 2048 px frame, rendered only in a tile on the chest where the print's edge runs: a magenta
# square on the left of the tile, cotton on the right.
_TILE = textwrap.dedent("""
    import sys
    import bpy
    from blender_addon.render import materials, studio
    from blender_addon.render.scene import build_scene
    from shared.prints import PrintSpec, fit_print

    design, out, resolution = sys.argv[1], sys.argv[2], int(sys.argv[3])
    shirt = build_scene(resolution=resolution, samples=16)
    scene = shirt.scene
    shirt.set_color((0.5, 0.5, 0.5))
    # a 22.9 cm square whose right edge is the centre line, its top 18.5 cm below the HPS
    shirt.set_prints([(design, fit_print(PrintSpec(design, "chest-large", (-11.45, 1.9), 0.75),
                                         200, 200))])
    studio.set_background(scene, "transparent")
    shirt.aim_camera(0.0)
    materials.set_knit_detail(shirt.material, resolution)
    r = scene.render
    r.use_border = r.use_crop_to_border = True
    r.border_min_x, r.border_max_x = 0.455, 0.455 + 192 / resolution
    r.border_min_y, r.border_max_y = 0.50, 0.50 + 192 / resolution
    r.filepath = out
    bpy.ops.render.render(write_still=True)
    print("RESULT {}")
""")


def _texture(luma, mask):
    """Relative high-frequency variation: luma minus its 5 x 5 box mean, over the mean."""
    import numpy as np

    pad = np.pad(luma, 2, mode="edge")
    box = sum(pad[i:i + luma.shape[0], j:j + luma.shape[1]]
              for i in range(5) for j in range(5)) / 25.0
    return float(np.std((luma - box)[mask]) / luma[mask].mean())


def test_knit_shows_at_final_size_and_the_ink_is_smoother(tmp_path, designs):
    from render_helpers import load_rgba, magenta_mask

    path = tmp_path / "tile.png"
    _run(_TILE, str(designs["magenta"]), str(path), "2048")
    rgba = load_rgba(path)
    luma = rgba[..., :3] @ [0.2126, 0.7152, 0.0722]
    ink = magenta_mask(rgba)
    cotton = (rgba[..., 3] > 0.99) & ~ink
    # keep clear of the print's edge, where the colour step is not texture
    ink[:, 80:] = False
    cotton[:, :110] = False
    assert ink.sum() > 2000 and cotton.sum() > 2000
    on_cotton, on_ink = _texture(luma, cotton), _texture(luma, ink)
    assert on_cotton > 0.01, on_cotton
    assert 0.2 * on_cotton < on_ink < on_cotton, (on_ink, on_cotton)


_TEMPLATE_FABRIC = textwrap.dedent("""
    import json, shutil, sys
    from pathlib import Path
    from shared.templates import default_templates_root, get_template
    from blender_addon.render.scene import build_scene

    root = Path(sys.argv[1])
    folder = root / "heather-tee"
    shutil.copytree(default_templates_root() / "classic-tee", folder)
    data = json.loads((folder / "template.json").read_text())
    (folder / "template.json").write_text(json.dumps({**data, "id": "heather-tee",
                                                      "fabric": "heather"}))
    result = {}
    for template in (get_template("classic-tee"), get_template("heather-tee", root)):
        shirt = build_scene(template=template)
        node = shirt.material.node_tree.nodes["tshirt_heather"]
        result[template.fabric] = node.inputs[0].default_value
    print("RESULT " + json.dumps(result))
""")


def test_a_heather_templates_shirt_is_marled(tmp_path):
    assert _run(_TEMPLATE_FABRIC, str(tmp_path)) == {"jersey": 0.0, "heather": 1.0}
