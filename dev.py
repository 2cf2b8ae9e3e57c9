#!/usr/bin/env python3
"""Set up the project's virtual environment (.venv/) and run a job in it.

    python3 dev.py demo     # set up, then solve and draw a short animation (ik-engine demo)
    python3 dev.py test     # set up (and Debian's chromium for the viewer's tests), then run the test suite
    python3 dev.py bench    # set up, then run the benchmarks (ik-engine bench; e.g. --quick)

Needs only python3 (3.11 or newer) and access to PyPI. The environment is created once
and reused; it is reinstalled when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".ik-engine-setup"
EXTRAS = {"demo": "", "test": "[test,all]", "bench": "[test,all]"}
# Installed before the extras: the CPU build of torch that smplx needs (pip would otherwise
# pick a multi-GB CUDA build).
FIRST = {"test": ["torch==2.13.0"], "bench": ["torch==2.13.0"]}


def run(cmd: list[str], **kwargs) -> None:
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run(cmd, check=True, **kwargs)


def venv_python() -> Path:
    return VENV / "bin" / "python"


def find_base_python() -> str:
    """A Python 3.11+ to build the environment with."""
    if sys.version_info >= (3, 11):
        return sys.executable
    for name in ("python3.11", "python3.12"):
        for folder in os.environ.get("PATH", "").split(os.pathsep):
            candidate = Path(folder) / name
            if candidate.exists():
                return str(candidate)
    sys.exit(f"dev.py: ik-engine needs Python 3.11 or newer; this is {sys.version.split()[0]} and no python3.11 is on PATH")


def bootstrap_pip() -> None:
    """Install pip into a venv made without it (Debian's python3 without python3-venv)."""
    with urllib.request.urlopen("https://pypi.org/pypi/pip/json", timeout=60) as response:
        release = json.load(response)
    wheel = next(u for u in release["urls"] if u["filename"].endswith(".whl"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / wheel["filename"]
        with urllib.request.urlopen(wheel["url"], timeout=120) as response:
            path.write_bytes(response.read())
        run([str(venv_python()), str(path / "pip"), "install", "--quiet", str(path)])


def create_venv() -> None:
    base = find_base_python()
    if base == sys.executable:
        try:
            venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
        except subprocess.CalledProcessError:
            venv.EnvBuilder(with_pip=False, clear=True).create(VENV)
    else:
        run([base, "-m", "venv", str(VENV)])
    if subprocess.run([str(venv_python()), "-m", "pip", "--version"], capture_output=True).returncode != 0:
        bootstrap_pip()


def setup(job: str) -> None:
    extras = EXTRAS[job]
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    if venv_python().exists() and STAMP.exists() and wanted in STAMP.read_text().split():
        return
    if not venv_python().exists():
        create_venv()
    pip = [str(venv_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run(pip + ["--upgrade", "pip", "setuptools", "wheel"])
    if FIRST.get(job):
        run(pip + FIRST[job])
    run(pip + ["-e", f"{ROOT}{extras}"])
    if job == "test":
        install_node_tools()
    previous = STAMP.read_text().split() if STAMP.exists() else []
    STAMP.write_text("\n".join(previous + [wanted]) + "\n")


# Test tools from the npm registry, installed into .venv/node_modules when npm is on PATH:
# Khronos' glTF validator (tests/test_gltf.py checks the files export_gltf writes with it).
NODE_TOOLS = ["gltf-validator@2.0.0-dev.3.10"]


def install_node_tools() -> None:
    npm = shutil.which("npm")
    if npm is None:
        print("dev.py: npm not found; the glTF validator test will be skipped (install Node.js and npm to run it)")
        return
    run([npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(VENV), *NODE_TOOLS])


# The browser the viewer's tests drive (tests/test_viewer.py, through playwright): Debian's
# chromium package, installed here with apt-get when missing, never at test time.
CHROMIUM = Path("/usr/bin/chromium")


def ensure_chromium() -> None:
    if CHROMIUM.exists():
        return
    apt_get = shutil.which("apt-get")
    if apt_get and hasattr(os, "geteuid") and os.geteuid() == 0:
        print(f"dev.py: {CHROMIUM} is missing; installing Debian's chromium package for the viewer's browser tests")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        try:
            run([apt_get, "update"], env=env)
            run([apt_get, "install", "-y", "--no-install-recommends", "chromium"], env=env)
            return
        except subprocess.CalledProcessError as exc:
            print(f"dev.py: apt-get failed ({exc}); the viewer's browser tests will fail until chromium is installed")
    print(f"dev.py: {CHROMIUM} is missing and cannot be installed here (needs apt-get as root): install Debian's "
          "chromium package (sudo apt-get install chromium); tests/test_viewer.py fails without it")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in EXTRAS:
        print(__doc__)
        return 2
    job, rest = argv[0], argv[1:]
    setup(job)
    if job == "test":
        ensure_chromium()
    python = str(venv_python())
    if job == "demo":
        cmd = [python, "-m", "ik_engine.cli", "demo", *rest]
    elif job == "test":
        cmd = [python, "-m", "pytest", *rest]
    else:
        cmd = [python, "-m", "ik_engine.cli", "bench", *rest]
    return subprocess.run(cmd, cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
