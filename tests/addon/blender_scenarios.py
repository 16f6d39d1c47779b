"""Real-Blender scenarios for the add-on, one per process.

    python blender_scenarios.py NAME ZIP WORKDIR

Each scenario installs the built extension the way Blender does
(``bpy.ops.extensions.package_install_files`` into the user repository of a throw-away
``BLENDER_USER_RESOURCES``), enables it, exercises it and exits non-zero on the first failed
check. Run in a subprocess so no ``bpy`` state leaks between tests.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import bpy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from addon_pngs import write_png  # noqa: E402

REPO = "user_default"
PKG = f"bl_ext.{REPO}.tshirt_render"
MODULES = ("ui.preferences", "ui.properties", "ui.operators", "ui.service_ops", "ui.panels")


def install(zip_path: str) -> None:
    result = bpy.ops.extensions.package_install_files(
        filepath=zip_path, repo=REPO, enable_on_install=True)
    assert result == {"FINISHED"}, result
    assert PKG in bpy.context.preferences.addons, list(bpy.context.preferences.addons.keys())


def addon_module(name: str):
    return sys.modules[f"{PKG}.{name}"]


def all_classes() -> list[type]:
    return [cls for name in MODULES for cls in addon_module(name).classes]


def settings():
    return bpy.context.scene.tshirt


def first_print():
    """Print 1 of the scene's job, added if the list is still empty."""
    s = settings()
    if not len(s.prints):
        check(bpy.ops.tshirt.print_add() == {"FINISHED"}, "print_add")
    return s.prints[0]


def nodes():
    return settings().preview_material.node_tree.nodes


def layers() -> list[dict]:
    """What the preview's material prints, layer by layer: the image's design file and the
    projection's values."""
    found = []
    while f"tshirt_print_{len(found)}_image" in nodes():
        index = len(found)
        image = nodes()[f"tshirt_print_{index}_image"].image
        inputs = nodes()[f"tshirt_print_{index}_projection"].inputs
        found.append({"design": image.get("tshirt_design") if image else None,
                      **{name: tuple(inputs[name].default_value) for name in
                         ("Origin", "U", "V", "Axis")}})
    return found


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


# ---------------------------------------------------------------------------------------------


def scenario_preview(zip_path: str, work: Path) -> dict:
    install(zip_path)
    classes = all_classes()
    check(len(classes) >= 12, f"only {len(classes)} classes")
    for cls in classes:
        check(cls.is_registered, f"{cls.__name__} is not registered")
    for op in ("setup_preview", "render", "cancel_render", "open_output_folder",
               "set_color_swatch", "print_add", "print_remove"):
        check(hasattr(bpy.ops.tshirt, op), f"bpy.ops.tshirt.{op} missing")
    prefs = bpy.context.preferences.addons[PKG].preferences
    check(prefs.bl_rna.properties["service_token"].subtype == "PASSWORD", "token not a password")
    check(prefs.bl_rna.properties["default_output_dir"].subtype == "DIR_PATH", "output dir")

    s = settings()
    check(len(s.prints) == 0, "a new scene has prints")
    templates = [i.identifier for i in s.bl_rna.properties["template"].enum_items_static] or \
        [s.template]
    check("classic-tee" in templates or s.template == "classic-tee", f"templates {templates}")

    # a non-image is refused with a sentence, not a traceback
    bogus = work / "notes.png"
    bogus.write_text("not really a PNG")
    try:  # the first design chosen makes print 1
        bpy.ops.tshirt.choose_design(filepath=str(bogus))
        raise AssertionError("choose_design accepted a non-image")
    except RuntimeError as exc:
        check("PNG or JPEG" in str(exc), str(exc))
    check(len(s.prints) == 1 and s.prints[0].preset == "chest-medium", "print 1 not made")
    p1 = s.prints[0]
    check("PNG or JPEG" in p1.design_error, f"design error {p1.design_error!r}")
    # so is a design that would print nothing, once its pixels are read
    blank = write_png(work / "blank.png", 300, 200, rgba=(200, 30, 40, 0))
    try:
        bpy.ops.tshirt.choose_design(filepath=str(blank))
        raise AssertionError("choose_design accepted a fully transparent design")
    except RuntimeError as exc:
        check("fully transparent" in str(exc), str(exc))
    check("fully transparent" in p1.design_error, f"design error {p1.design_error!r}")
    design = write_png(work / "design.png", 300, 200)
    check(bpy.ops.tshirt.choose_design(filepath=str(design)) == {"FINISHED"}, "choose_design")
    check(p1.design_error == "" and (p1.design_width, p1.design_height) == (300, 200), "size")

    check(bpy.ops.tshirt.setup_preview() == {"FINISHED"}, "setup_preview")
    shirt = s.preview_shirt
    check(shirt is not None and shirt.name in bpy.context.scene.objects, "no shirt in scene")
    check(shirt.active_material == s.preview_material, "shirt material")
    shown = layers()
    check([layer["design"] for layer in shown] == [str(design)],
          f"design not in the material: {shown}")
    _check_design_reloads(s, design)
    _check_the_preview_follows_every_print(s, work)

    # colour: named colour through the hex field, picker and material follow
    s.color_hex = "teal"
    check(s.color_hex == "#008080", s.color_hex)
    check(abs(s.color[2] - 128 / 255) < 1e-3, f"picker {tuple(s.color)}")
    fabric = tuple(nodes()["tshirt_fabric_color"].outputs[0].default_value)[:3]
    check(abs(fabric[2] - 0.2158605) < 1e-3 and fabric[0] < 0.01, f"fabric {fabric}")
    s.color = (1.0, 0.0, 0.0)
    check(s.color_hex == "#ff0000", s.color_hex)
    fabric = tuple(nodes()["tshirt_fabric_color"].outputs[0].default_value)[:3]
    check(fabric[0] > 0.85 and fabric[1] < 0.01, f"fabric {fabric}")
    check(bpy.ops.tshirt.set_color_swatch(hex="#1f2a44") == {"FINISHED"}, "swatch")
    check(s.color_hex == "#1f2a44", s.color_hex)
    s.color_hex = "not-a-colour"
    check("not a colour" in s.color_error, s.color_error)
    fabric2 = tuple(nodes()["tshirt_fabric_color"].outputs[0].default_value)[:3]
    check(fabric2 != (1.0, 0.0, 0.0), "bad hex changed the fabric")

    # a blurry design: 40 px across a full-front print
    small = write_png(work / "small.png", 40, 40)
    p1.design_path = str(small)
    status = addon_module("ui.preview").print_status(p1)
    check(status.blurry and status.dpi < 150, f"dpi {status.dpi}")

    # a second template (added to the installed copy): switching rebuilds the shirt and keeps
    # the colour and design on the new one
    import shutil
    root = Path(sys.modules[f"{PKG}.shared.templates"].default_templates_root())
    shutil.copytree(root / "classic-tee", root / "slim-tee")
    data = json.loads((root / "slim-tee" / "template.json").read_text())
    (root / "slim-tee" / "template.json").write_text(json.dumps({**data, "id": "slim-tee"}))
    p1.design_path = str(design)
    old_shirt = s.preview_shirt.name
    s.template = "slim-tee"
    check(s.preview_material is not None and len(layers()) == 1 and layers()[0]["design"],
          "design lost when switching templates")
    fabric3 = tuple(nodes()["tshirt_fabric_color"].outputs[0].default_value)[:3]
    check(fabric3 == fabric2, f"colour lost when switching templates {fabric3} {fabric2}")
    check(s.preview_shirt is not None and s.preview_shirt.name in bpy.context.scene.objects,
          f"no shirt after switching templates (was {old_shirt})")

    # rebuilding keeps a single shirt
    check(bpy.ops.tshirt.setup_preview() == {"FINISHED"}, "rebuild")
    shirts = [o for o in bpy.context.scene.objects
              if o.type == "MESH" and o.active_material == s.preview_material]
    check(len(shirts) == 1, f"{len(shirts)} shirts after rebuild")
    _check_reopened_file_shows_the_design(work)
    return {"classes": len(classes)}


def _print_pixel() -> tuple[float, ...]:
    return tuple(round(v, 2) for v in nodes()["tshirt_print_0_image"].image.pixels[:4])


def _check_the_preview_follows_every_print(s, work: Path) -> None:
    """Every change of a print shows at once: the placement's side, the offset (cm on the
    garment), the scale, the turn; a second print is a second layer; removing it, one again."""
    p1 = s.prints[0]
    front = layers()[0]
    check(front["Axis"][1] < -0.9, f"a chest print does not face the front: {front}")
    p1.preset = "back-large"
    back = layers()[0]
    check(back["Axis"][1] > 0.9, f"placement did not follow: {front} -> {back}")
    p1.offset_cm = (0.0, 5.0)
    down = layers()[0]
    check(abs((back["Origin"][2] - down["Origin"][2]) - 0.05) < 1e-4,
          f"5 cm down moved the print {back['Origin']} -> {down['Origin']}")
    p1.scale = 0.5
    half = layers()[0]
    check(abs(half["U"][0] / down["U"][0] - 2.0) < 1e-3, f"scale {down['U']} -> {half['U']}")
    p1.rotation_deg = 90.0
    turned = layers()[0]
    check(abs(turned["U"][0]) < 1e-6 and abs(turned["U"][2]) > 1.0, f"turn {turned['U']}")
    green = write_png(work / "green.png", 120, 80, (0, 200, 60, 255))
    check(bpy.ops.tshirt.print_add(design=str(green)) == {"FINISHED"}, "print_add")
    check([layer["design"] for layer in layers()] == [p1.design_path, str(green)],
          f"the second print is not shown: {layers()}")
    check(layers()[1]["Axis"][1] < -0.9, "the second print is not on the front")
    check(bpy.ops.tshirt.print_remove() == {"FINISHED"} and len(layers()) == 1, "remove")
    p1.preset, p1.offset_cm, p1.scale, p1.rotation_deg = "chest-medium", (0.0, 0.0), 1.0, 0.0


def _check_design_reloads(s, design: Path) -> None:
    """The preview shows the design as it prints (a normalised, generated image), loaded once
    per version of the file: an edited file is loaded again and the image it replaces goes."""
    first = nodes()["tshirt_print_0_image"].image.name
    p1 = s.prints[0]
    p1.preset = p1.preset  # any change re-applies the design: the same file is not loaded again
    check(nodes()["tshirt_print_0_image"].image.name == first, "the same file loaded again")
    write_png(design, 300, 200, (30, 40, 200, 255))
    stat = design.stat()
    os.utime(design, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    p1.preset = p1.preset
    blue = (round(30 / 255, 2), round(40 / 255, 2), round(200 / 255, 2), 1.0)
    check(_print_pixel() == blue, f"the edited design is not shown: {_print_pixel()}")
    designs = [i.name for i in bpy.data.images if "tshirt_design" in i]
    check(len(designs) == 1 and first not in designs, f"design images {designs}")


def _check_reopened_file_shows_the_design(work: Path) -> None:
    """A generated image keeps no pixels in a .blend: the design is loaded again on open (the
    settings are other objects then: nothing from before may be used)."""
    shown = _print_pixel()
    bpy.ops.wm.save_as_mainfile(filepath=str(work / "preview.blend"))
    bpy.ops.wm.open_mainfile(filepath=str(work / "preview.blend"))
    check(_print_pixel() == shown, f"a reopened file shows {_print_pixel()}, not {shown}")
    check(len([i for i in bpy.data.images if "tshirt_design" in i]) == 1, "blank image kept")


def _tiny_render_settings(work: Path, angles: tuple[bool, ...]) -> None:
    s = settings()
    first_print().design_path = str(write_png(work / "design.png", 256, 256, (20, 200, 60, 255)))
    s.output_dir = str(work / "renders")
    s.product_id = "prod_1"
    s.color_hex = "#c8102e"
    s.angles = angles
    s.quality = "preview"
    # Stills only: the turntable's lighting bake costs minutes on 2 busy cores whatever the
    # resolution; the CLI's own tests cover it, the options reaching it are unit-tested here.
    s.animation = False


def scenario_render(zip_path: str, work: Path) -> dict:
    install(zip_path)
    _tiny_render_settings(work, (True, False, False, True, False, False))
    s = settings()
    started = time.monotonic()
    result = bpy.ops.tshirt.render(wait=True, resolution=64, samples=1)
    seconds = time.monotonic() - started
    check(result == {"FINISHED"}, f"render {result}: {s.render_message}")
    check(s.render_state == "DONE", s.render_state)
    out = Path(s.last_output_dir)
    check(out.parent == work / "renders" and out.name.startswith("prod_1-"), str(out))
    manifest = json.loads((out / "manifest.json").read_text())
    stills = {o["angle"]: o for o in manifest["outputs"] if o["kind"] == "still"}
    check(set(stills) == {"front_0deg", "back_180deg"}, f"stills {sorted(stills)}")
    check(not any(o["kind"] == "animation" for o in manifest["outputs"]), "unasked turntable")
    check(manifest["spec"]["color"] == "#c8102e"
          and [p["preset"] for p in manifest["spec"]["prints"]] == [s.prints[0].preset],
          f"spec {manifest['spec']}")
    check([r.angle for r in s.results] == ["front_0deg", "back_180deg"], "results")
    for item in s.results:
        image = item.image
        check(image is not None and tuple(image.size) == (64, 64), f"{item.angle} size")
        check(image.name == f"tshirt_{item.angle}", image.name)
    # pixels: a transparent corner and a red shirt in the middle of the front view
    front = s.results[0].image
    px = list(front.pixels)
    w, h = front.size

    def pixel(x: int, y: int) -> tuple[float, ...]:
        i = (y * w + x) * 4
        return tuple(px[i:i + 4])

    check(pixel(0, h - 1)[3] < 0.05, f"corner not transparent {pixel(0, h - 1)}")
    centre = [pixel(x, y) for x in range(w // 2 - 4, w // 2 + 4) for y in (h // 3,)]
    check(any(p[3] > 0.9 for p in centre), f"no shirt in the middle {centre[:2]}")
    check(s.render_progress == 1.0, str(s.render_progress))
    check(addon_module("ui.render_session").active_session() is None, "session left behind")
    exact = work / "exact"
    s.angles = (False, True) + (False,) * 4
    check(bpy.ops.tshirt.render(wait=True, resolution=32, samples=1, output_dir=str(exact))
          == {"FINISHED"}, "render into an exact folder")
    check((exact / "left_90deg.png").is_file() and s.last_output_dir == str(exact), "exact")
    return {"render_s": round(seconds, 1)}


def scenario_cancel(zip_path: str, work: Path) -> dict:
    install(zip_path)
    _tiny_render_settings(work, (True, True, True, True, True, True))
    ops = addon_module("ui.render_session")
    # the modal path's pieces: start, step (what the timer does), the Cancel button
    session = ops.start_render(bpy.context, resolution=64, samples=1, frames=48)
    check(not bpy.ops.tshirt.render.poll(), "a second render could start")
    pid = session.run.pid
    deadline = time.monotonic() + 60
    while session.step() is None and settings().render_stage == "Starting":
        check(time.monotonic() < deadline, "no progress event within 60 s")
        time.sleep(0.05)
    check(bpy.ops.tshirt.cancel_render() == {"FINISHED"}, "cancel_render")
    cancelled_at = time.monotonic()
    finished = None
    while finished is None:
        finished = session.step()
        check(time.monotonic() - cancelled_at < 15, "the child did not stop within 15 s")
        time.sleep(0.05)
    stop_s = time.monotonic() - cancelled_at
    ops.end_session()
    check(settings().render_state == "CANCELLED", settings().render_state)
    check(finished.error() is not None and finished.error().code == "cancelled", str(finished))
    try:
        os.killpg(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    check(not alive, "the child's process group is still alive")

    # the scripted (wait=True) path, cancelled from another thread the way ESC would
    def cancel_soon() -> None:
        while ops.active_session() is None or ops.active_session().run.last_event is None:
            time.sleep(0.05)
        ops.active_session().cancel()

    threading.Thread(target=cancel_soon, daemon=True).start()
    result = bpy.ops.tshirt.render(wait=True, resolution=64, samples=1)
    check(result == {"CANCELLED"}, str(result))
    check(settings().render_state == "CANCELLED", settings().render_state)
    check(ops.active_session() is None, "session left behind")
    return {"stop_s": round(stop_s, 2)}


def refused(expected: str) -> str:
    """Run the render operator as a script does; Blender turns its ERROR report into this."""
    try:
        result = bpy.ops.tshirt.render(wait=True)
    except RuntimeError as exc:
        message = str(exc)
        check(expected in message, f"{expected!r} not in {message!r}")
        check("Traceback" not in message, message)
        return message
    raise AssertionError(f"render was not refused: {result}")


class _Event:
    def __init__(self, type_: str, value: str = "NOTHING") -> None:
        self.type = type_
        self.value = value


def scenario_modal(zip_path: str, work: Path) -> dict:
    """The modal operator's own code, driven by hand: headless Blender has no event loop.

    ``invoke`` needs a window for its timer; everything after that is ``modal`` reacting to
    TIMER and ESC events, which is what this replays on a stand-in for the operator instance.
    """
    install(zip_path)
    _tiny_render_settings(work, (True, True, False, False, False, False))
    ops = addon_module("ui.render_session")
    op_class = addon_module("ui.operators").TSHIRT_OT_render
    reports: list[tuple[set, str]] = []

    class Standin:
        _timer = None
        modal = op_class.modal
        cancel = op_class.cancel
        _remove_timer = op_class._remove_timer

        def report(self, kind, message):
            reports.append((kind, message))

    context = bpy.context
    # 1. a render to the end: TIMER events until FINISHED
    ops.start_render(context, resolution=64, samples=1)
    standin = Standin()
    result = {"RUNNING_MODAL"}
    deadline = time.monotonic() + 120
    while result in ({"RUNNING_MODAL"}, {"PASS_THROUGH"}):
        check(time.monotonic() < deadline, "modal render did not finish")
        check(standin.modal(context, _Event("MOUSEMOVE")) == {"PASS_THROUGH"}, "mouse")
        result = standin.modal(context, _Event("TIMER"))
        time.sleep(0.05)
    check(result == {"FINISHED"}, f"{result} {reports}")
    check(reports[-1][0] == {"INFO"} and "Rendered 2 image(s)" in reports[-1][1], str(reports))
    check(len(settings().results) == 2 and ops.active_session() is None, "results/session")

    # 2. ESC cancels; the next TIMER events see the child gone and end the operator
    session = ops.start_render(context, resolution=64, samples=1, frames=48)
    pid = session.run.pid
    check(standin.modal(context, _Event("ESC", "PRESS")) == {"RUNNING_MODAL"}, "esc")
    cancelled_at = time.monotonic()
    result = {"PASS_THROUGH"}
    while result == {"PASS_THROUGH"}:
        check(time.monotonic() - cancelled_at < 15, "ESC did not stop the child")
        result = standin.modal(context, _Event("TIMER"))
        time.sleep(0.05)
    check(result == {"CANCELLED"} and reports[-1] == ({"WARNING"}, "Render cancelled."),
          f"{result} {reports[-1]}")
    check(settings().render_state == "CANCELLED" and ops.active_session() is None, "state")
    try:
        os.killpg(pid, 0)
        check(False, "child group alive after ESC")
    except ProcessLookupError:
        pass

    # 3. Blender ending the modal (loading a file) kills the child too
    session = ops.start_render(context, resolution=64, samples=1, frames=48)
    pid = session.run.pid
    standin.cancel(context)
    check(ops.active_session() is None, "session after cancel()")
    try:
        os.killpg(pid, 0)
        check(False, "child group alive after cancel()")
    except ProcessLookupError:
        pass
    return {"reports": [m for _, m in reports]}


class Layout:
    """Stands in for ``UILayout`` in panel ``draw`` calls and checks what they reference."""

    def __init__(self, log: list[str]) -> None:
        object.__setattr__(self, "log", log)

    def __setattr__(self, name: str, value) -> None:
        self.log.append(f"set {name}")

    def _child(self, *args, **kwargs) -> Layout:
        return Layout(self.log)

    row = column = box = split = grid_flow = _child

    def prop(self, data, name: str, **kwargs) -> None:
        check(name in data.bl_rna.properties, f"panel draws unknown property {name!r}")
        self.log.append(f"prop {name}")

    def prop_enum(self, data, name: str, value: str, **kwargs) -> None:
        items = {i.identifier for i in data.bl_rna.properties[name].enum_items}
        if not items:  # a dynamic enum lists nothing here: it must take the value
            before = getattr(data, name)
            setattr(data, name, value)
            setattr(data, name, before)
            items = {value}
        check(value in items, f"{value!r} not in {name}")
        self.log.append(f"prop_enum {name}={value}")

    def operator(self, idname: str, **kwargs):
        module, name = idname.split(".")
        getattr(getattr(bpy.ops, module), name).get_rna_type()
        self.log.append(f"operator {idname}")
        return Layout(self.log)

    def label(self, text: str = "", **kwargs) -> None:
        self.log.append(f"label {text}")

    def template_icon(self, icon_value: int = 0, **kwargs) -> None:
        self.log.append("icon")

    def progress(self, factor: float = 0.0, text: str = "", **kwargs) -> None:
        self.log.append(f"progress {factor:.2f} {text}")

    def template_list(self, listtype: str, list_id: str, data, propname: str, active_data,
                      active_propname: str, **kwargs) -> None:
        check(hasattr(bpy.types, listtype), f"UIList {listtype} not registered")
        check(propname in data.bl_rna.properties, f"list of unknown property {propname!r}")
        self.log.append(f"list {listtype} {len(getattr(data, propname))}")


def draw_all(log: list[str]) -> list[str]:
    panels = addon_module("ui.panels")
    start = len(log)
    for cls in panels.classes:
        if not issubclass(cls, bpy.types.Panel):
            continue
        check(cls.poll(bpy.context), f"{cls.__name__}.poll")
        standin = type("P", (), {"layout": Layout(log), "draw": cls.draw})()
        standin.draw(bpy.context)
    return log[start:]


def scenario_panels(zip_path: str, work: Path) -> dict:
    install(zip_path)
    log: list[str] = []
    s = settings()
    empty = draw_all(log)
    check("label Add a print: a PNG or JPEG design at a placement" in empty, "no hint")
    check("list TSHIRT_UL_prints 0" in empty and "operator tshirt.print_add" in empty, "list")
    check(sum(line == "operator tshirt.set_color_swatch" for line in empty) == 8, "swatches")
    p1 = first_print()
    lines = draw_all(log)
    check("label Choose a PNG or JPEG design" in lines, "no hint without a design")
    supported = addon_module("ui.properties").supported_presets(s)
    check(sum(line.startswith("prop_enum preset=") for line in lines) == len(supported),
          "preset grid")
    areas = ["label Chest", "label Back", "label Back bottom"]
    check([line for line in lines if line in areas] == areas, "area rows")
    check({"prop offset_cm", "prop scale", "prop rotation_deg"} <= set(lines), "placement")
    (work / "bad.png").write_text("text")
    p1.design_path = str(work / "bad.png")
    check(any("PNG or JPEG" in line for line in draw_all(log)), "non-image message")
    p1.design_path = str(write_png(work / "small.png", 40, 40))
    p1.preset = "chest-large"
    lines = draw_all(log)
    check("label 40 x 40 px" in lines, "pixel size")
    labels = " ".join(line.removeprefix("label ") for line in lines)
    check("40 x 40 px" in labels and "will print blurry: 150 DPI is the minimum" in labels,
          "blurry warning")
    p1.design_path = str(write_png(work / "big.png", 3000, 3000))
    lines = draw_all(log)
    check(not any("blurry" in line for line in lines), "sharp design shown as blurry")
    check(any(line.endswith("DPI at this size") for line in lines), "dpi line")
    p1.offset_cm = (0.0, -20.0)  # above the collar: said, and the render button greys out
    lines = draw_all(log)
    labels = " ".join(line.removeprefix("label ") for line in lines)
    check("leaves the front printable area by" in labels, "out of area")
    check(not addon_module("ui.panels").ready_to_render(s), "render offered out of area")
    p1.offset_cm = (0.0, 0.0)
    s.background = "color"
    s.color_hex = "nope"
    lines = draw_all(log)
    check("prop background_color" in lines and any("not a colour" in x for x in lines), "colour")
    s.color_hex = "#ffffff"
    s.angles = (True,) + (False,) * 5
    s.output_dir = str(work / "renders")
    s.quality = "preview"
    s.animation = False
    session = addon_module("ui.render_session").start_render(bpy.context, resolution=64, samples=1)
    lines = draw_all(log)
    check(any(x.startswith("progress 0.00 Starting") for x in lines), "progress bar")
    check("operator tshirt.cancel_render" in lines, "cancel button")
    while session.step() is None:
        time.sleep(0.05)
    addon_module("ui.render_session").end_session()
    lines = draw_all(log)
    check("operator tshirt.open_output_folder" in lines, "open folder")
    check("operator tshirt.show_result" in lines, "result thumbnails")
    check(any(x.startswith("label Rendered 1 image(s)") for x in lines), "done message")
    return {"lines": len(log)}


def scenario_prints(zip_path: str, work: Path) -> dict:
    """The list of prints: add and remove, each print's checks at its final size, the spec of
    every print, and a scene saved with the old single design opening as print 1."""
    install(zip_path)
    s = settings()
    front = write_png(work / "front.png", 1200, 1200, (0, 200, 60, 255))
    back = write_png(work / "back.png", 600, 300, (255, 0, 255, 255))
    check(not bpy.ops.tshirt.print_remove.poll(), "remove offered with no prints")
    check(bpy.ops.tshirt.print_add(design=str(front)) == {"FINISHED"}, "add 1")
    check(bpy.ops.tshirt.print_add(design=str(back)) == {"FINISHED"}, "add 2")
    check(bpy.ops.tshirt.print_add() == {"FINISHED"}, "add 3")
    presets = [p.preset for p in s.prints]  # the third: a sleeve where the template has one
    check(presets[:2] == ["chest-medium", "back-small"]
          and presets[2] in ("chest-medium", "sleeve-left"), str(presets))
    check(s.prints_index == 2, f"the new print is not selected: {s.prints_index}")
    s.prints_index = 2
    check(bpy.ops.tshirt.print_remove(index=0) == {"FINISHED"}, "remove 1")
    check(len(s.prints) == 2 and s.prints_index == 1, f"selection {s.prints_index}")
    check(bpy.ops.tshirt.print_remove() == {"FINISHED"} and len(s.prints) == 1, "remove")
    check(bpy.ops.tshirt.print_add(design=str(front)) == {"FINISHED"}, "add again")
    p_back, p_front = s.prints
    check(p_back.design_width == 600 and p_front.design_height == 1200, "sizes not read")

    # each print's DPI and warning at its final size; the offset out of the area said
    status = addon_module("ui.preview").print_status
    check(abs(status(p_front).dpi - 120) < 1 and status(p_front).blurry, "dpi at scale 1")
    p_front.scale = 0.5
    check(abs(status(p_front).dpi - 240) < 1 and not status(p_front).blurry, "dpi at 0.5")
    p_back.preset = "back-large"
    p_back.offset_cm = (0.0, 6.0)
    p_back.rotation_deg = 90.0
    p_back.offset_cm = (0.0, -20.0)
    check(status(p_back).outside.startswith("The print (back-large) leaves"), "outside")
    p_back.offset_cm = (0.0, 6.0)

    # the render's spec carries both, in the list's order
    s.output_dir = str(work / "renders")
    s.angles = (True,) + (False,) * 5
    s.animation = False
    sessions = addon_module("ui.render_session")
    session = sessions.start_render(bpy.context, resolution=16, samples=1)
    spec = session.job.spec
    sessions.end_session()
    check([(p.design, p.preset, p.offset_cm, p.scale, p.rotation_deg) for p in spec.prints] == [
        (str(back), "back-large", (0.0, 6.0), 1.0, 90.0),
        (str(front), "chest-medium", (0.0, 0.0), 0.5, 0.0)], f"spec {spec.prints}")
    for _ in range(6):
        bpy.ops.tshirt.print_add()
    check(len(s.prints) == 8 and not bpy.ops.tshirt.print_add.poll(), "more than 8 prints")

    # a scene saved before the list: its design and placement open as print 1
    s.prints.clear()
    s["design_path"] = str(back)
    s["preset"] = 5  # back-large, as the old placement enum numbered it
    bpy.ops.wm.save_as_mainfile(filepath=str(work / "old.blend"))
    bpy.ops.wm.open_mainfile(filepath=str(work / "old.blend"))
    s = settings()
    check(len(s.prints) == 1, f"{len(s.prints)} prints after opening an old scene")
    migrated = s.prints[0]
    check(migrated.design_path == str(back) and migrated.preset == "back-large", "migrated")
    check(migrated.design_width == 600, "the migrated design's size is not read")
    check("design_path" not in s and "preset" not in s, "old settings kept")
    bpy.ops.wm.save_as_mainfile(filepath=str(work / "old.blend"))
    bpy.ops.wm.open_mainfile(filepath=str(work / "old.blend"))
    check(len(settings().prints) == 1, "migrated twice")
    return {}


def scenario_store(zip_path: str, work: Path) -> dict:
    from addon_fake_store import TOKEN, FakeStore

    install(zip_path)
    _tiny_render_settings(work, (True,) + (False,) * 5)
    check(not bpy.ops.tshirt.send_to_store.poll(), "send possible before any render")
    check(bpy.ops.tshirt.render(wait=True, resolution=32, samples=1) == {"FINISHED"}, "render")
    check(bpy.ops.tshirt.send_to_store.poll(), "send not possible after a render")
    try:
        bpy.ops.tshirt.send_to_store(wait=True)
        raise AssertionError("sent while offline")
    except RuntimeError as exc:
        check("Online access is off" in str(exc), str(exc))
    bpy.context.preferences.system.use_online_access = True
    prefs = bpy.context.preferences.addons[PKG].preferences
    with FakeStore() as store:
        prefs.service_url = store.url
        prefs.service_token = TOKEN
        check(bpy.ops.tshirt.send_to_store(wait=True) == {"FINISHED"}, "send")
        s = settings()
        check(s.sync_state == "SENT" and s.sync_job_id == "job_1", s.sync_message)
        check([r["path"] for r in store.requests] ==
              ["/admin/render-jobs", "/admin/render-jobs/job_1/outputs"], str(store.requests))
        check(b"prod_1" in store.requests[0]["body"], "product id not sent")

        # the UI path: a worker thread, applied by the bpy.app timer callback
        service = addon_module("ui.service_sync")
        prefs.service_token = "wrong"
        check(bpy.ops.tshirt.send_to_store() == {"FINISHED"}, "send in the background")
        check(s.sync_state == "SENDING", s.sync_state)
        check(not bpy.ops.tshirt.send_to_store.poll(), "two uploads at once")
        deadline = time.monotonic() + 30
        while s.sync_state == "SENDING":
            check(time.monotonic() < deadline, "the upload never ended")
            service.tick()
            time.sleep(0.05)
        check(s.sync_state == "FAILED" and "refused the token" in s.sync_message, s.sync_message)
    return {"message": s.sync_message}


def scenario_errors(zip_path: str, work: Path) -> dict:
    install(zip_path)
    s = settings()
    messages = [refused("Add a print and choose its design first.")]
    p1 = first_print()
    messages.append(refused("Choose a design image first."))
    bogus = work / "design.png"
    bogus.write_bytes(b"GIF89a not allowed")
    p1.design_path = str(bogus)
    messages.append(refused("must be a PNG or JPEG"))
    p1.design_path = str(write_png(work / "ok.png", 32, 32))
    check(bpy.ops.tshirt.print_add() == {"FINISHED"}, "print 2")
    messages.append(refused("Print 2: Choose a design image first."))
    s.prints[1].design_path = p1.design_path
    s.prints[1].offset_cm = (0.0, 60.0)
    messages.append(refused("Print 2 (back-small) leaves the back printable area by"))
    check(bpy.ops.tshirt.print_remove() == {"FINISHED"} and len(s.prints) == 1, "remove")
    s.angles = (False,) * 6
    messages.append(refused("Choose at least one angle"))
    s.angles = (True,) + (False,) * 5
    s.product_id = "../etc"
    messages.append(refused("Invalid product id"))
    s.product_id = ""
    s.output_dir = str(bogus)  # a file, not a folder
    messages.append(refused("Cannot create the output folder"))
    check(addon_module("ui.render_session").active_session() is None, "session left behind")
    check(not (work / "renders").exists(), "an output folder was made for a refused render")
    return {"messages": messages}


def scenario_uninstall(zip_path: str, work: Path) -> dict:
    install(zip_path)
    classes = all_classes()
    _tiny_render_settings(work, (True,) + (False,) * 5)
    bpy.ops.tshirt.setup_preview()
    ops = addon_module("ui.render_session")
    session = ops.start_render(bpy.context, resolution=64, samples=1)
    pid = session.run.pid
    handlers_before = len(bpy.app.handlers.load_post)
    ours = [h for h in bpy.app.handlers.load_post
            if getattr(h, "__module__", "").startswith(PKG)]
    check(len(ours) >= 2, "the add-on's load_post handlers were not registered")
    check_upload = addon_module("ui.service_sync").tick  # the service timer, always registered
    check(bpy.app.timers.is_registered(check_upload), "service timer not registered")

    bpy.ops.preferences.addon_disable(module=PKG)
    check(PKG not in bpy.context.preferences.addons, "still enabled")
    for cls in classes:
        check(not cls.is_registered, f"{cls.__name__} still registered")
    check(not hasattr(bpy.types.Scene, "tshirt"), "Scene.tshirt still there")
    check(not hasattr(bpy.types, "TSHIRT_PT_main"), "panel still there")
    check(len(bpy.app.handlers.load_post) == handlers_before - len(ours), "load_post handler left")
    for handlers in (bpy.app.handlers.load_pre, bpy.app.handlers.load_post):
        check(not any(getattr(h, "__module__", "").startswith(PKG) for h in handlers),
              "a handler is left")
    check(ops.active_session() is None, "session left")
    check(not bpy.app.timers.is_registered(check_upload), "upload timer left registered")
    time.sleep(0.2)
    try:
        os.killpg(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    check(not alive, "disabling left the render child running")

    repo_index = [r.module for r in bpy.context.preferences.extensions.repos].index(REPO)
    result = bpy.ops.extensions.package_uninstall(repo_index=repo_index, pkg_id="tshirt_render")
    check(result == {"FINISHED"}, str(result))
    repo_dir = Path(bpy.context.preferences.extensions.repos[repo_index].directory)
    check(not (repo_dir / "tshirt_render").exists(), "package folder left")
    check(not hasattr(bpy.ops.tshirt, "render") or not _op_exists("tshirt.render"),
          "operator left")
    return {}


# -- against a real sync service (URL and token in the environment) ---------------------------


def _service_setup() -> tuple[str, str, object]:
    url, token = os.environ["TSHIRT_TEST_SERVICE_URL"], os.environ["TSHIRT_TEST_SERVICE_TOKEN"]
    bpy.context.preferences.system.use_online_access = True
    prefs = bpy.context.preferences.addons[PKG].preferences
    prefs.service_url = url
    prefs.service_token = token
    return url, token, prefs


def _api(url: str, token: str, path: str):
    import requests

    response = requests.get(url + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    check(response.status_code == 200, f"GET {path}: {response.status_code} {response.text}")
    return response


def _refused(op, message: str, **kwargs) -> str:
    try:
        op(**kwargs)
    except RuntimeError as exc:
        check(message in str(exc), f"expected {message!r}, got {exc}")
        return str(exc).strip()
    raise AssertionError(f"not refused; expected {message!r}")


def _dead_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def scenario_service_store(zip_path: str, work: Path) -> dict:
    import hashlib

    install(zip_path)
    s = settings()
    _tiny_render_settings(work, (True, False, False, True, False, False))
    s.product_id = "prod_store"
    back = write_png(work / "back.png", 200, 100, (255, 0, 255, 255))  # a second print
    check(bpy.ops.tshirt.print_add(design=str(back)) == {"FINISHED"}, "print_add")
    s.prints[1].offset_cm = (0.0, 3.0)
    check(bpy.ops.tshirt.render(wait=True, resolution=32, samples=1) == {"FINISHED"}, "render")
    out = Path(s.last_output_dir)
    manifest = json.loads((out / "manifest.json").read_text())
    local = {o["file"]: o["sha256"] for o in manifest["outputs"]}
    messages = {}

    # online access off: said so, nothing sent
    messages["offline"] = _refused(bpy.ops.tshirt.test_connection, "Online access is off",
                                   wait=True)
    url, token, prefs = _service_setup()

    # Test connection: one sentence for each case
    check(bpy.ops.tshirt.test_connection(wait=True) == {"FINISHED"}, "test connection")
    sync = addon_module("ui.service_sync")
    status = bpy.context.window_manager.tshirt_connection_status
    check(status == "The sync service answered and accepted the token.", status)
    prefs.service_token = "wrong"
    messages["connection_token"] = _refused(bpy.ops.tshirt.test_connection, "refused the token",
                                            wait=True)
    prefs_lines: list[str] = []

    class PrefsStandin:  # the preferences, drawn into the stand-in layout
        layout = Layout(prefs_lines)

        def __getattr__(self, name: str):
            return getattr(prefs, name)

    type(prefs).draw(PrefsStandin(), bpy.context)
    check("operator tshirt.test_connection" in prefs_lines, "no Test Connection button")
    check(f"label {messages['connection_token'].split(': ', 1)[-1]}" in prefs_lines,
          f"the sentence is not in the preferences: {prefs_lines}")
    prefs.service_url = _dead_url()
    messages["connection_down"] = _refused(bpy.ops.tshirt.test_connection, "did not answer",
                                           wait=True)

    # service down: one sentence, the render is kept, the button works again later
    prefs.service_token = token
    messages["send_down"] = _refused(bpy.ops.tshirt.send_to_store, "Could not reach", wait=True)
    check(s.sync_state == "FAILED" and str(out) in s.sync_message, s.sync_message)
    check(all((out / name).is_file() for name in local), "outputs lost after a failed send")
    check(bpy.ops.tshirt.send_to_store.poll(), "the button does not work again")

    # wrong token: one sentence
    prefs.service_url = url
    prefs.service_token = "wrong"
    messages["send_token"] = _refused(bpy.ops.tshirt.send_to_store, "refused the token",
                                      wait=True)

    # the later send succeeds, in the background, the timer applying the result
    prefs.service_token = token
    check(bpy.ops.tshirt.send_to_store() == {"FINISHED"}, "send")
    deadline = time.monotonic() + 60
    while s.sync_state == "SENDING" or sync.tasks.busy("store"):
        check(time.monotonic() < deadline, "the send never ended")
        sync.tick()
        time.sleep(0.05)
    sync.tick()
    check(s.sync_state == "SENT" and s.sync_job_id.startswith("rjob_"), s.sync_message)
    check(s.sync_push == "not_configured" and "store: no store" in s.sync_message,
          f"{s.sync_push} {s.sync_message}")
    job = _api(url, token, f"/admin/render-jobs/{s.sync_job_id}").json()
    check(job["status"] == "completed" and job["source"] == "blender", str(job)[:300])
    check(job["product_id"] == "prod_store" and job["color"] == "#c8102e"
          and job["preset"] == s.prints[0].preset and job["template_id"] == s.template,
          str(job)[:300])
    check([(p["preset"], p["offset_cm"]) for p in job["prints"]] ==
          [(s.prints[0].preset, [0.0, 0.0]), (s.prints[1].preset, [0.0, 3.0])],
          f"prints {job['prints']}")
    remote = {o["file"]: o["sha256"] for o in job["outputs"]}
    check(remote == local, f"outputs differ: {remote} vs {local}")
    for output in job["outputs"]:
        data = _api(url, token, output["url"]).content
        check(hashlib.sha256(data).hexdigest() == local[output["file"]], output["file"])

    # the panel shows the push state and the job's link
    log: list[str] = []
    lines = draw_all(log)
    check("label Store: no store" in lines and "operator tshirt.copy_job_url" in lines,
          "push state / link not drawn")
    check(bpy.ops.tshirt.copy_job_url(job_id=s.sync_job_id) == {"FINISHED"}, "copy link")

    # history: the product's jobs
    check(bpy.ops.tshirt.history_refresh(wait=True) == {"FINISHED"}, "history")
    ids = [item.job_id for item in s.history]
    check(s.sync_job_id in ids, f"history {ids}")
    row = s.history[ids.index(s.sync_job_id)]
    check(row.status == "completed" and row.color == "#c8102e" and row.created
          and row.push_state == "not_configured", f"{row.status} {row.color} {row.created}")
    check(row.preset == f"{s.prints[0].preset} +1", f"placement column {row.preset!r}")
    lines = draw_all(log)
    check(f"list TSHIRT_UL_jobs {len(s.history)}" in lines, "history list not drawn")
    check(all(m.count("\n") == 0 and "Traceback" not in m for m in messages.values()),
          str(messages))
    return {"messages": messages, "job": s.sync_job_id}


def scenario_service_farm(zip_path: str, work: Path) -> dict:
    install(zip_path)
    url, token, prefs = _service_setup()
    sync = addon_module("ui.service_sync")
    s = settings()
    _tiny_render_settings(work, (True,) * 6)
    s.product_id = "prod_farm"
    s.color_hex = "navy"

    # render on the farm: the operator returns at once, the timer follows the job
    started = time.monotonic()
    check(bpy.ops.tshirt.farm_render() == {"FINISHED"}, "farm_render")
    check(s.farm_state == "SUBMITTING", s.farm_state)
    check(time.monotonic() - started < 2, "farm_render blocked")
    seen: list[tuple[str, str, float]] = []
    log: list[str] = []
    drew_progress = False
    deadline = time.monotonic() + 150
    while s.farm_state in {"SUBMITTING", "RUNNING"}:
        check(time.monotonic() < deadline, f"the farm job never ended: {seen[-3:]}")
        sync.tick()
        state = (s.farm_state, s.farm_status, round(s.farm_progress, 2))
        if not seen or seen[-1] != state:
            seen.append(state)
        if s.farm_state == "RUNNING" and not drew_progress:
            lines = draw_all(log)
            drew_progress = any(x.startswith("progress ") for x in lines) \
                and "operator tshirt.farm_cancel" in lines
        time.sleep(0.1)
    check(s.farm_state == "DONE", f"{s.farm_state}: {s.farm_message} {seen}")
    check(drew_progress, "no progress bar and cancel button while the farm job ran")
    statuses = [status for _, status, _ in seen]
    check("completed" in statuses and any(x in statuses for x in ("pending", "rendering")),
          f"statuses {statuses}")
    job_id = s.farm_job_id
    job = _api(url, token, f"/admin/render-jobs/{job_id}").json()
    check(job["status"] == "completed" and job["color"] == "#1f2a44", str(job)[:300])
    folder = Path(s.last_output_dir)
    check(folder.name == job_id and folder.parent == work / "renders" / "farm", str(folder))
    check(len(s.results) == 6, f"{len(s.results)} results")
    check(all(tuple(r.image.size) == (64, 64) for r in s.results), "result sizes")

    # cancel from the panel
    check(bpy.ops.tshirt.farm_render() == {"FINISHED"}, "second farm_render")
    deadline = time.monotonic() + 30
    while not bpy.ops.tshirt.farm_cancel.poll():
        check(time.monotonic() < deadline and s.farm_state != "FAILED", s.farm_message)
        sync.tick()
        time.sleep(0.05)
    cancelled_id = s.farm_job_id
    check(bpy.ops.tshirt.farm_cancel() == {"FINISHED"}, "farm_cancel")
    deadline = time.monotonic() + 30
    while s.farm_state != "CANCELLED":
        check(time.monotonic() < deadline, f"not cancelled: {s.farm_state} {s.farm_status}")
        sync.tick()
        time.sleep(0.05)
    check(_api(url, token, f"/admin/render-jobs/{cancelled_id}").json()["status"] == "cancelled",
          "the service's job is not cancelled")

    # a file saved while following reopens without pretending to follow
    s.farm_state = "RUNNING"
    sync._on_load_post()
    check(s.farm_state == "IDLE" and "no longer followed" in s.farm_message, s.farm_message)

    # history: both jobs; retry the cancelled one, cancel the retry, open the finished one
    check(bpy.ops.tshirt.history_refresh(wait=True) == {"FINISHED"}, "history")
    rows = {item.job_id: item.status for item in s.history}
    check(rows.get(job_id) == "completed" and rows.get(cancelled_id) == "cancelled", str(rows))
    check(bpy.ops.tshirt.job_retry(job_id=cancelled_id, wait=True) == {"FINISHED"}, "retry")
    check(s.history_message.startswith(f"Retrying job {cancelled_id} as job rjob_"),
          s.history_message)
    retried = s.history_message.rsplit(" ", 1)[1].rstrip(".")
    check(len(s.history) == 3 and s.history[0].job_id == retried, "retry not listed first")
    check(bpy.ops.tshirt.job_cancel(job_id=retried, wait=True) == {"FINISHED"}, "job_cancel")
    check(s.history[0].status == "cancelled", s.history[0].status)
    # periodic refresh while the panel is drawn
    sync._history_loaded.clear()
    draw_all(log)
    sync.tick()
    check(sync.tasks.busy("history") or sync.tasks.outbox.qsize() > 0,
          "no refresh while the history panel is open")
    sync.tasks.join("history")
    sync.tick()
    check(bpy.ops.tshirt.job_open(job_id=job_id, wait=True) == {"FINISHED"}, "job_open")
    opened = [img.name for img in bpy.data.images if img.name.startswith(f"tshirt_{job_id}_")]
    check(len(opened) == 6, f"opened {opened}")
    failed = _refused(bpy.ops.tshirt.job_open, "has no images", job_id=cancelled_id, wait=True)
    return {"seen": seen[:12], "failed": failed}


def _op_exists(idname: str) -> bool:
    try:
        getattr(bpy.ops.tshirt, idname.split(".")[1]).get_rna_type()
    except (KeyError, AttributeError):
        return False
    return True


SCENARIOS = {name[len("scenario_"):]: fn for name, fn in globals().items()
             if name.startswith("scenario_")}


def main() -> int:
    name, zip_path, work = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    try:
        info = SCENARIOS[name](zip_path, work)
    finally:
        session = sys.modules.get(f"{PKG}.ui.render_session")
        if session is not None:  # never leave a render child behind, even after a failed check
            session.end_session()
    print("SCENARIO-OK " + json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
