"""T-shirt render add-on: the artist's panel, live preview and background product renders.

Metadata lives in ``blender_manifest.toml`` (written by ``build_addon.py``). Importing this
package registers nothing and needs nothing beyond ``bpy``: the headless CLI
(``python -m blender_addon.cli``) imports it too. Submodules are imported in ``register()``.
"""

from __future__ import annotations

import importlib

# Registration order: preferences and properties before the operators and panels that use them.
_MODULE_NAMES = ("ui.preferences", "ui.properties", "ui.preview", "ui.render_session",
                 "ui.operators", "ui.garment_ops", "ui.service_sync", "ui.service_ops",
                 "ui.panels")


def _modules():
    return [importlib.import_module(f".{name}", __package__) for name in _MODULE_NAMES]


def register() -> None:
    for module in _modules():
        module.register()


def unregister() -> None:
    for module in reversed(_modules()):
        module.unregister()
