"""The CLI's arguments turned into RenderSpecs (plain Python, no Blender)."""

from __future__ import annotations

import json

import pytest
from addon_pngs import write_png

from blender_addon.core import cli_specs
from shared import templates
from shared.contracts import RenderSpec
from shared.errors import InvalidInput, TshirtError
from shared.prints import PrintSpec

CLASSIC = templates.default_templates_root() / "classic-tee"


def _specs(*argv: str) -> list[RenderSpec]:
    return cli_specs.specs_from_args(cli_specs.build_parser().parse_args(list(argv)))


@pytest.mark.parametrize(("text", "expected"), [
    ("logo.png:chest-small", PrintSpec("logo.png", "chest-small")),
    ("back.png:back-large:offset=0,5:scale=0.8:rotate=90",
     PrintSpec("back.png", "back-large", (0.0, 5.0), 0.8, 90.0)),
    ("a.png:sleeve-left:rotate=-15:offset=-1.5,2", PrintSpec("a.png", "sleeve-left", (-1.5, 2.0),
                                                             1.0, -15.0)),
    # a Windows drive letter is the one ':' a design path may hold
    (r"C:\designs\logo.png:chest-left:scale=0.5",
     PrintSpec(r"C:\designs\logo.png", "chest-left", scale=0.5)),
    ("d:/art/back.png:back-medium", PrintSpec("d:/art/back.png", "back-medium")),
])
def test_a_print_argument_reads_as_its_print(text, expected):
    assert cli_specs.parse_print(text) == expected


@pytest.mark.parametrize(("text", "code", "says"), [
    ("logo.png", "invalid_input", "the placement is missing"),
    ("logo.png:", "invalid_input", "the placement is missing"),
    (":chest-small", "invalid_input", "the design file is missing"),
    (r"C:\logo.png", "invalid_input", "the placement is missing"),
    ("logo.png:belly-huge", "unknown_preset", "Unknown preset 'belly-huge'"),
    ("logo.png:chest-small:size=2", "invalid_input", "unknown part 'size=2'"),
    ("logo.png:chest-small:offset", "invalid_input", "offset needs a value (offset=X,Y)"),
    ("logo.png:chest-small:offset=5", "invalid_input", "offset must be two numbers X,Y"),
    ("logo.png:chest-small:offset=a,b", "invalid_input", "not 'a,b'"),
    ("logo.png:chest-small:scale=big", "invalid_input", "scale must be a number, not 'big'"),
    ("logo.png:chest-small:rotate=nan", "invalid_input", "rotate must be a number"),
    ("logo.png:chest-small:offset=inf,0", "invalid_input", "offset must be two numbers"),
    ("logo.png:chest-small:scale=1:scale=2", "invalid_input", "scale is given twice"),
    ("logo.png:chest-small:scale=20", "invalid_spec", "'scale' must be between"),
    ("logo.png:chest-small:rotate=400", "invalid_spec", "'rotation_deg' must be between"),
])
def test_a_bad_print_argument_names_itself_and_its_part(text, code, says):
    with pytest.raises(TshirtError) as caught:
        cli_specs.parse_print(text)
    assert caught.value.code == code
    assert caught.value.message.startswith(f"--print {text!r}")
    assert says in caught.value.message


def test_several_prints_make_one_spec_with_absolute_designs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    specs = _specs("--print", "front.png:chest-small", "--print",
                   "back.png:back-large:offset=0,3:scale=0.5", "--out", "out", "--color", "navy")
    assert len(specs) == 1
    spec = specs[0]
    assert spec.prints == (PrintSpec(str(tmp_path / "front.png"), "chest-small"),
                           PrintSpec(str(tmp_path / "back.png"), "back-large", (0.0, 3.0), 0.5))
    assert spec.output_dir == str(tmp_path / "out") and spec.color == "#1f2a44"
    assert spec.to_dict()["spec_version"] == 2


def test_design_and_preset_still_make_one_print(tmp_path):
    spec, = _specs("--design", "/x/logo.png", "--preset", "back-small", "--out", str(tmp_path))
    assert spec.prints == (PrintSpec("/x/logo.png", "back-small"),)
    spec, = _specs("--design", "/x/logo.png", "--out", str(tmp_path))
    assert spec.prints == (PrintSpec("/x/logo.png", "chest-medium"),)


def test_several_colours_still_split_per_colour(tmp_path):
    specs = _specs("--print", "/x/a.png:chest-small", "--print", "/x/b.png:back-large",
                   "--color", "navy,white", "--out", str(tmp_path), "--job-id", "j")
    assert [s.output_dir for s in specs] == [str(tmp_path / "navy"), str(tmp_path / "white")]
    assert [s.job_id for s in specs] == ["j-navy", "j-white"]
    assert all(len(s.prints) == 2 for s in specs)


@pytest.mark.parametrize(("argv", "says"), [
    (["--print", "/x/a.png:chest-small", "--design", "/x/b.png"], "either with --print or"),
    (["--print", "/x/a.png:chest-small", "--preset", "back-large"], "either with --print or"),
    (["--spec", "s.json", "--print", "/x/a.png:chest-small"], "--spec carries its own prints"),
    (["--spec", "s.json", "--design", "/x/a.png"], "--spec carries its own prints"),
    (["--batch", "b.csv", "--print", "/x/a.png:chest-small"], "--batch cannot be combined"),
    (["--preset", "back-large"], "--design or --print is required"),
    ([], "--design or --print is required"),
])
def test_prints_named_twice_or_not_at_all_are_refused(tmp_path, argv, says):
    with pytest.raises(InvalidInput, match=says) as caught:
        _specs(*argv, "--out", str(tmp_path))
    assert caught.value.code == "invalid_input"


def test_a_template_folder_travels_as_its_absolute_path(tmp_path, monkeypatch):
    spec, = _specs("--design", "/x/a.png", "--out", str(tmp_path), "--template", str(CLASSIC))
    assert spec.template == str(CLASSIC) and spec.color == "#ffffff"  # the folder's colour
    monkeypatch.chdir(CLASSIC.parent)
    spec, = _specs("--design", "/x/a.png", "--out", str(tmp_path), "--template", "./classic-tee")
    assert spec.template == str(CLASSIC)
    spec, = _specs("--design", "/x/a.png", "--out", str(tmp_path), "--template", "classic-tee")
    assert spec.template == "classic-tee"  # an id stays an id


def test_a_folder_without_a_template_is_refused(tmp_path):
    with pytest.raises(InvalidInput, match="No template.json") as caught:
        _specs("--design", "/x/a.png", "--out", str(tmp_path), "--template", str(tmp_path))
    assert caught.value.code == "unknown_template"


def test_spec_files_of_both_versions(tmp_path):
    design = write_png(tmp_path / "d.png", 10, 10)
    v1 = {"spec_version": 1, "design": str(design), "preset": "back-large", "color": "red",
          "output_dir": str(tmp_path / "v1")}
    (tmp_path / "v1.json").write_text(json.dumps(v1))
    spec, = _specs("--spec", str(tmp_path / "v1.json"))
    assert spec.prints == (PrintSpec(str(design), "back-large"),)
    v2 = {**spec.to_dict(), "prints": [
        {"design": str(design), "preset": "chest-left"},
        {"design": str(design), "preset": "back-large", "offset_cm": [0, 4], "scale": 0.5}]}
    (tmp_path / "v2.json").write_text(json.dumps(v2))
    spec, = _specs("--spec", str(tmp_path / "v2.json"), "--out", str(tmp_path / "moved"))
    assert [p.preset for p in spec.prints] == ["chest-left", "back-large"]
    assert spec.prints[1].offset_cm == (0.0, 4.0) and spec.output_dir == str(tmp_path / "moved")


def test_batch_rows_keep_their_design_and_preset_columns(tmp_path):
    batch = tmp_path / "jobs.csv"
    batch.write_text("design,preset,color,template,out\n"
                     "logo.png,back-small,navy,,one\n"
                     f"logo.png,,red,{CLASSIC},two\n"
                     "logo.png,,red,./nowhere,three\n")
    args = cli_specs.build_parser().parse_args(["--batch", str(batch)])
    rows = list(cli_specs.read_batch(str(batch)))
    one = cli_specs.spec_from_row(args, rows[0][1])
    assert one.prints == (PrintSpec(str(tmp_path / "logo.png"), "back-small"),)
    assert one.output_dir == str(tmp_path / "one")
    two = cli_specs.spec_from_row(args, rows[1][1])
    assert two.prints[0].preset == "chest-medium" and two.template == str(CLASSIC)
    assert isinstance(rows[2][1], InvalidInput) and rows[2][1].code == "unknown_template"


def test_help_names_the_print_syntax(capsys):
    with pytest.raises(SystemExit):
        cli_specs.build_parser().parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--print DESIGN:PRESET[:offset=X,Y][:scale=S][:rotate=D]" in text
    assert "path of a template folder" in text

