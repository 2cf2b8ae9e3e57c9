"""The package as a user outside the repository gets it: a wheel, installed into a new virtual
environment, run from an empty folder (no index needed: the wheel's dependencies are taken from
this test environment's site-packages, appended to the new environment's path)."""

from __future__ import annotations

import shutil
import site
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python of a new venv holding only the wheel, its bin folder, an empty working folder)."""
    base = tmp_path_factory.mktemp("wheel")
    # Built from a copy of the sources (a build in the checkout would leave build/ behind, and
    # reuse whatever an earlier build left there).
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info",
                                                                "__pycache__", ".pytest_cache"))
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                            "--wheel-dir", str(base / "dist"), str(source)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-2000:]
    wheels = list((base / "dist").glob("ik_engine-*.whl"))
    assert len(wheels) == 1
    env = base / "env"
    venv.EnvBuilder(with_pip=True).create(env)
    python = env / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheels[0])],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-2000:]
    # The dependencies (numpy, jax, matplotlib...) from this environment, after the new one's own
    # site-packages; a plain path entry, so this environment's editable install is not loaded.
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    ours = [p for p in site.getsitepackages() if Path(p).is_dir()] or [sysconfig.get_paths()["purelib"]]
    (Path(purelib) / "zz_test_dependencies.pth").write_text("\n".join(ours) + "\n")
    work = base / "work"
    work.mkdir()
    return python, env / "bin", work


def test_the_wheel_installs_and_runs_the_demo_and_a_solve_outside_the_repository(installed):
    python, bin_dir, work = installed
    where = subprocess.run([str(python), "-c", "import ik_engine; print(ik_engine.__file__)"], cwd=work,
                           capture_output=True, text=True, timeout=300)
    assert where.returncode == 0, where.stderr[-2000:]
    assert Path(where.stdout.strip()).is_relative_to(bin_dir.parent), where.stdout  # the wheel, not the repository
    demo = subprocess.run([str(bin_dir / "ik-engine"), "demo", "--frames", "8", "--out", "demo.png"], cwd=work,
                          capture_output=True, text=True, timeout=600)
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert (work / "demo.png").read_bytes()[:4] == b"\x89PNG"
    solve = ("import numpy as np, ik_engine as ik\n"
             "skel = ik.load_skeleton('smplx')\n"
             "res = ik.solve(skel, [ik.Position('left_middle1', [0.45, 1.35, 0.35])], joints=['left_shoulder', 'left_elbow'])\n"
             "p = skel.world_positions(res.pose)[skel.index('left_middle1')]\n"
             "print(res.converged, float(np.linalg.norm(p - [0.45, 1.35, 0.35])))\n"
             "mesh = ik.load_default_mesh(); print(mesh.vertices.shape[0])\n"
             "from ik_engine.benchmarks.bench import DEFAULT_CLIP; print(DEFAULT_CLIP.is_file())\n")
    out = subprocess.run([str(python), "-c", solve], cwd=work, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    converged, error, vertices, clip_shipped = out.stdout.split()
    assert converged == "True" and float(error) <= 1e-3 and int(vertices) > 10000
    assert clip_shipped == "True"  # `ik-engine bench` has its default mocap clip without the repository
