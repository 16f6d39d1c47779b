"""Add-on preferences: where renders go, which Blender renders them, and the sync service."""

from __future__ import annotations

import bpy
from bpy.props import StringProperty

# This module's package is ``bl_ext.<repo>.tshirt_render.ui`` once installed as an extension;
# the preferences' id must be the add-on's module name, the package above it.
ADDON_ID = __package__.rpartition(".")[0]


class TSHIRT_AddonPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    default_output_dir: StringProperty(  # type: ignore[valid-type]
        name="Default Output Folder",
        description="Where renders go when the panel's output folder is empty "
                    "(empty: a 'tshirt_renders' folder in the system's temporary folder)",
        subtype="DIR_PATH",
        default="",
    )
    blender_binary: StringProperty(  # type: ignore[valid-type]
        name="Blender Binary",
        description="Blender executable that runs renders in the background "
                    "(empty: this Blender)",
        subtype="FILE_PATH",
        default="",
    )
    service_url: StringProperty(  # type: ignore[valid-type]
        name="Sync Service URL",
        description="Base URL of the T-shirt sync service, e.g. https://renders.example.com",
        default="",
    )
    service_token: StringProperty(  # type: ignore[valid-type]
        name="Sync Service Token",
        description="Bearer token for the sync service's admin API",
        subtype="PASSWORD",
        default="",
    )

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.use_property_split = True
        col = layout.column(heading="Rendering")
        col.prop(self, "default_output_dir")
        col.prop(self, "blender_binary")
        col = layout.column(heading="Store")
        col.prop(self, "service_url")
        col.prop(self, "service_token")
        row = col.row()
        row.operator("tshirt.test_connection", icon="LINKED")
        status = getattr(context.window_manager, "tshirt_connection_status", "")
        if status:
            col.label(text=status)
        if not bpy.app.online_access:
            col.label(text="Online access is off (Preferences > System > Network)", icon="INFO")


def get(context: bpy.types.Context | None = None) -> TSHIRT_AddonPreferences | None:
    """This add-on's preferences, or None when it runs without being enabled (the CLI)."""
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_ID)
    return addon.preferences if addon is not None else None


classes = (TSHIRT_AddonPreferences,)
register, unregister = bpy.utils.register_classes_factory(classes)
