"""The extension zip: deterministic, complete, and accepted by Blender's own validator."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Blender's list (scripts/modules/_bpy_internal/extensions/tags.py), used when the wheel is absent.
ADDON_TAGS = {"3D View", "Add Curve", "Add Mesh", "Animation", "Bake", "Camera", "Compositing",
              "Development", "Game Engine", "Geometry Nodes", "Grease Pencil", "Import-Export",
              "Lighting", "Material", "Mesh", "Modeling", "Node", "Object", "Paint", "Physics",
              "Pipeline", "Render", "Rigging", "Scene", "Sculpt", "Sequencer", "System",
              "Text Editor", "Tracking", "User Interface", "UV"}
#: Every module of the add-on, found on disk. All but ``_shared`` (the one place that falls back
#: to the top-level ``shared`` outside the extension) must import relatively.
OWN_MODULES = tuple(sorted(path.relative_to(ROOT / "blender_addon").with_suffix("").as_posix()
                           for path in (ROOT / "blender_addon").rglob("*.py")))
RELATIVE_MODULES = tuple(name for name in OWN_MODULES if name != "_shared")


def test_the_same_sources_give_the_same_bytes(build_addon, tmp_path):
    first = build_addon.build(tmp_path / "one")
    again = build_addon.build(tmp_path / "two")
    assert again.name == first.name == f"tshirt_render-{build_addon.project_version()}.zip"
    assert again.read_bytes() == first.read_bytes()


def test_entries_are_sorted_with_fixed_dates_and_permissions(built_zip):
    with zipfile.ZipFile(built_zip) as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {(i.external_attr >> 16) & 0o777 for i in infos} == {0o644}


def test_manifest_says_what_blender_needs(built_zip):
    with zipfile.ZipFile(built_zip) as archive:
        manifest = tomllib.loads(archive.read("blender_manifest.toml").decode())
    with (ROOT / "pyproject.toml").open("rb") as handle:
        version = tomllib.load(handle)["project"]["version"]
    assert manifest["schema_version"] == "1.0.0"
    assert manifest["id"] == "tshirt_render"
    assert manifest["version"] == version
    assert manifest["type"] == "add-on"
    assert manifest["blender_version_min"] == "4.2.0"
    assert manifest["license"] == ["SPDX:GPL-3.0-or-later"]
    assert set(manifest["tags"]) <= ADDON_TAGS
    assert manifest["name"] and manifest["maintainer"]
    for line in (manifest["tagline"], *manifest["permissions"].values()):
        assert len(line) <= 64 and line[-1].isalnum(), line
    assert set(manifest["permissions"]) == {"files", "network"}


def test_package_layout_vendors_shared_and_assets(built_zip):
    with zipfile.ZipFile(built_zip) as archive:
        names = set(archive.namelist())
    for module in OWN_MODULES:
        assert f"{module}.py" in names, module
    assert "shared/__init__.py" in names and "shared/templates.py" in names
    assert "render_assets/templates/classic-tee/template.json" in names
    assert not any("__pycache__" in n or n.endswith(".pyc") or n.startswith(("tests/", "tools/"))
                   or "/tools/" in n for n in names)


def test_vendored_templates_are_found_inside_the_extension(built_zip, tmp_path):
    """``shared.templates`` finds ``render_assets`` next to itself in the installed layout."""
    with zipfile.ZipFile(built_zip) as archive:
        archive.extractall(tmp_path / "tshirt_render")
    code = ("import tshirt_render.shared.templates as t; "
            "print(t.default_templates_root()); print(sorted(t.discover_templates()))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60, check=True, env=env)
    root, ids = result.stdout.splitlines()
    assert Path(root) == tmp_path / "tshirt_render" / "render_assets" / "templates"
    assert "classic-tee" in ids


@pytest.mark.parametrize("module", RELATIVE_MODULES)
def test_the_addon_imports_relatively(module):
    source = (ROOT / "blender_addon" / f"{module}.py").read_text()
    assert not re.search(r"^\s*(from|import)\s+(shared|blender_addon)\b", source, re.MULTILINE)


@pytest.mark.bpy42
def test_blenders_validator_accepts_the_zip(build_addon, built_zip):
    if build_addon.find_validator() is None:
        pytest.skip("the bpy wheel (and its extension validator) is not installed")
    result = build_addon.validate(built_zip)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout
