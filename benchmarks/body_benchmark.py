"""Whole-body benchmarks: priorities, animation loop, batch throughput.

    python benchmarks/body_benchmark.py [--n 1000] [--frames 1000] [--batch 1024] [--out benchmarks/results]

Prints the figures and writes ``body_benchmark.json`` / ``body_benchmark.md`` under --out.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import ik_engine as ik
from ik_engine.benchmarks.machine import machine_info
from ik_engine.benchmarks.motion import mean_acceleration, smooth_upper_body_motion
from ik_engine.benchmarks.scenarios import ARM_JOINTS, BODY_JOINTS, HAND_POINT, arm_reach


def priorities(skel: ik.Skeleton, n: int, seed: int) -> dict:
    """Feet pinned at priority 0, an unreachable hand target at priority 1, from random poses."""
    rng = np.random.default_rng(seed)
    solver = ik.IKSolver(skel, joints=BODY_JOINTS, move_root=True)
    upper = [j for j in BODY_JOINTS if j not in ("pelvis", "left_hip", "right_hip", "left_knee", "right_knee",
                                                  "left_ankle", "right_ankle", "left_foot", "right_foot")]
    feet = [skel.index("left_foot"), skel.index("right_foot"), skel.index("left_ankle"), skel.index("right_ankle")]
    hand, shoulder, elbow = skel.index("right_middle1"), skel.index("right_shoulder"), skel.index("right_elbow")
    feet_err, hand_err, times, stretch, aim = [], [], [], [], []
    for i in range(n):
        init = skel.random_pose(rng, upper)
        p0 = skel.world_positions(init)
        direction = rng.normal(size=3)
        direction[1] = abs(direction[1]) * 0.5
        direction /= np.linalg.norm(direction)
        target = p0[skel.index("spine3")] + direction * rng.uniform(2.0, 3.0)  # far beyond reach
        constraints = [ik.Pin(name, priority=0) for name in ("left_foot", "right_foot", "left_ankle", "right_ankle")]
        constraints.append(ik.Position("right_middle1", target, priority=1))
        t0 = time.perf_counter()
        res = solver.solve(constraints, init=init)
        times.append(time.perf_counter() - t0)
        p = skel.world_positions(res.pose)
        feet_err.append(np.linalg.norm(p[feet] - p0[feet], axis=1).max())
        hand_err.append(np.linalg.norm(p[hand] - target))
        # As close as the body allows: the arm straight and aimed at the target.
        upper_arm, forearm = p[elbow] - p[shoulder], p[hand] - p[elbow]
        stretch.append(np.degrees(np.arccos(np.clip(upper_arm @ forearm / np.linalg.norm(upper_arm) / np.linalg.norm(forearm), -1, 1))))
        to_target = target - p[shoulder]
        arm = p[hand] - p[shoulder]
        aim.append(np.degrees(np.arccos(np.clip(arm @ to_target / np.linalg.norm(arm) / np.linalg.norm(to_target), -1, 1))))
        if i == 0:
            first_compilations = solver.compilations
    feet_err = np.array(feet_err)
    return {
        "scenario": "priorities",
        "description": "Pin on both feet and ankles at priority 0; right hand 2-3 m away (unreachable) at priority 1; "
                       "pelvis translation + 22 body joints; init: random upper-body pose",
        "n": n,
        "feet_within_1mm": float(np.mean(feet_err <= 1e-3)),
        "feet_max_error_mm": float(feet_err.max() * 1e3),
        "hand_error_median_m": float(np.median(hand_err)),
        "elbow_bend_median_deg": float(np.median(stretch)),
        "elbow_bend_p95_deg": float(np.percentile(stretch, 95)),
        "arm_aim_error_median_deg": float(np.median(aim)),
        "arm_aim_error_p95_deg": float(np.percentile(aim, 95)),
        "median_ms": float(np.median(times) * 1e3),
        "p95_ms": float(np.percentile(times, 95) * 1e3),
        "recompilations": solver.compilations - first_compilations,
    }


def animation_loop(skel: ik.Skeleton, frames: int, seed: int) -> dict:
    """Hands and head follow a smooth motion; feet held by fixed Position targets; warm start."""
    reference = smooth_upper_body_motion(skel, frames + 1, seed=seed)
    solver = ik.IKSolver(skel, joints=BODY_JOINTS, move_root=True)
    effectors = ("left_middle1", "right_middle1", "head")
    rest = skel.rest_positions()
    feet = {j: rest[skel.index(j)] for j in ("left_foot", "right_foot", "left_ankle", "right_ankle")}
    pose = ik.Pose(reference[0])
    solved, times, errors = [], [], []
    for t in range(1, frames + 1):
        p = skel.world_positions(ik.Pose(reference[t]))
        constraints = [ik.Position(j, target) for j, target in feet.items()]
        constraints += [ik.Position(j, p[skel.index(j)], priority=1) for j in effectors]
        constraints.append(ik.Smoothness(pose))
        t0 = time.perf_counter()
        res = solver.solve(constraints, init=pose)
        times.append(time.perf_counter() - t0)
        pose = res.pose
        solved.append(pose.rotations)
        p2 = skel.world_positions(pose)
        errors.append(max(np.linalg.norm(p2[skel.index(j)] - p[skel.index(j)]) for j in effectors))
    solved = np.array(solved)
    body = [skel.index(j) for j in BODY_JOINTS]
    times = np.array(times[1:])  # the first frame compiles
    return {
        "scenario": "animation_loop",
        "description": f"{frames} frames at 30 fps: both hands and the head follow a smooth upper-body motion "
                       "(priority 1), feet held (priority 0), Smoothness toward the previous frame, warm start",
        "frames": frames,
        "median_ms": float(np.median(times) * 1e3),
        "p95_ms": float(np.percentile(times, 95) * 1e3),
        "max_ms": float(times.max() * 1e3),
        "effector_error_median_mm": float(np.median(errors) * 1e3),
        "effector_error_max_mm": float(np.max(errors) * 1e3),
        "mean_acceleration_solution": mean_acceleration(solved, body),
        "mean_acceleration_reference": mean_acceleration(reference[1:], body),
        "acceleration_ratio": mean_acceleration(solved, body) / mean_acceleration(reference[1:], body),
        "compilations": solver.compilations,
    }


def batch(skel: ik.Skeleton, size: int, seed: int) -> dict:
    """Arm reach: ``size`` problems in one solve_batch call vs one at a time."""
    scenario = arm_reach(skel, size, seed)
    targets = scenario.positions[HAND_POINT]
    solver = ik.IKSolver(skel, joints=ARM_JOINTS)
    solver.solve_batch([ik.Position(HAND_POINT, targets)])  # compile
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        results = solver.solve_batch([ik.Position(HAND_POINT, targets)])
        runs.append(time.perf_counter() - t0)
    hand = skel.index(HAND_POINT)
    batch_err = np.array([np.linalg.norm(skel.world_positions(r.pose)[hand] - t) for r, t in zip(results, targets)])
    single_err = []
    for t in targets:
        single_err.append(np.linalg.norm(skel.world_positions(solver.solve([ik.Position(HAND_POINT, t)]).pose)[hand] - t))
    best = min(runs)
    return {
        "scenario": "batch",
        "description": f"{size} arm-reach problems in one solve_batch call (vmap), CPU",
        "batch": size,
        "seconds_per_call_median": float(np.median(runs)),
        "solves_per_second": float(size / np.median(runs)),
        "solves_per_second_best": float(size / best),
        "success_1mm_batch": float(np.mean(batch_err <= 1e-3)),
        "success_1mm_one_at_a_time": float(np.mean(np.array(single_err) <= 1e-3)),
    }


def markdown(results: dict, machine: dict) -> str:
    lines = ["# Whole-body benchmarks", "",
             f"Machine: {machine['cpu']}, {machine['cores']} cores; Python {machine['python']}; "
             + ", ".join(f"{k} {v}" for k, v in machine["versions"].items()) + f"; commit {machine['git_commit']}", ""]
    for name, r in results.items():
        lines += [f"## {name}", "", r["description"], "", "| figure | value |", "| --- | --- |"]
        lines += [f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in r.items() if k not in ("scenario", "description")]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="priority cases (default 1000)")
    parser.add_argument("--frames", type=int, default=1000, help="animation-loop frames (default 1000)")
    parser.add_argument("--batch", type=int, default=1024, help="batch size (default 1024)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", choices=["priorities", "animation_loop", "batch"], default=["priorities", "animation_loop", "batch"])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args(argv)
    if min(args.n, args.frames, args.batch) <= 0:
        parser.error("--n, --frames and --batch must be > 0")
    skel = ik.load_skeleton("smplx")
    machine = machine_info()
    results = {}
    runners = {"priorities": lambda: priorities(skel, args.n, args.seed),
               "animation_loop": lambda: animation_loop(skel, args.frames, args.seed),
               "batch": lambda: batch(skel, args.batch, args.seed)}
    for name in args.only:
        results[name] = runners[name]()
        print(json.dumps(results[name], indent=1), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "body_benchmark.json").write_text(json.dumps({"machine": machine, "results": results}, indent=1))
    (out / "body_benchmark.md").write_text(markdown(results, machine))
    print(f"wrote {out / 'body_benchmark.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
