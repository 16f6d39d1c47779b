"""The add-on in real Blender (the ``bpy`` wheel), installed from the built zip.

Each scenario in ``blender_scenarios.py`` runs in its own Python process with a throw-away
``BLENDER_USER_RESOURCES``, so preferences, the extension repository and ``bpy`` state never
leak between tests or into the developer's own Blender.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from addon_harness import run_scenario

pytest.importorskip("bpy", reason="needs the bpy wheel (the 'blender' extra)")

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.blender


@pytest.mark.bpy42
def test_install_enable_and_live_preview(built_zip, tmp_path):
    info = run_scenario("preview", built_zip, tmp_path)
    assert info["classes"] >= 12


@pytest.mark.bpy42
def test_render_operator_runs_the_cli_to_the_end(built_zip, tmp_path):
    run_scenario("render", built_zip, tmp_path)


def test_cancel_stops_the_child_within_seconds(built_zip, tmp_path):
    info = run_scenario("cancel", built_zip, tmp_path)
    assert info["stop_s"] < 10


def test_modal_operator_steps_on_timer_and_stops_on_esc(built_zip, tmp_path):
    info = run_scenario("modal", built_zip, tmp_path)
    assert info["reports"][-1] == "Render cancelled."


def test_panels_draw_every_state(built_zip, tmp_path):
    run_scenario("panels", built_zip, tmp_path)


def test_the_list_of_prints_and_an_old_scene_as_print_1(built_zip, tmp_path):
    run_scenario("prints", built_zip, tmp_path)


def test_send_to_store_checks_online_access_and_reports_the_render(built_zip, tmp_path):
    info = run_scenario("store", built_zip, tmp_path)
    assert info["message"].startswith("Not sent: ")


def test_bad_input_is_one_sentence_and_starts_nothing(built_zip, tmp_path):
    info = run_scenario("errors", built_zip, tmp_path)
    assert all(m.count("\n") <= 1 and "Traceback" not in m for m in info["messages"])


def test_disable_and_uninstall_leave_nothing_registered(built_zip, tmp_path):
    run_scenario("uninstall", built_zip, tmp_path)
