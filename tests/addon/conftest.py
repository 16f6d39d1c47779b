"""Fixtures for the add-on tests: the built extension zip and the build script itself."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def build_addon():
    """``build_addon.py`` loaded as a module (it lives at the top level, outside any package)."""
    spec = importlib.util.spec_from_file_location("build_addon", ROOT / "build_addon.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def built_zip(build_addon, tmp_path_factory) -> Path:
    return build_addon.build(tmp_path_factory.mktemp("dist"))
