"""The shipped models are package data: a wheel built from the repository carries them,
and an installation made from it (outside the checkout) loads every one and re-scores its
card's validation chorales to the recorded value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from musicalpy import pretrained
from musicalpy._config import cache_dir, project_root

ROOT = project_root()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out)], check=True, capture_output=True, text=True)
    (built,) = out.glob("musicalpy-*.whl")
    return built


def test_the_package_ships_every_model_it_names():
    assert pretrained.names() == list(pretrained.SHIPPED)


def test_the_wheel_carries_every_shipped_models_files(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in pretrained.SHIPPED:
        folder = pretrained.path(name)
        for file in folder.iterdir():
            assert f"musicalpy/pretrained/{name}/{file.name}" in names, (name, file.name)


def test_an_installation_from_the_wheel_loads_and_rescores_them(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = (
        "import json, musicalpy, musicalpy.pretrained as p\n"
        "out = {'file': musicalpy.__file__, 'names': p.names(), 'checks': {n: p.rescore(n) for n in p.names()}}\n"
        "print(json.dumps(out))\n"
    )
    # The corpora stay outside the wheel: the parse cache and the JSB files of the checkout.
    env = {**os.environ, "PYTHONPATH": str(site), "MUSICALPY_CACHE_DIR": str(cache_dir()),
           "MUSICALPY_JSB_DIR": str(ROOT / "data" / "jsb"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(result["file"]).is_relative_to(site)  # the wheel's copy, not the checkout's
    assert result["names"] == list(pretrained.SHIPPED)
    for name, (recorded, now) in result["checks"].items():
        assert now == pytest.approx(recorded, abs=1e-4), name
