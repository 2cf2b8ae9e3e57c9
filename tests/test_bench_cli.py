"""``ik-engine bench`` (benchmarks/bench.py): the files a run writes, bad arguments, and the
scenario workloads' targets (reachable by construction, errors measured with float64 FK).

The smoke run is ``ik-engine bench --quick`` itself (every scenario, every installed method
but the TensorFlow ones, which --quick leaves out unless named): the CI check that the
command works end to end; speed itself is never asserted here.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ik_engine as ik
from ik_engine import cli
from ik_engine.benchmarks import bench
from ik_engine.benchmarks.body_benchmark import UPPER
from ik_engine.benchmarks.motion import smooth_upper_body_motion
from ik_engine.benchmarks.scenarios import ARM_JOINTS, HAND_POINT

CLIP = Path(__file__).resolve().parent / "data" / "cmu" / "131_01.bvh"
SMOKE_SCENARIOS = [s for s in bench.SCENARIOS if s not in bench.REALTIME_SCENARIOS]  # method x scenario cells
SMOKE_METHODS = [m for m in bench.METHODS if not m.endswith("-tensorflow")]
PLOTS = ("success_vs_time.png", "error_cdf.png", "time_histograms.png", "batch_throughput.png")


def _entry_point() -> list[str]:
    """The installed ``ik-engine`` command (the module when the script is not on disk)."""
    script = Path(sys.executable).with_name("ik-engine")
    if script.exists():
        return [str(script)]
    found = shutil.which("ik-engine")
    return [found] if found else [sys.executable, "-m", "ik_engine.cli"]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    command = _entry_point() + ["bench", "--quick", "--bvh", str(CLIP), "--out", str(out)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    return run, out


def test_smoke_run_exits_cleanly_and_writes_every_file(smoke_run):
    run, out = smoke_run
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    for name in ("results.json", "results.md") + PLOTS:
        assert (out / name).is_file(), name
    # The terminal table names every measured pair.
    for scenario in SMOKE_SCENARIOS:
        assert scenario in run.stdout


def test_plots_are_png_images(smoke_run):
    from matplotlib.image import imread

    _, out = smoke_run
    for name in PLOTS:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        image = imread(out / name)
        assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 300, (name, image.shape)
        assert image.std() > 0.01, f"{name} is blank"


def _numbers(value, path=""):
    """Every number in a JSON document, with where it is."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _numbers(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _numbers(v, f"{path}[{i}]")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield path, value


def test_results_json_has_every_pair_and_finite_figures(smoke_run):
    _, out = smoke_run
    results = json.loads((out / "results.json").read_text())  # strict JSON: no NaN
    for key in ("command", "settings", "machine", "scenarios", "methods", "cells", "plots"):
        assert key in results, key
    machine = results["machine"]
    for key in ("cpu", "cores", "memory_gib", "os", "python", "versions", "git_head"):
        assert key in machine, key
    assert machine["git_head"] is None or len(machine["git_head"]) == 40
    assert results["command"].startswith("ik-engine bench")
    assert set(results["scenarios"]) == set(SMOKE_SCENARIOS)
    assert set(results["methods"]) == set(bench.METHODS)
    cells = {(c["scenario"], c["method"]): c for c in results["cells"]}
    assert set(cells) == {(s, m) for s in SMOKE_SCENARIOS for m in SMOKE_METHODS}
    # Loops and batches are run by our solver's methods only.
    assert cells["mocap_tracking", "ccd"]["status"] == "not applicable"
    assert cells["batch_scaling", "ccd"]["status"] == "not applicable"
    for pair in [("arm_reach", "lm"), ("arm_reach", "ccd"), ("mocap_tracking", "lm"), ("batch_scaling", "lm")]:
        assert cells[pair]["status"] == "ok", (pair, cells[pair].get("message"))
    bad = [(path, v) for path, v in _numbers(results) if not math.isfinite(v)]
    assert not bad, bad[:5]
    # The real-time scenarios: our default solver's figures, each checked by float64 FK.
    realtime = results["realtime"]
    assert set(realtime) == set(bench.REALTIME_SCENARIOS)
    edits = realtime["structure_changes"]
    assert edits["status"] == "ok", edits.get("message")
    assert edits["solved"] == edits["edits"] == bench.QUICK_REALTIME_SIZES["edits"]
    assert edits["converged_but_not_met"] == 0 and edits["max_violation_rad"] == 0.0
    assert 0 < edits["median_ms"] <= edits["max_ms"] and edits["first_answer_s"] > 0
    loop = realtime["frame_loop"]
    assert loop["status"] == "ok", loop.get("message")
    assert loop["arm_reach_compilations"] == 1 and loop["full_body_compilations"] == 1
    for c in results["cells"]:
        if c["status"] == "ok":
            assert c["settings"], c["method"]
            assert all(0.0 <= c[k] <= 1.0 for k in ("success_1mm", "success_5mm", "success_1cm"))
            assert c["median_ms"] > 0 and c["p95_ms"] >= c["median_ms"]


def test_success_shares_follow_from_the_raw_errors(smoke_run):
    """The summary figures are the rule applied to the per-solve errors (1 mm and 1 degree)."""
    _, out = smoke_run
    results = json.loads((out / "results.json").read_text())
    for c in results["cells"]:
        if c["status"] != "ok":
            continue
        position = np.array(c["position_errors_mm"])
        rotation = np.array(c["rotation_errors_deg"])
        assert len(position) == len(rotation) == c["n"]
        assert c["success_1mm"] == pytest.approx(np.mean((position <= 1.0) & (rotation <= 1.0)), abs=1e-9)
        assert c["success_1cm"] == pytest.approx(np.mean(position <= 10.0), abs=1e-9)
        assert c["median_ms"] == pytest.approx(np.median(c["times_ms"]), rel=1e-3)
    batch = next(c for c in results["cells"] if c["scenario"] == "batch_scaling" and c["status"] == "ok")
    assert [b["batch"] for b in batch["batches"]] == list(bench.QUICK_BATCH_SIZES)
    for b in batch["batches"]:
        assert b["solves_per_second"] == pytest.approx(b["batch"] / b["seconds_per_call_median"])


def test_results_md_has_the_tables_with_units(smoke_run):
    _, out = smoke_run
    text = (out / "results.md").read_text()
    assert "median time (ms)" in text and "throughput (solves/s)" in text
    assert "ik-engine bench --quick" in text
    for scenario in SMOKE_SCENARIOS:
        assert f"| {scenario} | lm |" in text
    assert "## Real time in use" in text and "- structure_changes (fresh process" in text
    assert "- frame_loop arm_reach: 2 ms of numpy work between solves" in text


# ------------------------------------------------------------------------- bad arguments
def _bench(argv, capsys) -> tuple[int, str]:
    """cli.main in-process: (exit code, stderr); argparse's own errors exit via SystemExit."""
    try:
        code = cli.main(["bench"] + argv)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


BROKEN_BVH = "HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0\n"


@pytest.mark.parametrize("argv, expected", [
    (["--scenario", "no_such_scenario"], "invalid choice"),
    (["--methods", "no_such_method"], "invalid choice"),
    (["--n", "0"], "--n must be a positive integer"),
    (["--n", "-3"], "--n must be a positive integer"),
    (["--skeleton", "/no/such/model.npz"], "no such file"),
    (["--skeleton", "{broken}"], "cannot load the skeleton"),
    (["--scenario", "mocap_tracking", "--bvh", "/no/such/clip.bvh"], "no such file"),
])
def test_bad_arguments_exit_2_with_a_message(argv, expected, capsys, tmp_path):
    if "{broken}" in argv:
        broken = tmp_path / "broken.bvh"
        broken.write_text(BROKEN_BVH)
        argv = [str(broken) if a == "{broken}" else a for a in argv]
    code, err = _bench(argv + ["--out", str(tmp_path / "out")], capsys)
    assert code == 2
    assert expected in err
    assert "Traceback" not in err


def test_a_method_that_is_not_installed_exits_2(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(bench.Method, "unavailable",
                        lambda self: "not installed (test)" if self.name == "ipopt" else None)
    code, err = _bench(["--methods", "lm", "ipopt", "--out", str(tmp_path)], capsys)
    assert code == 2 and "method ipopt is not installed (test)" in err


def test_a_skeleton_without_the_scenario_joints_exits_2(capsys, tmp_path):
    """A BVH whose joints are neither SMPL-X nor CMU names: the arm scenarios cannot run."""
    bvh = tmp_path / "stick.bvh"
    bvh.write_text(
        "HIERARCHY\nROOT Base\n{\n  OFFSET 0 0 0\n  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n"
        "  JOINT Link\n  {\n    OFFSET 0 10 0\n    CHANNELS 3 Zrotation Xrotation Yrotation\n"
        "    End Site\n    {\n      OFFSET 0 10 0\n    }\n  }\n}\nMOTION\nFrames: 1\nFrame Time: 0.01\n"
        + " ".join(["0"] * 9) + "\n"
    )
    assert ik.load_skeleton(bvh).joint_names[:2] == ["Base", "Link"]  # the file itself is fine
    code, err = _bench(["--skeleton", str(bvh), "--scenario", "arm_reach", "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    assert "arm_reach" in err and "left_" in err and "Traceback" not in err


def test_bad_arguments_through_the_installed_command():
    run = subprocess.run(_entry_point() + ["bench", "--n", "0"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "--n must be a positive integer" in run.stderr and "Traceback" not in run.stderr


# ------------------------------------------------------------------------- workloads
def test_strict_limits_halves_the_arm_limit_boxes(smplx):
    workload = bench.strict_limits(smplx, 4, seed=3)
    narrowed = workload.skeleton
    for j in smplx.indices(ARM_JOINTS):
        lo, hi = np.maximum(smplx.lower[j], -np.pi), np.minimum(smplx.upper[j], np.pi)
        np.testing.assert_allclose(narrowed.upper[j] - narrowed.lower[j], (hi - lo) / 2)
        np.testing.assert_allclose(narrowed.upper[j] + narrowed.lower[j], hi + lo)
    others = [j for j in range(smplx.num_joints) if j not in smplx.indices(ARM_JOINTS)]
    np.testing.assert_array_equal(narrowed.lower[others], smplx.lower[others])
    # The targets are hand positions of poses inside the narrowed limits: regenerate them.
    rng = np.random.default_rng(3)
    for i in range(4):
        pose = narrowed.random_pose(rng, ARM_JOINTS)
        assert narrowed.limit_violation(pose) == 0.0
        assert workload.errors(i, pose)[0] < 1e-12
        (target,) = [c.target for c in workload.constraints(i, None)]
        np.testing.assert_allclose(target, smplx.world_positions(pose)[smplx.index(HAND_POINT)])


def test_multi_constraint_targets_are_met_by_the_pose_they_come_from(smplx):
    workload = bench.multi_constraint(smplx, 3, seed=5)
    rng = np.random.default_rng(5)
    for i in range(3):
        pose = smplx.random_pose(rng, UPPER)
        position, rotation = workload.errors(i, pose)
        assert position < 1e-9 and rotation < 1e-6
    position, rotation = workload.errors(0, smplx.rest_pose())
    assert position > 1e-3 or rotation > 1e-2
    kinds = {type(c).__name__ for c in workload.constraints(0, None)}
    assert kinds == {"Pin", "Position", "Orientation", "LookAt", "RestPose"}


def test_animation_loop_targets_follow_the_reference_motion(smplx):
    workload = bench.animation_loop(smplx, 5, seed=2)
    reference = smooth_upper_body_motion(smplx, 6, seed=2)
    assert workload.warm_start and np.allclose(workload.init.rotations, reference[0])
    for i in range(5):
        assert workload.errors(i, ik.Pose(reference[i + 1]))[0] < 1e-12
    assert workload.errors(4, ik.Pose(reference[0]))[0] > 1e-4


def test_a_cmu_bvh_skeleton_runs_the_scenarios_under_smplx_names():
    skeleton = bench.load_bench_skeleton(str(CLIP))
    for name in ("left_collar", "left_shoulder", "left_elbow", "left_wrist", "left_middle1", "pelvis", "head"):
        assert name in skeleton.joint_names
    original = ik.load_skeleton(CLIP, scale=bench.CMU_SCALE)
    np.testing.assert_allclose(skeleton.rest_positions(), original.rest_positions())
    workload = bench.arm_reach(skeleton, 3, seed=0)
    assert all(np.isfinite(workload.errors(i, skeleton.rest_pose())).all() for i in range(3))
