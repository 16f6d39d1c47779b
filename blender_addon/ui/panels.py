"""The "T-Shirt" tab in the 3D View sidebar: the prints (each a design at a placement),
colour, options, render."""

from __future__ import annotations

from pathlib import Path

import bpy

from .._shared import angles, jobs
from ..core import panel_logic, service_tasks
from . import garment_ops, operators, preview, service_ops, service_sync
from .properties import active_print, supported_presets
from .render_session import active_session


class _TShirtPanel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "T-Shirt"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return context.scene is not None and hasattr(context.scene, "tshirt")


class TSHIRT_PT_main(_TShirtPanel, bpy.types.Panel):
    bl_idname = "TSHIRT_PT_main"
    bl_label = "T-Shirt Render"

    def draw(self, context: bpy.types.Context) -> None:
        settings = context.scene.tshirt
        row = self.layout.row(align=True)
        active = preview.is_active(settings)
        row.operator(operators.TSHIRT_OT_setup_preview.bl_idname,
                     text="Rebuild Preview" if active else "Set Up Preview", icon="SHADING_TEXTURE")


def _status_icon(status: panel_logic.DesignStatus) -> str:
    if status.error or status.outside:
        return "ERROR"
    if not status.ok:
        return "FILE_IMAGE"
    return "ERROR" if status.blurry else "CHECKMARK"


def ready_to_render(settings) -> bool:
    """Every print has a design that prints inside its area (the button is greyed otherwise)."""
    statuses = [preview.print_status(item) for item in settings.prints]
    return bool(statuses) and all(s.ok and not s.outside for s in statuses)


class TSHIRT_UL_prints(bpy.types.UIList):
    """The job's prints: a check or a warning, the design's file name, the placement."""

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname,
                  index=0, flt_flag=0) -> None:
        status = preview.print_status(item)
        name = Path(item.design_path).name if item.design_path else "(no design)"
        placements = {i[0]: i[1] for i in panel_logic.preset_items()}
        if self.layout_type in {"DEFAULT", "COMPACT"}:
            row = layout.row(align=True)
            row.alert = bool(status.error or status.outside)
            row.label(text=f"{index + 1}. {name}", icon=_status_icon(status))
            row.label(text=placements.get(item.preset, item.preset).split(" (")[0])
        else:
            layout.alignment = "CENTER"
            layout.label(text=str(index + 1), icon=_status_icon(status))


class TSHIRT_PT_prints(_TShirtPanel, bpy.types.Panel):
    bl_idname = "TSHIRT_PT_prints"
    bl_label = "Prints"
    bl_parent_id = "TSHIRT_PT_main"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        settings = context.scene.tshirt
        row = layout.row()
        row.template_list("TSHIRT_UL_prints", "", settings, "prints", settings, "prints_index",
                          rows=3)
        col = row.column(align=True)
        col.operator(operators.TSHIRT_OT_print_add.bl_idname, text="", icon="ADD")
        col.operator(operators.TSHIRT_OT_print_remove.bl_idname, text="", icon="REMOVE")
        if not len(settings.prints):
            layout.label(text="Add a print: a PNG or JPEG design at a placement", icon="INFO")


class TSHIRT_PT_design(_TShirtPanel, bpy.types.Panel):
    bl_idname = "TSHIRT_PT_design"
    bl_label = "Design"
    bl_parent_id = "TSHIRT_PT_prints"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        item = active_print(context.scene.tshirt)
        if item is None:
            layout.label(text="Add a print to choose its design", icon="INFO")
            return
        row = layout.row(align=True)
        row.prop(item, "design_path", text="")
        row.operator(operators.TSHIRT_OT_choose_design.bl_idname, text="", icon="FILEBROWSER")
        if not item.design_path:
            layout.label(text="Choose a PNG or JPEG design", icon="INFO")
            return
        if item.design_error:
            col = layout.column()
            col.alert = True
            col.label(text=item.design_error, icon="ERROR")
            return
        image = preview.loaded_design(item.design_path)
        if image is not None and image.preview is not None:
            layout.template_icon(icon_value=image.preview.icon_id, scale=6.0)
        status = preview.print_status(item)
        col = layout.column(align=True)
        col.label(text=status.size_text(), icon="IMAGE_DATA")
        row = col.row()
        row.alert = status.blurry
        row.label(text=status.dpi_text(), icon="ERROR" if status.blurry else "CHECKMARK")
        for lines, alert in status.notes():
            warn = col.column(align=True)
            warn.alert = alert
            for line in lines:
                warn.label(text=line)


class TSHIRT_PT_placement(_TShirtPanel, bpy.types.Panel):
    bl_idname = "TSHIRT_PT_placement"
    bl_label = "Placement"
    bl_parent_id = "TSHIRT_PT_prints"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        settings = context.scene.tshirt
        item = active_print(settings)
        if item is None:
            layout.label(text="Add a print to place it", icon="INFO")
            return
        supported = supported_presets(settings)
        rows = dict(panel_logic.preset_grid(supported))
        named = rows.pop(panel_logic.MORE_PLACEMENTS, [])  # left chest, sleeves, neck label
        grid = layout.grid_flow(row_major=True, columns=4, even_columns=False, align=True)
        for area_label, cells in rows.items():
            grid.label(text=area_label)
            for preset_id, size_label in cells:
                grid.prop_enum(item, "preset", preset_id, text=size_label)
            for _ in range(3 - len(cells)):  # a template without every size: keep the columns
                grid.label(text="")
        if named:
            layout.label(text=panel_logic.MORE_PLACEMENTS)
            flow = layout.grid_flow(row_major=True, columns=2, even_columns=True, align=True)
            for preset_id, name in named:
                flow.prop_enum(item, "preset", preset_id, text=name)
        items = {i[0]: i[1] for i in panel_logic.preset_items()}
        layout.label(text=items.get(item.preset, item.preset))
        if supported is not None and item.preset not in supported:
            col = layout.column()
            col.alert = True
            col.label(text=f"The {settings.template} template does not offer this placement",
                      icon="ERROR")
        col = layout.column(align=True)
        col.use_property_split = True
        col.use_property_decorate = False
        col.prop(item, "offset_cm", text="Offset (cm)")
        col.prop(item, "scale")
        col.prop(item, "rotation_deg", text="Rotation (°)")


class TSHIRT_PT_color(_TShirtPanel, bpy.types.Panel):
    bl_idname = "TSHIRT_PT_color"
    bl_label = "Shirt Colour"
    bl_parent_id = "TSHIRT_PT_main"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        settings = context.scene.tshirt
        row = layout.row(align=True)
        row.prop(settings, "color", text="")
        row.prop(settings, "color_hex", text="")
        if settings.color_error:
            col = layout.column()
            col.alert = True
            col.label(text=settings.color_error, icon="ERROR")
        flow = layout.grid_flow(columns=4, even_columns=True, align=True)
        for name, code in panel_logic.swatches():
            op = flow.operator(operators.TSHIRT_OT_set_color_swatch.bl_idname, text=name,
                               depress=settings.color_hex == code)
            op.hex = code


class TSHIRT_PT_garment(_TShirtPanel, bpy.types.Panel):
    """The artist's own object as the shirt: its landmarks, and saving it as a template."""

    bl_idname = "TSHIRT_PT_garment"
    bl_label = "Own Garment"
    bl_parent_id = "TSHIRT_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context: bpy.types.Context) -> None:
        garment_ops.draw(self.layout, context)


class TSHIRT_PT_options(_TShirtPanel, bpy.types.Panel):
    bl_idname = "TSHIRT_PT_options"
    bl_label = "Render Options"
    bl_parent_id = "TSHIRT_PT_main"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        settings = context.scene.tshirt
        layout.prop(settings, "template")
        layout.prop(settings, "quality")
        col = layout.column(heading="Angles", align=True)
        for index, angle in enumerate(angles.ANGLES):
            col.prop(settings, "angles", index=index, text=angle.label)
        col = layout.column(heading="Turntable")
        row = col.row(align=True)
        row.prop(settings, "animation", text="")
        sub = row.row()
        sub.active = settings.animation
        sub.prop(settings, "frames")
        layout.prop(settings, "background")
        if settings.background == panel_logic.COLOR_BACKGROUND:
            layout.prop(settings, "background_color", text="Colour")
        layout.prop(settings, "output_dir")
        layout.prop(settings, "product_id")


class TSHIRT_PT_render(_TShirtPanel, bpy.types.Panel):
    bl_idname = "TSHIRT_PT_render"
    bl_label = "Render"
    bl_parent_id = "TSHIRT_PT_main"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        settings = context.scene.tshirt
        running = active_session() is not None
        if running:
            layout.progress(factor=settings.render_progress, type="BAR",
                            text=settings.render_stage or "Rendering")
            layout.operator(operators.TSHIRT_OT_cancel_render.bl_idname, text="Cancel",
                            icon="CANCEL")
            return
        row = layout.row()
        row.scale_y = 1.4
        row.enabled = ready_to_render(settings)
        row.operator(operators.TSHIRT_OT_render.bl_idname, icon="RENDER_STILL")
        if settings.render_state in {"DONE", "FAILED", "CANCELLED"} and settings.render_message:
            col = layout.column()
            col.alert = settings.render_state == "FAILED"
            icon = {"DONE": "CHECKMARK", "FAILED": "ERROR", "CANCELLED": "CANCEL"}
            col.label(text=settings.render_message, icon=icon[settings.render_state])
        if settings.last_output_dir:
            layout.operator(operators.TSHIRT_OT_open_output_folder.bl_idname,
                            icon="FILE_FOLDER")
        if len(settings.results):
            grid = layout.grid_flow(columns=3, even_columns=True, align=True)
            for item in settings.results:
                cell = grid.column(align=True)
                image = item.image
                if image is not None and image.preview is not None:
                    cell.template_icon(icon_value=image.preview.icon_id, scale=4.0)
                op = cell.operator(operators.TSHIRT_OT_show_result.bl_idname, text=item.label)
                op.image_name = image.name if image is not None else ""
        if settings.last_output_dir:
            _draw_store(layout, settings)


def _draw_store(layout: bpy.types.UILayout, settings) -> None:
    box = layout.box()
    row = box.row()
    row.enabled = bool(settings.product_id) and settings.sync_state != "SENDING"
    row.operator(service_ops.TSHIRT_OT_send_to_store.bl_idname, icon="EXPORT")
    if not settings.product_id:
        box.label(text="Enter a product id to send to the store", icon="INFO")
    if not bpy.app.online_access:
        box.label(text="Online access is off (Preferences > System)", icon="INTERNET")
    if settings.sync_message:
        col = box.column()
        col.alert = settings.sync_state == "FAILED"
        col.label(text=settings.sync_message)
    if settings.sync_job_id:
        row = box.row(align=True)
        push = service_tasks.push_text(settings.sync_push) or "?"
        row.label(text=f"Store: {push}", icon=_PUSH_ICONS.get(settings.sync_push, "DOT"))
        op = row.operator(service_ops.TSHIRT_OT_copy_job_url.bl_idname, text="Copy Job Link",
                          icon="URL")
        op.job_id = settings.sync_job_id


_PUSH_ICONS = {jobs.MediaSyncStatus.PUSHED: "CHECKMARK", jobs.MediaSyncStatus.PENDING: "SORTTIME",
               jobs.MediaSyncStatus.FAILED: "ERROR", jobs.MediaSyncStatus.NOT_CONFIGURED: "DOT"}


class TSHIRT_PT_farm(_TShirtPanel, bpy.types.Panel):
    bl_idname = "TSHIRT_PT_farm"
    bl_label = "Render on the Farm"
    bl_parent_id = "TSHIRT_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        settings = context.scene.tshirt
        if not bpy.app.online_access:
            layout.label(text="Online access is off (Preferences > System)", icon="INTERNET")
        running = settings.farm_state in {"SUBMITTING", "RUNNING"}
        if running:
            layout.progress(factor=settings.farm_progress, type="BAR",
                            text=settings.farm_message or "Waiting for the farm")
            layout.operator(service_ops.TSHIRT_OT_farm_cancel.bl_idname, text="Cancel",
                            icon="CANCEL")
        else:
            row = layout.row()
            row.enabled = ready_to_render(settings) and bool(settings.product_id)
            row.operator(service_ops.TSHIRT_OT_farm_render.bl_idname, icon="NETWORK_DRIVE")
            if not settings.product_id:
                layout.label(text="Enter a product id to render on the farm", icon="INFO")
            if settings.farm_message:
                col = layout.column()
                col.alert = settings.farm_state == "FAILED"
                col.label(text=settings.farm_message)
        if settings.farm_job_id:
            row = layout.row(align=True)
            row.label(text=settings.farm_job_id, icon="LINKED")
            op = row.operator(service_ops.TSHIRT_OT_copy_job_url.bl_idname, text="",
                              icon="URL")
            op.job_id = settings.farm_job_id


class TSHIRT_UL_jobs(bpy.types.UIList):
    """The product's jobs: status icon, placement, colour, created time, store push."""

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname,
                  index=0, flt_flag=0) -> None:
        status_icon = service_tasks.STATUS_ICONS.get(item.status, "QUESTION")
        if self.layout_type in {"DEFAULT", "COMPACT"}:
            row = layout.row(align=True)
            status = f"{item.progress}%" if item.status in jobs.RUNNING else item.status
            row.label(text=status, icon=status_icon)
            row.label(text=item.preset)
            row.label(text=item.color)
            row.label(text=item.created)
            row.label(text=service_tasks.push_text(item.push_state))
        else:
            layout.alignment = "CENTER"
            layout.label(text="", icon=status_icon)


class TSHIRT_PT_history(_TShirtPanel, bpy.types.Panel):
    bl_idname = "TSHIRT_PT_history"
    bl_label = "Jobs on the Service"
    bl_parent_id = "TSHIRT_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        settings = context.scene.tshirt
        service_sync.note_history_drawn(context.scene.name)  # refreshes while it is open
        row = layout.row()
        row.label(text=f"Product: {settings.product_id or '-'}")
        row.operator(service_ops.TSHIRT_OT_history_refresh.bl_idname, text="",
                     icon="FILE_REFRESH")
        if not settings.product_id:
            layout.label(text="Enter a product id to list its jobs", icon="INFO")
            return
        if not bpy.app.online_access:
            layout.label(text="Online access is off (Preferences > System)", icon="INTERNET")
        elif settings.history_product != settings.product_id:
            layout.label(text="Loading this product's jobs...", icon="SORTTIME")
        layout.template_list("TSHIRT_UL_jobs", "", settings, "history", settings,
                             "history_index", rows=4)
        if 0 <= settings.history_index < len(settings.history):
            item = settings.history[settings.history_index]
            row = layout.row(align=True)
            if item.status == jobs.JobStatus.COMPLETED:
                row.operator(service_ops.TSHIRT_OT_job_open.bl_idname,
                             icon="IMAGE_DATA").job_id = item.job_id
            if item.status in service_tasks.RETRYABLE:
                row.operator(service_ops.TSHIRT_OT_job_retry.bl_idname,
                             icon="FILE_REFRESH").job_id = item.job_id
            if item.status in service_tasks.CANCELLABLE:
                row.operator(service_ops.TSHIRT_OT_job_cancel.bl_idname,
                             icon="CANCEL").job_id = item.job_id
            row.operator(service_ops.TSHIRT_OT_copy_job_url.bl_idname, text="",
                         icon="URL").job_id = item.job_id
            if item.error:
                col = layout.column()
                col.alert = True
                col.label(text=item.error, icon="ERROR")
        if settings.history_message:
            layout.label(text=settings.history_message)


classes = (
    TSHIRT_PT_main,
    TSHIRT_UL_prints,
    TSHIRT_PT_prints,
    TSHIRT_PT_design,
    TSHIRT_PT_placement,
    TSHIRT_PT_color,
    TSHIRT_PT_garment,
    TSHIRT_PT_options,
    TSHIRT_PT_render,
    TSHIRT_PT_farm,
    TSHIRT_UL_jobs,
    TSHIRT_PT_history,
)
register, unregister = bpy.utils.register_classes_factory(classes)
