"""What the swing-twist variant of the SMPL-X limits costs the solver against the default boxes,
on the same problems: arm reach, arm pose and full body, success by float64 FK and time per solve.

    python -m ik_engine.benchmarks.limits_solver_cost [--n 100] [--seed 0] [--out DIR]

The benchmark scenarios draw their targets from random in-limit poses, so two limit sets give
two sets of problems; here every target comes from a pose inside both (drawn alternately from
either set's ``random_pose`` and kept when the other admits it too), and both solvers
(``compilation="blocking"``, the scenario's budget, cold starts from the rest pose) solve each
problem in turn, alternating which goes first, in one process: the default table (boxes) and
``ik.load_skeleton("smplx", limits="swing_twist")`` (the shoulders and hips as swing-twist joints
with reach tables).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import ik_engine as ik
from ik_engine.benchmarks import scenarios


def common_poses(first: ik.Skeleton, second: ik.Skeleton, moving, n: int, seed: int) -> list[ik.Pose]:
    """n random poses of ``moving`` inside both skeletons' limits, drawn alternately from each."""
    rng = np.random.default_rng(seed)
    poses: list[ik.Pose] = []
    while len(poses) < n:
        drawn_by, other = (first, second) if len(poses) % 2 == 0 else (second, first)
        pose = drawn_by.random_pose(rng, moving)
        if other.limit_violation(pose) == 0.0:
            poses.append(pose)
    return poses


def scenario_of(name: str, skeleton: ik.Skeleton, poses: list[ik.Pose], rng: np.random.Generator) -> scenarios.Scenario:
    """The benchmark scenario ``name`` with its targets from ``poses`` (full body: each moved by a
    random translation of up to 0.3 m per axis from ``rng``, as the scenario does)."""
    if name == "full_body":
        poses = [ik.Pose(pose.rotations, rng.uniform(-0.3, 0.3, 3)) for pose in poses]
    return scenarios.SCENARIOS[name](skeleton, len(poses), poses=poses)


def run(n: int, seed: int) -> dict:
    shipped = ik.load_skeleton("smplx", limits="swing_twist")
    previous = ik.load_skeleton("smplx")
    limits = {"swing_twist": shipped, "box (default)": previous}
    out = {}
    for name in ("arm_reach", "arm_pose", "full_body"):
        moving = scenarios.BODY_JOINTS if name == "full_body" else scenarios.ARM_JOINTS
        scenario = scenario_of(name, shipped, common_poses(shipped, previous, moving, n, seed), np.random.default_rng(seed + 1))
        solvers = {k: ik.IKSolver(s, joints=scenario.moving, move_root=scenario.move_root, compilation="blocking",
                                  **scenario.solver_options) for k, s in limits.items()}
        for solver in solvers.values():
            solver.solve(scenario.constraints(0))  # compile
        times = {k: [] for k in limits}
        success = {k: 0 for k in limits}
        violations = {k: 0 for k in limits}
        for i in range(scenario.size):
            order = list(limits) if i % 2 == 0 else list(limits)[::-1]
            for k in order:
                started = time.perf_counter()
                result = solvers[k].solve(scenario.constraints(i))
                times[k].append(time.perf_counter() - started)
                position, orientation = scenario.errors(limits[k], i, result.pose)  # float64 FK
                success[k] += position <= 1e-3 and orientation <= np.radians(1.0)
                violations[k] += limits[k].limit_violation(result.pose) > 0.0
        out[name] = {k: {"success": success[k] / scenario.size, "median_ms": float(np.median(times[k]) * 1e3),
                         "p95_ms": float(np.percentile(times[k], 95) * 1e3), "limit_violations": violations[k]}
                     for k in limits}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100, help="problems per scenario")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="folder for limits_solver_cost.json/.md")
    args = parser.parse_args(argv)
    from ik_engine.benchmarks.machine import machine_info

    figures = run(args.n, args.seed)
    lines = ["| scenario | limits | success (1 mm, 1 deg) | median ms | p95 ms | limit violations |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for name, rows in figures.items():
        for k, row in rows.items():
            lines.append(f"| {name} | {k} | {row['success'] * 100:.1f} % | {row['median_ms']:.3f} | {row['p95_ms']:.3f} | "
                         f"{row['limit_violations']} |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "limits_solver_cost.json").write_text(json.dumps({"machine": machine_info(), "n": args.n, "seed": args.seed,
                                                                 "figures": figures}, indent=1))
        (out / "limits_solver_cost.md").write_text(
            "# The swing-twist SMPL-X limits against the default boxes, on the same problems\n\n"
            f"`python -m ik_engine.benchmarks.limits_solver_cost --n {args.n} --seed {args.seed}`\n\n"
            "Targets from random poses inside both limit sets; both solvers compiled, cold starts from the\n"
            "rest pose, alternating in one process; success by float64 FK.\n\n" + table + "\n")


if __name__ == "__main__":
    main()
