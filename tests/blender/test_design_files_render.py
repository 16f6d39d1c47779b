"""Every design-file mode through the CLI to a rendered shirt, on Blender 5.0 and 4.2 LTS.

One batch (one Blender process, one scene build) renders the front of a small shirt for each
fixture of `design_files`, for the picture each must normalise to (its `expected`, saved as a
plain sRGB RGBA PNG) and for a fully transparent design (the bare shirt). Renders are compared
with renders, so the checks hold whatever the fabric's shading: outside the print the shirt
keeps the bare shirt's colour (a greyscale file without alpha once painted it black), and each
quadrant of the print has its reference's colour, which also proves it upright (the four
quadrants differ, a turned file swaps them). The size and DPI the CLI reports are the upright
image's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from design_files import UPRIGHT, DesignFile, design_file_names, make_design_files
from PIL import Image
from render_helpers import REPO, load_rgba, run_cli

from shared.contracts import Manifest, parse_event_line
from shared.design_image import INVISIBLE_ALPHA

pytestmark = [pytest.mark.blender, pytest.mark.bpy42]

PRESET = "chest-large"
SHIRT = "#7030a0"  # none of the fixtures' colours
RENDER = ["--resolution", "128", "--samples", "2", "--cpu", "--no-animation",
          "--angles", "front_0deg", "--json"]
BARE = "bare"
# A fully-inked pixel is this far from the bare shirt; shading noise stays far below it.
INK = 0.08
# 32 px over the 30.5 cm (12 in) width of a full-front print
UPRIGHT_DPI = round(UPRIGHT[0] / (30.5 / 2.54), 1)


class Renders:
    """The batch's renders (front view, RGBA floats) by row name, and its JSON result rows."""

    def __init__(self, folder: Path, files: dict[str, DesignFile]) -> None:
        self.files = files
        references: dict[bytes, str] = {}
        self.reference_of: dict[str, str] = {}
        rows = {}
        for name, fixture in sorted(files.items()):
            key = fixture.expected.tobytes()
            ref = references.setdefault(key, f"reference{len(references)}")
            self.reference_of[name] = ref
            if not (folder / f"{ref}.png").exists():
                fixture.expected.save(folder / f"{ref}.png")
            rows[name] = fixture.path
        for ref in references.values():
            rows[ref] = folder / f"{ref}.png"
        # the bare shirt: a fully transparent design is refused (empty_design), so one corner
        # pixel is the faintest that counts as printed
        bare = Image.new("RGBA", UPRIGHT, (0, 0, 0, 0))
        bare.putpixel((0, 0), (0, 0, 0, INVISIBLE_ALPHA + 1))
        bare.save(folder / f"{BARE}.png")
        rows[BARE] = folder / f"{BARE}.png"
        self.names = list(rows)
        batch = folder / "batch.jsonl"
        batch.write_text("".join(json.dumps({"design": str(path), "preset": PRESET,
                                             "color": SHIRT, "out": f"out/{name}"}) + "\n"
                                 for name, path in rows.items()))
        self.folder = folder
        self.result = run_cli("--batch", str(batch), *RENDER, timeout=900, cwd=REPO)
        lines = [json.loads(line) for line in self.result.stdout.splitlines()
                 if line.strip() and not parse_event_line(line)]
        self.rows = {self.names[line["row"] - 1]: line for line in lines if "row" in line}

    def image(self, name: str) -> np.ndarray:
        return load_rgba(self.folder / "out" / name / "front_0deg.png")


@pytest.fixture(scope="module")
def renders(tmp_path_factory) -> Renders:
    folder = tmp_path_factory.mktemp("design-renders")
    return Renders(folder, make_design_files(folder / "designs"))


@pytest.fixture(scope="module")
def print_box(renders) -> tuple[slice, slice]:
    """Rows and columns of the print in the render: where an opaque design differs from the
    bare shirt."""
    opaque = renders.image(renders.reference_of["rgb.png"])
    inked = np.abs(opaque - renders.image(BARE))[..., :3].max(-1) > INK
    rows, cols = np.nonzero(inked)
    assert rows.size > 200, "no print found in the render"
    return slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1)


def quadrant_means(image: np.ndarray, box: tuple[slice, slice]) -> np.ndarray:
    """Mean RGB of the middle half of each print quadrant, in reading order."""
    rows, cols = box
    top, left = rows.start, cols.start
    h, w = (rows.stop - top) // 2, (cols.stop - left) // 2
    means = []
    for y in (top, top + h):
        for x in (left, left + w):
            means.append(image[y + h // 4:y + h - h // 4, x + w // 4:x + w - w // 4, :3]
                         .mean((0, 1)))
    return np.asarray(means)


def test_the_batch_rendered_every_design(renders):
    assert renders.result.returncode == 0, renders.result.stderr
    assert "Traceback" not in renders.result.stderr
    assert sorted(renders.rows) == sorted(renders.names)
    assert all(row["ok"] for row in renders.rows.values())


def test_the_quadrants_can_tell_a_turned_print(renders, print_box):
    """The check below is only as good as this: the four quadrants render apart."""
    means = quadrant_means(renders.image(renders.reference_of["rgb.png"]), print_box)
    distances = np.abs(means[:, None] - means[None, :]).max(-1)
    assert distances[~np.eye(4, dtype=bool)].min() > 0.1


@pytest.mark.parametrize("name", design_file_names())
def test_a_design_prints_upright_in_its_colours_on_a_shirt_of_its_colour(renders, print_box,
                                                                        name):
    fixture = renders.files[name]
    image, reference = renders.image(name), renders.image(renders.reference_of[name])
    shirt = renders.image(BARE)
    # outside the print (and a margin the denoiser may blur), the shirt is the bare shirt
    outside = shirt[..., 3] > 0.99
    rows, cols = print_box
    outside[max(rows.start - 3, 0):rows.stop + 3, max(cols.start - 3, 0):cols.stop + 3] = False
    off = np.abs(image - shirt)[outside][:, :3]
    assert off.max() < INK and off.mean() < 0.005, (name, off.max(), off.mean())
    # inside, each quadrant has the colour of the picture the file must normalise to
    tolerance = 0.03 + fixture.tolerance / 255
    diff = np.abs(quadrant_means(image, print_box) - quadrant_means(reference, print_box))
    assert diff.max() < tolerance, (name, diff.round(3).tolist())


@pytest.mark.parametrize("name", design_file_names())
def test_the_reported_size_and_dpi_are_the_upright_ones(renders, name):
    row = renders.rows[name]
    design = {"width": UPRIGHT[0], "height": UPRIGHT[1], "dpi": UPRIGHT_DPI, "preset": PRESET}
    assert {k: row["design"][k] for k in design} == design
    assert len(row["warnings"]) == 1 and "will print blurry" in row["warnings"][0]
    manifest = Manifest.load(renders.folder / "out" / name)
    assert manifest.design is not None and manifest.prints == (manifest.design,)
    assert {k: getattr(manifest.design, k) for k in design} == design
    assert list(manifest.warnings) == row["warnings"]


def test_every_row_warns_once_on_stderr(renders):
    warnings = [line for line in renders.result.stderr.splitlines() if "warning:" in line]
    assert len(warnings) == len(renders.names)
    assert all(f"{UPRIGHT_DPI:.0f} DPI" in line for line in warnings)
