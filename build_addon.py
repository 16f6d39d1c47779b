"""Build the Blender extension: ``dist/tshirt_render-<version>.zip``.

The zip holds the add-on's modules at its root with ``blender_manifest.toml``, the ``shared``
vocabulary vendored as ``shared/`` and the bundled ``render_assets`` (templates, sample designs)
beside it, so ``shared.templates.default_templates_root()`` finds the templates the same way it
does in the repository. Entries are sorted with fixed timestamps and permissions: the same
sources always give the same bytes.

    python build_addon.py [--out DIR] [--validate]

``--validate`` runs Blender's own extension validator (``blender_ext.py validate``) from the
``bpy`` wheel when it is installed.
"""

from __future__ import annotations

import argparse
import glob
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
EXTENSION_ID = "tshirt_render"
ADDON_DIR = ROOT / "blender_addon"
SHARED_DIR = ROOT / "shared"
ASSETS_DIR = ROOT / "render_assets"
#: Bundled asset folders; ``render_assets/tools`` are build-time scripts and stay out.
ASSET_SUBDIRS = ("templates", "designs")
EXCLUDED_PARTS = {"__pycache__", ".DS_Store", ".pytest_cache"}
EXCLUDED_SUFFIXES = {".pyc", ".pyo", ".blend1"}
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644

MANIFEST_TEMPLATE = """\
schema_version = "1.0.0"

id = "{id}"
version = "{version}"
name = "T-Shirt Render"
tagline = "Product photos of T-shirts with your design from six angles"
maintainer = "T-shirt render team <renders@example.com>"
type = "add-on"
website = "https://github.com/example/tshirt-render"
tags = ["Render", "Material"]

blender_version_min = "4.2.0"

license = ["SPDX:GPL-3.0-or-later"]

[permissions]
files = "Reads design images and writes renders to an output folder"
network = "Sends renders and farm jobs to the shop's sync service"
"""


def project_version(pyproject: Path = ROOT / "pyproject.toml") -> str:
    with pyproject.open("rb") as handle:
        return tomllib.load(handle)["project"]["version"]


def manifest_text(version: str) -> str:
    return MANIFEST_TEMPLATE.format(id=EXTENSION_ID, version=version)


def _included(path: Path) -> bool:
    return (path.is_file() and not EXCLUDED_PARTS.intersection(path.parts)
            and path.suffix not in EXCLUDED_SUFFIXES)


def package_files() -> dict[str, Path]:
    """Archive name -> source file, for everything that goes into the extension."""
    files: dict[str, Path] = {}
    for path in ADDON_DIR.rglob("*"):
        if _included(path):
            files[path.relative_to(ADDON_DIR).as_posix()] = path
    for path in SHARED_DIR.rglob("*"):
        if _included(path):
            files["shared/" + path.relative_to(SHARED_DIR).as_posix()] = path
    for sub in ASSET_SUBDIRS:
        for path in (ASSETS_DIR / sub).rglob("*"):
            if _included(path):
                files["render_assets/" + path.relative_to(ASSETS_DIR).as_posix()] = path
    if "blender_manifest.toml" in files:
        raise SystemExit("blender_addon/blender_manifest.toml must not exist; it is generated.")
    return files


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, so the permission bits below mean the same everywhere
    info.external_attr = (0o100000 | FILE_MODE) << 16
    return info


def build(out_dir: Path = ROOT / "dist") -> Path:
    version = project_version()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{EXTENSION_ID}-{version}.zip"
    entries = {"blender_manifest.toml": manifest_text(version).encode("utf-8")}
    entries.update({name: path.read_bytes() for name, path in package_files().items()})
    tmp = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(entries):
            archive.writestr(_entry(name), entries[name], compresslevel=9)
    tmp.replace(target)
    return target


def find_validator(python: str = sys.executable) -> Path | None:
    """``blender_ext.py`` from the ``bpy`` wheel next to ``python`` (or this venv)."""
    candidates: list[str] = []
    for base in {Path(python).resolve().parent.parent, ROOT / ".venv"}:
        pattern = str(base / "lib" / "python3*" / "site-packages" / "bpy" / "*" / "scripts"
                      / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py")
        candidates += glob.glob(pattern)
    return Path(sorted(candidates)[-1]) if candidates else None


def validate(archive: Path) -> subprocess.CompletedProcess[str]:
    validator = find_validator()
    if validator is None:
        raise SystemExit("Blender's extension validator was not found (install the bpy extra).")
    return subprocess.run(
        [sys.executable, str(validator), "validate", str(archive)],
        capture_output=True, text=True, check=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output folder")
    parser.add_argument("--validate", action="store_true",
                        help="run Blender's extension validator on the result")
    args = parser.parse_args(argv)
    archive = build(args.out)
    print(archive)
    if args.validate:
        result = validate(archive)
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        return result.returncode
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
