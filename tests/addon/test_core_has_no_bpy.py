"""The add-on's ``core`` is plain Python: every module in it imports in a Python where ``bpy``
cannot be imported, and none of them names ``bpy`` in an import, not even inside a function."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "blender_addon" / "core"
#: Blender's own modules: only the render and UI layers may use them.
BLENDER_MODULES = ("bpy", "bpy_extras", "bmesh", "mathutils", "gpu", "gpu_extras", "bl_math",
                   "aud", "idprop", "imbuf", "freestyle")

_IMPORT_ALL = textwrap.dedent("""
    import importlib, json, sys

    BLOCKED, MODULES = set(sys.argv[1].split(",")), sys.argv[2].split(",")
    tried = []

    class Blocker:
        '''Refuses Blender's modules and remembers who asked (a caught ImportError counts).'''

        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                tried.append(name)
                raise ImportError(f"{name} is not available here")
            return None

    sys.meta_path.insert(0, Blocker())
    failed = {}
    for module in MODULES:
        try:
            importlib.import_module(module)
        except Exception as error:
            failed[module] = f"{type(error).__name__}: {error}"
    print(json.dumps({"tried": tried, "failed": failed,
                      "loaded": sorted(m for m in sys.modules if m.startswith("blender_addon"))}))
""")


def _core_modules() -> list[str]:
    return sorted(f"blender_addon.core.{path.stem}" for path in CORE.glob("*.py")
                  if path.stem != "__init__") + ["blender_addon.core"]


def test_every_core_module_imports_without_bpy():
    modules = _core_modules()
    assert len(modules) >= 6
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL, ",".join(BLENDER_MODULES), ",".join(modules)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    found = json.loads(result.stdout.splitlines()[-1])
    assert found["tried"] == [], f"core asked for Blender's modules: {found['tried']}"
    assert found["failed"] == {}, found["failed"]
    assert set(modules) <= set(found["loaded"])
    assert not any(m.startswith(("blender_addon.ui", "blender_addon.render"))
                   for m in found["loaded"]), "core reaches up into the render or UI layer"


def test_no_core_module_names_bpy_in_an_import():
    """Also imports inside functions, which importing the module does not run."""
    offenders = []
    for path in sorted(CORE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            elif isinstance(node, ast.ImportFrom) and node.level == 2:  # ..x: the add-on's own
                names = [f"blender_addon.{node.module or ''}"]
            else:
                continue
            offenders += [f"{path.name}:{node.lineno} {name}" for name in names
                          if name.partition(".")[0] in BLENDER_MODULES
                          or name.startswith(("blender_addon.render", "blender_addon.ui"))]
    assert offenders == []


def test_the_blocker_would_catch_an_import_of_bpy(tmp_path):
    """The check can fail: a module that imports bpy is caught even when it hides the error."""
    package = tmp_path / "probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "sneaky.py").write_text("try:\n    import mathutils\nexcept ImportError:\n"
                                       "    mathutils = None\n")
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL, ",".join(BLENDER_MODULES), "probe.sneaky"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(result.stdout.splitlines()[-1])["tried"] == ["mathutils"]
