"""`shared/` runs inside Blender's Python and in the service: it may import the standard
library and itself, nothing else."""

import ast
import sys
from pathlib import Path

import shared

SHARED_DIR = Path(shared.__file__).parent
#: The one agreed exception: the HTTP session factory uses `requests` (bundled with Blender).
ALLOWED = {"http.py": {"requests", "urllib3"}}


def imported_top_level_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_shared_imports_only_the_standard_library():
    files = sorted(SHARED_DIR.rglob("*.py"))
    assert len(files) >= 8
    offenders = {
        f"{path.name}: {name}"
        for path in files
        for name in imported_top_level_modules(path)
        if name not in sys.stdlib_module_names and name != "__future__"
        and name not in ALLOWED.get(path.name, set())
    }
    assert not offenders, f"non-stdlib imports in shared/: {sorted(offenders)}"


def test_shared_imports_itself_relatively():
    """Absolute `import shared...` would break the copy vendored inside the add-on."""
    for path in SHARED_DIR.rglob("*.py"):
        assert "shared" not in imported_top_level_modules(path), path.name
