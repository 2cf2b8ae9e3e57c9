"""The TensorFlow backend against JAX: parity of the solutions and speed, in one run.

    python benchmarks/tensorflow_benchmark.py [--parity-n 200] [--speed-n 300] [--seed 0] [--out benchmarks/results]

Parity: arm_pose and full_body problems (``ik_engine.benchmarks.scenarios``, each with its
scenario's solver settings; every solve starts at the rest pose), solved by both backends.
For each problem: the largest distance between the two poses' effector points (the
scenario's Position joints) and the largest angle between their effector frames (its
Orientation joints), measured with float64 forward kinematics; whether both succeed
(1 mm and 1 degree, as in the benchmark protocol) or both fail; whether both took the same
iterations and restarts. Required: effectors within 0.1 mm and 0.05 degrees, same success.

Speed: arm_reach and full_body, both backends solving the same problems alternately in
this process (so that both see the same load on a shared machine), weights changed on
every solve (nothing may recompile): median and p95 wall time of ``IKSolver.solve``. The
first call (tracing and compiling included, JAX's persistent compile cache turned off;
TensorFlow has none) is measured in a fresh process per backend and scenario.

Prints the tables and writes ``tensorflow_benchmark.json`` and ``tensorflow_benchmark.md``
under --out.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import ik_engine as ik
from ik_engine.benchmarks.machine import machine_info
from ik_engine.benchmarks.scenarios import SCENARIOS

BACKENDS = ("tensorflow", "jax")
PARITY_POSITION_M = 1e-4
PARITY_ANGLE_DEG = 0.05
PAPER_TENSORFLOW_MS = 21.82  # the paper's TensorFlow time per solve (JAX: 12.70 ms)

FIRST_CALL_SNIPPET = """
import sys, time
t0 = time.perf_counter()
import ik_engine as ik
from ik_engine.benchmarks.scenarios import SCENARIOS
skel = ik.load_skeleton("smplx")
scenario = SCENARIOS[sys.argv[1]](skel, 1, seed=12345)
solver = ik.IKSolver(skel, joints=scenario.moving, move_root=scenario.move_root, backend=sys.argv[2],
                     compilation="blocking", **scenario.solver_options)
t1 = time.perf_counter()
solver.solve(scenario.constraints(0))
t2 = time.perf_counter()
print(t2 - t1, t1 - t0)
"""


def solver_for(scenario, skeleton: ik.Skeleton, backend: str) -> ik.IKSolver:
    # Blocking: both backends compiled from the first solve (the interpreter is neither).
    return ik.IKSolver(skeleton, joints=scenario.moving, move_root=scenario.move_root, backend=backend,
                       compilation="blocking", **scenario.solver_options)


def first_call_seconds(name: str, backend: str) -> dict[str, float]:
    """First solve in a fresh process (compilation included), and the imports and setup before it."""
    env = dict(os.environ, IK_ENGINE_COMPILE_CACHE="0", TF_CPP_MIN_LOG_LEVEL="2")
    out = subprocess.run([sys.executable, "-c", FIRST_CALL_SNIPPET, name, backend], capture_output=True, text=True,
                         check=True, env=env)
    first, setup = map(float, out.stdout.split()[-2:])
    return {"first_call_s": first, "imports_and_setup_s": setup}


def effector_differences(skeleton: ik.Skeleton, scenario, a: ik.Pose, b: ik.Pose) -> tuple[float, float]:
    """(largest effector point distance m, largest effector frame angle rad) between two poses."""
    R_a, p_a = skeleton.world_transforms(a)
    R_b, p_b = skeleton.world_transforms(b)
    points = [skeleton.index(j) for j in scenario.positions]
    distance = float(np.max(np.linalg.norm(p_a[points] - p_b[points], axis=-1)))
    angle = 0.0
    for j in scenario.rotations:
        k = skeleton.index(j)
        cos = (np.trace(R_a[k] @ R_b[k].T) - 1.0) / 2.0
        angle = max(angle, float(np.arccos(np.clip(cos, -1.0, 1.0))))
    return distance, angle


def succeeded(skeleton: ik.Skeleton, scenario, i: int, pose: ik.Pose) -> bool:
    position_error, rotation_error = scenario.errors(skeleton, i, pose)
    return bool(position_error <= 1e-3 and rotation_error <= np.radians(1.0))


def parity(name: str, n: int, seed: int) -> dict:
    skeleton = ik.load_skeleton("smplx")
    scenario = SCENARIOS[name](skeleton, n, seed)
    solvers = {b: solver_for(scenario, skeleton, b) for b in BACKENDS}
    distances, angles, same_success, same_path, success = [], [], [], [], {b: [] for b in BACKENDS}
    worst = []
    for i in range(n):
        constraints = scenario.constraints(i)
        results = {b: solvers[b].solve(constraints) for b in BACKENDS}
        distance, angle = effector_differences(skeleton, scenario, results["tensorflow"].pose, results["jax"].pose)
        ok = {b: succeeded(skeleton, scenario, i, results[b].pose) for b in BACKENDS}
        distances.append(distance)
        angles.append(angle)
        same_success.append(ok["tensorflow"] == ok["jax"])
        same_path.append(all(getattr(results["tensorflow"], k) == getattr(results["jax"], k) for k in ("iterations", "restarts")))
        for b in BACKENDS:
            success[b].append(bool(ok[b]))
        worst.append({"problem": i, "distance_mm": distance * 1e3, "angle_deg": float(np.degrees(angle)),
                      **{f"{b}_{k}": int(getattr(results[b], k)) for b in BACKENDS for k in ("iterations", "restarts")},
                      **{f"{b}_success": bool(ok[b]) for b in BACKENDS}})
    distances, angles = np.array(distances), np.array(angles)
    within = (distances <= PARITY_POSITION_M) & (np.degrees(angles) <= PARITY_ANGLE_DEG)
    worst.sort(key=lambda row: (-row["distance_mm"], -row["angle_deg"]))
    return {
        "scenario": name,
        "n": n,
        "seed": seed,
        "settings": scenario.solver_options,
        "max_effector_distance_mm": float(distances.max() * 1e3),
        "median_effector_distance_mm": float(np.median(distances) * 1e3),
        "max_effector_angle_deg": float(np.degrees(angles.max())),
        "within_tolerance": int(within.sum()),
        "same_success": int(np.sum(same_success)),
        "same_iterations_and_restarts": int(np.sum(same_path)),
        "success": {b: float(np.mean(success[b])) for b in BACKENDS},
        "passed": bool(within.all() and all(same_success)),
        "largest_differences": worst[:5],
    }


def speed(name: str, n: int, seed: int) -> list[dict]:
    skeleton = ik.load_skeleton("smplx")
    scenario = SCENARIOS[name](skeleton, n, seed)
    solvers = {b: solver_for(scenario, skeleton, b) for b in BACKENDS}
    warm = SCENARIOS[name](skeleton, 5, seed + 999)
    for b in BACKENDS:
        for i in range(warm.size):
            solvers[b].solve(warm.constraints(i))
    compilations = {b: solvers[b].compilations for b in BACKENDS}
    rng = np.random.default_rng(seed + 1)
    times = {b: [] for b in BACKENDS}
    success = {b: [] for b in BACKENDS}
    for i in range(n):
        weights = {j: float(rng.uniform(0.5, 2.0)) for j in list(scenario.positions) + [k + ":rot" for k in scenario.rotations]}
        constraints = scenario.constraints(i, weights)
        order = BACKENDS if i % 2 == 0 else BACKENDS[::-1]
        for b in order:
            start = time.perf_counter()
            result = solvers[b].solve(constraints)
            times[b].append(time.perf_counter() - start)
            success[b].append(bool(succeeded(skeleton, scenario, i, result.pose)))
    rows = []
    for b in BACKENDS:
        t = np.array(times[b]) * 1e3
        rows.append({
            "scenario": name,
            "backend": b,
            "n": n,
            "settings": scenario.solver_options,
            "median_ms": float(np.median(t)),
            "p95_ms": float(np.percentile(t, 95)),
            "mean_ms": float(np.mean(t)),
            "success_1mm": float(np.mean(success[b])),
            "recompilations_during_run": solvers[b].compilations - compilations[b],
            **first_call_seconds(name, b),
            "times_ms": t.round(4).tolist(),
        })
    return rows


def markdown(parity_rows: list[dict], speed_rows: list[dict], machine: dict) -> str:
    lines = [
        "# TensorFlow backend against JAX: parity and speed",
        "",
        "Machine: " + "; ".join([
            f"{machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB", machine["os"],
            f"Python {machine['python']}", ", ".join(f"{k} {v}" for k, v in machine["versions"].items()),
            f"commit {machine['git_commit']}",
        ]),
        "",
        "## Parity (same problems, both backends, cold start at the rest pose)",
        "",
        f"Required: effector points within {PARITY_POSITION_M * 1e3:g} mm and effector frames within "
        f"{PARITY_ANGLE_DEG:g} degrees of each other, and the same success (1 mm, 1 degree).",
        "",
        "| scenario | n | effector distance: max / median | effector angle: max | within | same success | same iterations and restarts | success TF / JAX |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in parity_rows:
        lines.append(
            f"| {r['scenario']} | {r['n']} | {r['max_effector_distance_mm']:.2e} / {r['median_effector_distance_mm']:.2e} mm | "
            f"{r['max_effector_angle_deg']:.2e} deg | {r['within_tolerance']}/{r['n']} | {r['same_success']}/{r['n']} | "
            f"{r['same_iterations_and_restarts']}/{r['n']} | {r['success']['tensorflow']:.1%} / {r['success']['jax']:.1%} |"
        )
    lines += [
        "",
        "## Speed (wall time of one `IKSolver.solve`, both backends alternating in one process)",
        "",
        f"The paper reported {PAPER_TENSORFLOW_MS} ms per solve for TensorFlow (12.70 ms for JAX). First call: "
        "tracing and XLA compilation, in a fresh process (JAX's persistent compile cache off); imports: "
        "Python start to a constructed solver in that process.",
        "",
        "| scenario | backend | n | median / p95 time | vs the paper's TensorFlow | success 1 mm (1°) | first call | imports and setup | recompiles |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in speed_rows:
        lines.append(
            f"| {r['scenario']} | {r['backend']} | {r['n']} | {r['median_ms']:.3f} / {r['p95_ms']:.3f} ms | "
            f"{PAPER_TENSORFLOW_MS / r['median_ms']:.0f}x faster | {r['success_1mm']:.1%} | {r['first_call_s']:.2f} s | "
            f"{r['imports_and_setup_s']:.2f} s | {r['recompilations_during_run']} |"
        )
    settings = {r["scenario"]: r["settings"] for r in parity_rows + speed_rows}
    lines += ["", "Solver settings (besides the defaults): " + "; ".join(f"{k}: {v}" for k, v in settings.items()), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parity-n", type=int, default=200, help="problems per parity scenario (default 200)")
    parser.add_argument("--speed-n", type=int, default=300, help="problems per speed scenario (default 300)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="tensorflow-benchmark-results", help="folder for the results (default: ./tensorflow-benchmark-results; the committed ones are in benchmarks/results/, changed only on purpose with --out)")
    args = parser.parse_args(argv)
    if args.parity_n <= 0 or args.speed_n <= 0:
        parser.error("--parity-n and --speed-n must be > 0")
    import tensorflow as tf

    machine = machine_info()
    machine["versions"]["tensorflow"] = tf.__version__
    print(f"machine: {machine['cpu']}, {machine['cores']} cores; versions {machine['versions']}", flush=True)
    parity_rows = []
    for name in ("arm_pose", "full_body"):
        r = parity(name, args.parity_n, args.seed)
        parity_rows.append(r)
        print(f"parity {name}: max distance {r['max_effector_distance_mm']:.2e} mm, max angle {r['max_effector_angle_deg']:.2e} deg, "
              f"within {r['within_tolerance']}/{r['n']}, same success {r['same_success']}/{r['n']}, "
              f"same iterations and restarts {r['same_iterations_and_restarts']}/{r['n']}", flush=True)
    speed_rows = []
    for name in ("arm_reach", "full_body"):
        for r in speed(name, args.speed_n, args.seed):
            speed_rows.append(r)
            print(f"speed {name} {r['backend']}: median {r['median_ms']:.3f} ms, p95 {r['p95_ms']:.3f} ms, "
                  f"first call {r['first_call_s']:.2f} s, recompiles {r['recompilations_during_run']}", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = markdown(parity_rows, speed_rows, machine)
    (out / "tensorflow_benchmark.json").write_text(json.dumps({"machine": machine, "parity": parity_rows, "speed": speed_rows}, indent=1))
    (out / "tensorflow_benchmark.md").write_text(report)
    print(report)
    print(f"wrote {out / 'tensorflow_benchmark.json'} and {out / 'tensorflow_benchmark.md'}")
    return 0 if all(r["passed"] for r in parity_rows) else 1


if __name__ == "__main__":
    sys.exit(main())
