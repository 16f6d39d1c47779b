"""Job planning (`blender_addon.core.planning`): plain Python, no Blender."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from addon_pngs import write_png

from blender_addon.core import planning
from shared import contracts, quality, templates
from shared.angles import ANGLE_IDS
from shared.errors import InvalidInput


def _spec(design: Path, tmp_path: Path, **fields) -> contracts.RenderSpec:
    return contracts.RenderSpec.from_dict({
        "design": str(design), "preset": "chest-large", "color": "navy",
        "output_dir": str(tmp_path / "out"), **fields})


@pytest.fixture
def design(tmp_path: Path) -> Path:
    return write_png(tmp_path / "wide.png", 400, 200)


def test_settings_follow_the_quality_level(design, tmp_path):
    level = quality.get_quality("standard")
    still, frames = planning.render_settings(_spec(design, tmp_path, quality="standard"))
    assert still == planning.RenderSettings(level.resolution, level.samples,
                                            level.adaptive_threshold, level.denoise,
                                            level.max_bounces, level.denoise_quality)
    assert (frames.resolution, frames.samples) == (level.animation_resolution,
                                                   level.animation_samples)


def test_overrides_scale_the_frames_in_proportion_and_keep_them_even(design, tmp_path):
    level = quality.get_quality("standard")  # 1024 px / 4 spp stills, 720 px / 4 spp frames
    still, frames = planning.render_settings(
        _spec(design, tmp_path, quality="standard", resolution=101, samples=8))
    assert (still.resolution, still.samples) == (101, 8)
    assert frames.resolution % 2 == 0
    assert frames.resolution == round(101 * level.animation_resolution / level.resolution / 2) * 2
    assert frames.samples == round(8 * level.animation_samples / level.samples)
    _, tiny_frames = planning.render_settings(
        _spec(design, tmp_path, resolution=16, samples=1))
    assert tiny_frames.resolution == planning.MIN_FRAME_SIZE and tiny_frames.samples >= 1


def test_a_plan_fits_the_design_into_the_preset(design, tmp_path):
    plan = planning.plan_job(_spec(design, tmp_path))
    assert [(d.width, d.height) for d in plan.designs] == [(400, 200)]
    assert plan.template.id == contracts.DEFAULT_TEMPLATE
    box = plan.prints[0].box
    assert box.side == "front"
    assert box.width_cm == pytest.approx(2 * box.height_cm)  # 2:1 kept
    # 400 px over the full front's 30.5 cm: blurry, said once without naming the print
    assert len(plan.warnings) == 1 and plan.warnings[0].startswith("The design is 33 DPI")


def test_every_print_is_planned_and_warned_about_at_its_final_size(design, tmp_path):
    spec = contracts.RenderSpec.from_dict({
        "prints": [{"design": str(design), "preset": "chest-left", "scale": 0.2},
                   {"design": str(design), "preset": "back-large", "offset_cm": [0, 5]}],
        "color": "navy", "output_dir": str(tmp_path / "out")})
    plan = planning.plan_job(spec)
    assert [p.box.side for p in plan.prints] == ["front", "back"]
    assert len(plan.designs) == 2
    # the small chest logo prints sharp (400 px over 2 cm), the back one does not
    assert len(plan.warnings) == 1 and plan.warnings[0].startswith("Print 2 (back-large): ")


def test_a_print_out_of_its_area_is_refused_by_the_plan(design, tmp_path):
    spec = contracts.RenderSpec.from_dict({
        "prints": [{"design": str(design), "preset": "chest-large", "offset_cm": [0, 30]}],
        "color": "navy", "output_dir": str(tmp_path / "out")})
    with pytest.raises(InvalidInput) as info:
        planning.plan_job(spec)
    assert info.value.code == "print_out_of_area"


def test_a_template_is_found_by_its_folder_too(design, tmp_path):
    folder = templates.default_templates_root() / "classic-tee"
    plan = planning.plan_job(_spec(design, tmp_path, template=str(folder)))
    assert plan.template.id == "classic-tee" and plan.template.directory == folder


def test_unknown_template_lists_the_known_ones(design, tmp_path):
    with pytest.raises(InvalidInput) as info:
        planning.plan_job(_spec(design, tmp_path, template="no-such-tee"))
    assert info.value.code == "unknown_template"
    assert "classic-tee" in info.value.message


def test_the_design_is_checked_before_the_template(tmp_path):
    missing = tmp_path / "gone.png"
    with pytest.raises(InvalidInput) as info:
        planning.plan_job(_spec(missing, tmp_path, template="no-such-tee"))
    assert info.value.code == "file_not_found"


def test_a_preset_the_template_does_not_offer_is_refused(design, tmp_path):
    root = tmp_path / "templates"
    shutil.copytree(templates.default_templates_root() / "classic-tee", root / "back-only")
    path = root / "back-only" / templates.TEMPLATE_FILE
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "id": "back-only", "supported_presets": ["back-large"]}))
    with pytest.raises(InvalidInput) as info:
        planning.plan_job(_spec(design, tmp_path, template="back-only"), root)
    assert info.value.code == "unknown_preset"
    plan = planning.plan_job(_spec(design, tmp_path, template="back-only", preset="back-large"),
                             root)
    assert plan.prints[0].box.side == "back"


def test_a_neck_label_adds_its_close_up_after_the_views_asked_for(design, tmp_path):
    neck = planning.plan_job(contracts.RenderSpec.from_dict({
        "prints": [{"design": str(design), "preset": "chest-large"},
                   {"design": str(design), "preset": "neck-label"}],
        "color": "navy", "output_dir": str(tmp_path / "out"),
        "angles": ["back_180deg", "front_0deg"]}))
    assert neck.angles == ("front_0deg", "back_180deg", "neck_label_closeup")
    assert neck.spec.angles == ("front_0deg", "back_180deg")  # the spec keeps what was asked
    assert planning.plan_job(_spec(design, tmp_path)).angles == ANGLE_IDS  # no neck: the six
