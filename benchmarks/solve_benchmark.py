"""Single-solve benchmarks (arm reach, arm pose, full body), following the benchmark protocol.

    python benchmarks/solve_benchmark.py [--n 1000] [--seed 0] [--scenarios ...] [--out benchmarks/results]

Prints a table and writes ``solve_benchmark.json`` and ``solve_benchmark.md`` under --out.
Each scenario: N targets from random in-limit poses, every solve starts at the rest pose,
success measured with float64 forward kinematics (not the solver's flag), time = wall time
of ``IKSolver.solve`` after a warm-up; the first call (compilation included) is measured in
a fresh process. Weights change on every solve to show that nothing recompiles.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import sys
import time
from pathlib import Path

import numpy as np

import ik_engine as ik
from ik_engine.benchmarks.machine import machine_info
from ik_engine.benchmarks.scenarios import SCENARIOS

LIMIT_VIOLATION_THRESHOLD = 1e-4  # radians, as in the protocol

FIRST_CALL_SNIPPET = """
import time, sys
t0 = time.perf_counter()
import ik_engine as ik
from ik_engine.benchmarks.scenarios import SCENARIOS
skel = ik.load_skeleton("smplx")
sc = SCENARIOS[sys.argv[1]](skel, 1, seed=12345)
solver = sc.solver(skel)
t1 = time.perf_counter()
solver.solve(sc.constraints(0))
t2 = time.perf_counter()
print(t2 - t1, t2 - t0)
"""


def first_call_seconds(name: str) -> dict[str, float]:
    """First solve (compilation included) in fresh processes: cold (empty compile cache), then warm.

    Also the whole start (imports, loading the skeleton, first solve) of the cold process.
    """
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, IK_ENGINE_COMPILE_CACHE=cache)
        runs = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", FIRST_CALL_SNIPPET, name], capture_output=True, text=True, check=True, env=env)
            runs.append(tuple(map(float, out.stdout.split())))
    return {"first_call_cold_s": runs[0][0], "first_call_warm_cache_s": runs[1][0], "cold_start_total_s": runs[0][1]}


def run_scenario(name: str, n: int, seed: int) -> dict:
    skel = ik.load_skeleton("smplx")
    scenario = SCENARIOS[name](skel, n, seed)
    solver = scenario.solver(skel)
    first_calls = first_call_seconds(name)
    warm = SCENARIOS[name](skel, 5, seed + 999)
    for i in range(warm.size):
        solver.solve(warm.constraints(i))
    compilations_before = solver.compilations
    rng = np.random.default_rng(seed + 1)
    times, pos_err, rot_err, iterations, violations, converged = [], [], [], [], [], []
    for i in range(scenario.size):
        weights = {j: float(rng.uniform(0.5, 2.0)) for j in list(scenario.positions) + [k + ":rot" for k in scenario.rotations]}
        constraints = scenario.constraints(i, weights)
        t0 = time.perf_counter()
        result = solver.solve(constraints)
        times.append(time.perf_counter() - t0)
        p, r = scenario.errors(skel, i, result.pose)
        pos_err.append(p)
        rot_err.append(r)
        iterations.append(result.iterations)
        converged.append(result.converged)
        violations.append(skel.limit_violation(result.pose) > LIMIT_VIOLATION_THRESHOLD)
    pos_err, rot_err, times = np.array(pos_err), np.array(rot_err), np.array(times)
    rot_ok = rot_err <= np.radians(1.0) if scenario.rotations else np.ones(n, bool)
    rot_5 = rot_err <= np.radians(5.0) if scenario.rotations else np.ones(n, bool)
    return {
        "scenario": name,
        "description": scenario.description,
        "n": n,
        "seed": seed,
        "method": "ik-engine LM (JAX, CPU)",
        "rotations": bool(scenario.rotations),
        "settings": {
            "max_iterations": solver.max_iterations,
            "position_tolerance_m": solver.position_tolerance,
            "orientation_tolerance_rad": solver.orientation_tolerance,
            "restarts": solver.options.restarts,
            "move_root": solver.move_root,
        },
        "success_1mm": float(np.mean((pos_err <= 1e-3) & rot_ok)),
        "success_5mm": float(np.mean((pos_err <= 5e-3) & rot_5)),
        "success_1cm": float(np.mean(pos_err <= 1e-2)),
        "median_error_mm": float(np.median(pos_err) * 1e3),
        "p95_error_mm": float(np.percentile(pos_err, 95) * 1e3),
        "median_rotation_error_deg": float(np.degrees(np.median(rot_err))),
        "p95_rotation_error_deg": float(np.degrees(np.percentile(rot_err, 95))),
        "median_ms": float(np.median(times) * 1e3),
        "p95_ms": float(np.percentile(times, 95) * 1e3),
        "mean_ms": float(np.mean(times) * 1e3),
        "median_iterations": float(np.median(iterations)),
        "p95_iterations": float(np.percentile(iterations, 95)),
        "reported_converged": float(np.mean(converged)),
        "limit_violations": int(np.sum(violations)),
        **first_calls,
        "recompilations_during_run": solver.compilations - compilations_before,
        "times_ms": (times * 1e3).round(4).tolist(),
        "position_errors_mm": (pos_err * 1e3).round(6).tolist(),
    }


def markdown(results: list[dict], machine: dict) -> str:
    lines = [
        "# Single-solve benchmarks (cold start at the rest pose)",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB; {machine['os']}; "
        f"Python {machine['python']}; " + ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
        + f"; commit {machine['git_commit']}",
        "",
        "| scenario | n | success 1 mm (1°) | 5 mm | 1 cm | median / p95 error | median / p95 time | iterations (median / p95) | limit violations | first call: cold / warm cache | recompiles |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r['scenario']} | {r['n']} | {r['success_1mm']:.1%} | {r['success_5mm']:.1%} | {r['success_1cm']:.1%} | "
            f"{r['median_error_mm']:.4f} / {r['p95_error_mm']:.4f} mm | {r['median_ms']:.3f} / {r['p95_ms']:.3f} ms | "
            f"{r['median_iterations']:.0f} / {r['p95_iterations']:.0f} | {r['limit_violations']} | {r['first_call_cold_s']:.2f} / {r['first_call_warm_cache_s']:.2f} s | "
            f"{r['recompilations_during_run']} |"
        )
    lines += ["", "Settings: " + "; ".join(f"{r['scenario']}: {r['settings']}" for r in results), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="targets per scenario (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS))
    parser.add_argument("--out", default="solve-benchmark-results", help="folder for the results (default: ./solve-benchmark-results; the committed ones are in benchmarks/results/, changed only on purpose with --out)")
    args = parser.parse_args(argv)
    if args.n <= 0:
        parser.error("--n must be > 0")
    machine = machine_info()
    print(f"machine: {machine['cpu']}, {machine['cores']} cores; versions {machine['versions']}", flush=True)
    results = []
    for name in args.scenarios:
        r = run_scenario(name, args.n, args.seed)
        results.append(r)
        print(
            f"{name:10s} n={r['n']}  success<=1mm{'/1deg' if r['rotations'] else ''} {r['success_1mm']:.1%}  "
            f"median {r['median_ms']:.3f} ms  p95 {r['p95_ms']:.3f} ms  iterations {r['median_iterations']:.0f}  "
            f"violations {r['limit_violations']}  first call {r['first_call_cold_s']:.2f} s (warm cache {r['first_call_warm_cache_s']:.2f} s)  recompiles {r['recompilations_during_run']}",
            flush=True,
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "solve_benchmark.json").write_text(json.dumps({"machine": machine, "results": results}, indent=1))
    (out / "solve_benchmark.md").write_text(markdown(results, machine))
    print(markdown(results, machine))
    print(f"wrote {out / 'solve_benchmark.json'} and {out / 'solve_benchmark.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
