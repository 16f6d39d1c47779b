"""Where the add-on gets the shared vocabulary from.

The built extension carries a copy of `shared/` inside its own package (extensions must use
relative imports so two add-ons never collide in `sys.modules`); in a repository checkout, on a
render worker or under the test suite, the top-level `shared` package is used instead.

`from .._shared import errors` loads `errors` on first use, so a renderer child does not pay for
`http` (and `requests`) that only the service client needs.
"""

from __future__ import annotations

import importlib
from types import ModuleType

MODULES = (
    "angles", "child_process", "colors", "contracts", "design_image", "errors", "http", "icc",
    "job_colors", "jobs", "presets", "prints", "quality", "templates", "validation",
)

try:
    _BASE = importlib.import_module(".shared", __package__).__name__
except ImportError:
    _BASE = "shared"


def __getattr__(name: str) -> ModuleType:
    if name not in MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{_BASE}.{name}")
    globals()[name] = module
    return module


__all__ = list(MODULES)
