"""The dashboard's templates, stylesheet and scripts ship in the installed package (a wheel
holds only what `[tool.setuptools.package-data]` names), and need nothing from outside it."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "sync_service" / "dashboard"


def test_every_template_and_static_file_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["sync_service.dashboard"]
    files = [p.relative_to(PACKAGE).as_posix() for folder in ("templates", "static")
             for p in (PACKAGE / folder).rglob("*") if p.is_file()]
    assert len(files) >= 10
    assert [f for f in files if not any(fnmatch(f, pattern) for pattern in patterns)] == []


def test_the_pages_load_nothing_from_another_host() -> None:
    """No CDN: every script, stylesheet and image is the service's own."""
    for path in [*PACKAGE.rglob("*.html"), *PACKAGE.rglob("*.css"), *PACKAGE.rglob("*.js")]:
        text = path.read_text()
        assert not re.search(r"(src|href)=\"(https?:)?//", text), path
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), path
        assert "@import" not in text, path
