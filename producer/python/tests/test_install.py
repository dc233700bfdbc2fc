"""test_install.py: the package installs with pip from the checkout, as
docs/python.md says, and the installed copy is complete and importable away
from the source tree."""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

SRC = pathlib.Path(__file__).resolve().parent.parent


def _files(top):
    """The files under top, following links, as relative paths."""
    out = set()
    for d, dirs, files in os.walk(top, followlinks=True):
        dirs[:] = [x for x in dirs if x != "__pycache__"]
        out.update(pathlib.Path(d, f).relative_to(top).as_posix() for f in files)
    return out


def _pip_available():
    return subprocess.run([sys.executable, "-m", "pip", "--version"],
                          capture_output=True).returncode == 0


@pytest.mark.skipif(not _pip_available(), reason="no pip for this interpreter")
def test_pip_install_from_checkout__gives_a_complete_importable_package(tmp_path):
    target = tmp_path / "site"
    # From a copy: an in-tree build leaves build/ and *.egg-info behind.
    src = tmp_path / "src"
    shutil.copytree(SRC, src, ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "build", "tests"))
    # --no-build-isolation and --no-deps: no registry needed (setuptools and
    # the dependencies come from the system).
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps",
         "--no-build-isolation", "--target", str(target), str(src)],
        capture_output=True, text=True, cwd=tmp_path,
        env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"))
    assert r.returncode == 0, r.stderr

    shipped = _files(SRC / "atc_fleet")
    installed = _files(target / "atc_fleet")
    # The client runs no Redis script (a producer's Redis user may not).
    assert not any(f.endswith(".lua") for f in shipped)
    assert shipped <= installed, "not installed: %s" % sorted(shipped - installed)

    probe = ("import atc_fleet, sys\n"
             "print(atc_fleet.__file__)\n"
             "from atc_fleet import Client, DaytonaManager, Result, run_code_with_tests\n"
             "assert callable(Client.wait_all)\n")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                       cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(target)))
    assert r.returncode == 0, r.stderr
    assert pathlib.Path(r.stdout.strip()).resolve().is_relative_to(target.resolve())
