"""The manifest a finished job writes, in plain Python: what it says is what is on disk."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from addon_pngs import write_png

from blender_addon.core import manifest_writer
from shared.contracts import Manifest, RenderSpec
from shared.errors import InvalidInput


def _spec(tmp_path) -> RenderSpec:
    return RenderSpec.from_dict({"design": str(tmp_path / "d.png"), "preset": "chest-small",
                                 "color": "#123456", "output_dir": str(tmp_path)})


def test_a_still_is_described_by_its_header_and_its_bytes(tmp_path):
    path = write_png(tmp_path / "front_0deg.png", 48, 32)
    output = manifest_writer.describe(path, "still", angle="front_0deg")
    assert (output.kind, output.file, output.angle, output.frame) == \
        ("still", "front_0deg.png", "front_0deg", None)
    assert (output.width, output.height) == (48, 32) == manifest_writer.png_size(path)
    assert output.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert output.size_bytes == path.stat().st_size


def test_a_video_takes_the_size_it_is_given(tmp_path):
    path = tmp_path / "turntable.mp4"
    path.write_bytes(b"\x00" * 100)
    output = manifest_writer.describe(path, "animation", size=(640, 480))
    assert (output.width, output.height, output.size_bytes) == (640, 480, 100)


def test_the_manifest_round_trips_and_verifies_against_the_folder(tmp_path):
    stills = [manifest_writer.describe(write_png(tmp_path / f"{a}.png", 8, 8), "still", angle=a)
              for a in ("front_0deg", "back_180deg")]
    frame = manifest_writer.describe(write_png(tmp_path / "frame_0001.png", 4, 4), "frame",
                                     frame=1)
    manifest = manifest_writer.build_manifest(_spec(tmp_path), "5.0.1", [*stills, frame],
                                              {"stills": 1.23456, "total": 2.0}, "CPU")
    assert manifest.timings == {"stills": 1.235, "total": 2.0}
    created = dt.datetime.fromisoformat(manifest.created_at)
    assert created.tzinfo is not None and abs(dt.datetime.now(dt.UTC) - created).seconds < 60
    again = Manifest.from_json(manifest.to_json())
    assert again == manifest and sorted(again.stills) == ["back_180deg", "front_0deg"]
    again.verify(tmp_path)
    (tmp_path / "front_0deg.png").write_bytes(b"changed")
    with pytest.raises(InvalidInput, match="front_0deg.png has the wrong size"):
        again.verify(tmp_path)
