"""Fixtures for the add-on tests: the built extension zip, the build script itself, and a real
sync service on loopback."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from addon_harness import SERVICE_TOKEN, TINY_RENDERS, LiveService
from addon_pngs import write_png
from common_helpers import free_port

from shared import contracts

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def build_addon():
    """``build_addon.py`` loaded as a module (it lives at the top level, outside any package)."""
    spec = importlib.util.spec_from_file_location("build_addon", ROOT / "build_addon.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def built_zip(build_addon, tmp_path_factory) -> Path:
    return build_addon.build(tmp_path_factory.mktemp("dist"))


# -- a real sync service on loopback (embedded defaults: SQLite, the Huey queue in `serve`) ------

@pytest.fixture(scope="session")
def live_service(tmp_path_factory) -> Iterator[LiveService]:
    """`tshirt-service serve` as a subprocess with a throw-away data directory."""
    folder = tmp_path_factory.mktemp("service")
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "TSHIRT_SERVICE_URL")
           and not k.startswith("MEDUSA")}
    env.update({"PYTHONPATH": str(ROOT), "TSHIRT_DATA_DIR": str(folder / "data"),
                "TSHIRT_API_TOKENS": SERVICE_TOKEN, "TSHIRT_RETRY_DELAY_S": "0",
                "TSHIRT_RENDER_OVERRIDES": json.dumps(TINY_RENDERS),
                "TSHIRT_QUEUE_NAME": f"addon{os.getpid()}"})
    (folder / "data").mkdir()
    log = folder / "serve.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "sync_service.cli", "serve", "--host", "127.0.0.1",
             "--port", str(port)], env=env, cwd=folder, stdout=handle, stderr=subprocess.STDOUT)
    service = LiveService(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(service.url + "/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the sync service did not start:\n" + service.output())
            time.sleep(0.2)
        yield service
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- shared by the tests ----------------------------------------------------------------------


@pytest.fixture
def render_dir(tmp_path: Path) -> Path:
    """A finished local render: two distinct stills and a manifest that matches them."""
    design = write_png(tmp_path / "logo.png", 50, 50)
    out = tmp_path / "out"
    out.mkdir()
    outputs = []
    for angle, rgba in (("front_0deg", (1, 2, 3, 255)), ("back_180deg", (9, 8, 7, 255))):
        path = write_png(out / f"{angle}.png", 8, 8, rgba)
        data = path.read_bytes()
        outputs.append(contracts.OutputFile("still", path.name, 8, 8,
                                            hashlib.sha256(data).hexdigest(), len(data), angle))
    spec = contracts.RenderSpec.from_dict({
        "design": str(design), "preset": "back-large", "color": "navy", "output_dir": str(out),
        "angles": ["front_0deg", "back_180deg"], "animation": {"enabled": False},
    })
    manifest = contracts.Manifest(spec, "5.0.1", tuple(outputs), {"total": 1.0},
                                  "2026-01-01T00:00:00Z")
    (out / "manifest.json").write_text(manifest.to_json())
    return out
