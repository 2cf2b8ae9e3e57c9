"""The solver at its default settings, as a new user calls it: cold starts, many constraints,
targets out of reach.

    python -m ik_engine.benchmarks.default_settings [--n 1000] [--seed 0] [--only NAME ...] [--out DIR]

Every solver here is ``IKSolver(skeleton, joints=..., move_root=...)`` with nothing else set
(``compilation="blocking"`` aside, so that the figures are those of the compiled program from
the first solve on; the interpreted first solves are measured by benchmarks/realtime.py).
Targets come from random in-limit poses (reachable by construction) unless said otherwise;
every single solve is a cold start (no ``init``: the rest pose); success is measured with
float64 forward kinematics (position <= 1 mm, orientation <= 1 degree).

Workloads (``WORKLOADS``):

* ``full_body``: pelvis translation + 22 body joints; both hands (middle1), feet and the head
  reach positions, wrists and ankles orientations (benchmarks/scenarios.py's full_body).
* ``multi_constraint``: hands (position + wrist orientation) and a head LookAt at priority 1,
  feet and ankles pinned at priority 0, a RestPose regulariser (benchmarks/body_benchmark.py).
* ``arm_reach`` and ``arm_pose``: the left hand's position (and the wrist's orientation).
* ``animation_loop``: hands and head follow a smooth motion, feet held, warm start from the
  previous frame (body_benchmark's loop): time per frame.
* ``out_of_reach``: ``n_far`` arm problems whose hand target lies 0.9-1.6 m from the shoulder
  (the arm is about 0.65 m long) with a random wrist orientation and random weights: the
  solver's weighted cost (sum of weight x error^2, metres and radians, by float64 FK) beside
  the best of IPOPT from the rest pose and 30 random in-limit starts; then a hand target
  moving 1 cm per frame along a line out of reach for 300 frames, warm-started: the largest
  jump of the hand between frames.

Each workload also reports limit violations, NaN and recompilations after its first solve.
Speed is never asserted by tests: figures are printed and written to ``--out`` (results.json).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import ik_engine as ik

ARM = ("left_collar", "left_shoulder", "left_elbow", "left_wrist")
WORKLOADS = ("full_body", "multi_constraint", "arm_reach", "arm_pose", "animation_loop", "out_of_reach")
VIOLATION = 1e-4  # radians beyond a limit that count as a violation


def _timed_solves(solver, constraints_of, n: int, errors_of) -> dict:
    """Solve problems 0..n-1 (after one solve of problem 0 that compiles); success by float64 FK."""
    solver.solve(constraints_of(0))
    compiled = solver.compilations
    times, ok, violations, nans = [], [], 0, 0
    for i in range(n):
        constraints = constraints_of(i)
        start = time.perf_counter()
        result = solver.solve(constraints)
        times.append(time.perf_counter() - start)
        position, orientation = errors_of(i, result.pose)
        ok.append(position <= 1e-3 and orientation <= np.radians(1.0))
        violations += int(solver.skeleton.limit_violation(result.pose) > VIOLATION)
        nans += int(not np.all(np.isfinite(result.pose.rotations)))
    t = np.array(times) * 1e3
    return {"n": n, "success_1mm_1deg": float(np.mean(ok)), "median_ms": float(np.median(t)),
            "p95_ms": float(np.percentile(t, 95)), "max_ms": float(t.max()), "limit_violations": violations,
            "nan": nans, "recompilations": solver.compilations - compiled}


def full_body(skeleton: ik.Skeleton, n: int, seed: int) -> dict:
    from .scenarios import full_body as scenario

    s = scenario(skeleton, n, seed)
    solver = ik.IKSolver(skeleton, joints=s.moving, move_root=True, compilation="blocking")
    return _timed_solves(solver, s.constraints, n, lambda i, pose: s.errors(skeleton, i, pose))


def arm(skeleton: ik.Skeleton, n: int, seed: int, orientation: bool) -> dict:
    from .scenarios import arm_pose, arm_reach

    s = (arm_pose if orientation else arm_reach)(skeleton, n, seed)
    solver = ik.IKSolver(skeleton, joints=s.moving, compilation="blocking")
    return _timed_solves(solver, s.constraints, n, lambda i, pose: s.errors(skeleton, i, pose))


def multi_constraint(skeleton: ik.Skeleton, n: int, seed: int) -> dict:
    """``ik-engine bench``'s multi_constraint workload (the same targets and error measure),
    solved at default settings."""
    from .bench_workloads import multi_constraint as workload

    w = workload(skeleton, n, seed)
    solver = ik.IKSolver(skeleton, joints=w.moving, move_root=w.move_root, compilation="blocking")
    return _timed_solves(solver, lambda i: w.constraints(i, None), n, w.errors)


def animation_loop(skeleton: ik.Skeleton, frames: int, seed: int) -> dict:
    """Per-frame time of the warm-started loop (body_benchmark.animation_loop's figures)."""
    from .body_benchmark import animation_loop as loop

    return loop(skeleton, frames, seed)


def weighted_cost(skeleton: ik.Skeleton, constraints: list, pose: ik.Pose) -> float:
    """Sum of weight x error^2 over Position (metres) and Orientation (radians) constraints,
    by float64 forward kinematics (``safety_checks.target_errors``)."""
    from .safety_checks import target_errors

    return sum(c.weight * e ** 2 for c, e in zip(constraints, target_errors(skeleton, constraints, pose)))


def far_problems(skeleton: ik.Skeleton, n: int, seed: int) -> list[list]:
    """``n`` arm problems: the hand 0.9-1.6 m from the shoulder in a random direction, a random
    wrist orientation, weights log-uniform in [0.1, 10]."""
    rng = np.random.default_rng(seed)
    shoulder = skeleton.rest_positions()[skeleton.index("left_shoulder")]
    problems = []
    for _ in range(n):
        direction = rng.normal(size=3)
        target = shoulder + rng.uniform(0.9, 1.6) * direction / np.linalg.norm(direction)
        q = rng.normal(size=4)
        problems.append([ik.Position("left_middle1", target, weight=float(10 ** rng.uniform(-1, 1))),
                         ik.Orientation("left_wrist", q / np.linalg.norm(q), weight=float(10 ** rng.uniform(-1, 1)))])
    return problems


def out_of_reach(skeleton: ik.Skeleton | None, n: int, seed: int, ipopt_starts: int = 30, frames: int = 300) -> dict:
    """The out-of-reach figures on ``skeleton`` (None: the shipped SMPL-X skeleton)."""
    from ik_engine.baselines.ipopt import IPOPTOptions, ipopt

    skeleton = ik.load_skeleton("smplx") if skeleton is None else skeleton
    rng = np.random.default_rng(seed + 1)
    problems = far_problems(skeleton, n, seed)
    solver = ik.IKSolver(skeleton, joints=ARM, compilation="blocking")
    solver.solve(problems[0])
    compiled = solver.compilations
    starts = [skeleton.rest_pose()] + [skeleton.random_pose(rng, ARM) for _ in range(ipopt_starts)]
    ratios, times, violations, nans = [], [], 0, 0
    for constraints in problems:
        start = time.perf_counter()
        result = solver.solve(constraints)
        times.append(time.perf_counter() - start)
        violations += int(skeleton.limit_violation(result.pose) > VIOLATION)
        nans += int(not np.all(np.isfinite(result.pose.rotations)))
        ours = weighted_cost(skeleton, constraints, result.pose)
        best = min(weighted_cost(skeleton, constraints, ipopt(skeleton, constraints, joints=ARM, init=s,
                                                              options=IPOPTOptions()).pose) for s in starts)
        ratios.append(ours / best)
    ratios = np.array(ratios)
    # A line out of reach: 1.0 m in front of the shoulder's side, 1 cm per frame.
    shoulder = skeleton.rest_positions()[skeleton.index("left_shoulder")]
    line = shoulder + np.array([0.6, 0.0, 0.8]) + np.outer(np.arange(frames) * 0.01, [0.0, 1.0, 0.0]) - [0.0, 1.5, 0.0]
    wrist = problems[0][1]
    pose, hand, unconverged_claims = skeleton.rest_pose(), [], 0
    for target in line:
        constraints = [ik.Position("left_middle1", target), wrist]
        result = solver.solve(constraints, init=pose)
        pose = result.pose
        hand.append(skeleton.world_positions(pose)[skeleton.index("left_middle1")])
        unconverged_claims += int(result.converged)
    jumps = np.linalg.norm(np.diff(np.array(hand), axis=0), axis=1)
    distances = np.linalg.norm(line - shoulder, axis=1)
    t = np.array(times) * 1e3
    return {"n": n, "ipopt_starts": ipopt_starts + 1,
            "within_1pct_of_ipopt": float(np.mean(ratios <= 1.01)), "within_10pct_of_ipopt": float(np.mean(ratios <= 1.10)),
            "worst_ratio": float(ratios.max()), "median_ratio": float(np.median(ratios)),
            "median_ms": float(np.median(t)), "p95_ms": float(np.percentile(t, 95)),
            "limit_violations": violations, "nan": nans, "recompilations": solver.compilations - compiled,
            "moving_target": {"frames": frames, "largest_jump_m": float(jumps.max()), "median_step_m": float(np.median(jumps)),
                              "target_distance_from_shoulder_m": [float(distances.min()), float(distances.max())],
                              "frames_claiming_converged": unconverged_claims}}


def run(names, n: int, seed: int) -> dict:
    skeleton = ik.load_skeleton("smplx")
    out = {}
    for name in names:
        start = time.perf_counter()
        if name == "full_body":
            figures = full_body(skeleton, n, seed)
        elif name == "multi_constraint":
            figures = multi_constraint(skeleton, max(n // 2, 1), seed)
        elif name in ("arm_reach", "arm_pose"):
            figures = arm(skeleton, n, seed, orientation=name == "arm_pose")
        elif name == "animation_loop":
            figures = animation_loop(skeleton, max(n // 2, 1), seed)
        else:
            figures = out_of_reach(skeleton, max(n // 5, 1), seed)
        figures["seconds"] = time.perf_counter() - start
        out[name] = figures
        print(name, json.dumps(figures), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="targets per workload (multi_constraint and the loop: "
                        "n/2; out_of_reach: n/5) (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", choices=WORKLOADS, default=list(WORKLOADS), metavar="NAME",
                        help=f"workloads to run: {', '.join(WORKLOADS)} (default: all)")
    parser.add_argument("--out", default=None, help="folder for results.json (default: print only)")
    args = parser.parse_args(argv)
    results = {"command": " ".join(["python -m ik_engine.benchmarks.default_settings", *(argv or sys.argv[1:])]),
               "n": args.n, "seed": args.seed, "workloads": run(args.only, args.n, args.seed)}
    if args.out:
        from .machine import machine_info

        results["machine"] = machine_info()
        folder = Path(args.out)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "results.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
