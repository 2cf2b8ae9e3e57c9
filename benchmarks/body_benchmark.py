"""Whole-body benchmarks: priorities, animation loop, batch throughput, collisions and balance.

    python benchmarks/body_benchmark.py [--n 1000] [--frames 1000] [--batch 1024] [--safety-n 200] [--out benchmarks/results]

Prints the figures and writes ``body_benchmark.json`` / ``body_benchmark.md`` under --out.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

import ik_engine as ik
from ik_engine.benchmarks.machine import machine_info
from ik_engine.benchmarks.motion import mean_acceleration, smooth_upper_body_motion
from ik_engine.benchmarks.scenarios import ARM_JOINTS, BODY_JOINTS, HAND_POINT, arm_reach


PATIENT_CREEP_ITERATIONS = 12  # creep_iterations of the "patient restarts" variants (the default is 6)


def _solver(skel: ik.Skeleton, creep_iterations: int | None) -> ik.IKSolver:
    """The whole-body solver with default settings, or with ``creep_iterations`` (iterations
    without halving the cost before a restart; stalls still restart it) changed."""
    solver = ik.IKSolver(skel, joints=BODY_JOINTS, move_root=True, compilation="blocking")
    if creep_iterations is not None:
        solver.options = dataclasses.replace(solver.options, creep_iterations=creep_iterations)
    return solver


def _patience_note(creep_iterations: int | None) -> str:
    return "" if creep_iterations is None else f"; patient restarts (creep_iterations={creep_iterations})"


def priorities(skel: ik.Skeleton, n: int, seed: int, creep_iterations: int | None = None) -> dict:
    """Feet pinned at priority 0, an unreachable hand target at priority 1, from random poses."""
    rng = np.random.default_rng(seed)
    solver = _solver(skel, creep_iterations)
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
                       "pelvis translation + 22 body joints; init: random upper-body pose" + _patience_note(creep_iterations),
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
    solver = ik.IKSolver(skel, joints=BODY_JOINTS, move_root=True, compilation="blocking")
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
    solver = ik.IKSolver(skel, joints=ARM_JOINTS, compilation="blocking")
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


def safety(skel: ik.Skeleton, n: int, seed: int) -> dict:
    """Random full-body targets with Avoid, SelfCollision, Floor and Balance at priority 0.

    Targets (priority 1): wrists and head of random in-limit upper-body poses (which may
    themselves collide or unbalance the body), feet near their rest places; an obstacle
    sphere in front of the chest. Every returned pose is checked independently.
    """
    from ik_engine.benchmarks.safety_checks import violations

    rng = np.random.default_rng(seed)
    solver = ik.IKSolver(skel, joints=BODY_JOINTS, move_root=True, compilation="blocking")
    upper = [j for j in BODY_JOINTS if j in UPPER]
    rest = skel.rest_positions()
    self_collision, floor = ik.SelfCollision(), ik.Floor()
    pairs = self_collision.active_pairs(skel)
    clearances = dict(zip(floor.joints(), floor.clearances(skel)))
    worst = {"self_collision": [], "obstacle": [], "floor": [], "balance": []}
    times, reached = [], []
    for i in range(n):
        p = skel.world_positions(skel.random_pose(rng, upper))
        centre = rest[skel.index("spine3")] + [rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.2), rng.uniform(0.35, 0.55)]
        obstacle = ik.Sphere(centre, 0.1)
        constraints = [ik.Avoid([obstacle]), self_collision, floor, ik.Balance()]
        constraints += [ik.Position(j, p[skel.index(j)], priority=1) for j in ("left_wrist", "right_wrist", "head")]
        constraints += [ik.Position(j, rest[skel.index(j)], priority=1) for j in ("left_foot", "right_foot")]
        t0 = time.perf_counter()
        res = solver.solve(constraints)
        times.append(time.perf_counter() - t0)
        reached.append(res.converged)
        v = violations(skel, res.pose, pairs, [(obstacle.centre, obstacle.radius)], floor.joints(), clearances,
                       self_collision.margin, 0.01)
        for k in worst:
            worst[k].append(v[k])
    out = {
        "scenario": "safety",
        "description": f"{n} random targets (wrists, head from random upper-body poses; feet at rest) at priority 1, "
                       "Avoid (a 10 cm sphere in front of the chest), SelfCollision, Floor, Balance at priority 0; "
                       "pelvis translation + 22 body joints; checked by dense sampling",
        "n": n,
        "all_inequalities_hold": float(np.mean(np.all([np.array(worst[k]) <= 1e-3 for k in worst], axis=0))),
        "targets_reached": float(np.mean(reached)),
        "median_ms": float(np.median(times) * 1e3),
        "p95_ms": float(np.percentile(times, 95) * 1e3),
    }
    for k, values in worst.items():
        out[f"worst_{k}_violation_mm"] = float(max(values) * 1e3)
    return out


def multi_constraint(skel: ik.Skeleton, n: int, seed: int, creep_iterations: int | None = None) -> dict:
    """Hands (position + orientation), head look-at, feet pinned, rest-pose regulariser.

    Targets from random in-limit upper-body poses (legs at rest, so all are feasible);
    every solve starts at the rest pose; success measured with float64 FK.
    """
    rng = np.random.default_rng(seed)
    solver = _solver(skel, creep_iterations)
    hands, wrists = ("left_middle1", "right_middle1"), ("left_wrist", "right_wrist")
    head = skel.index("head")
    feet = ("left_foot", "right_foot", "left_ankle", "right_ankle")
    rest = skel.rest_positions()
    ok, times, feet_err = [], [], []
    for i in range(n):
        R, p = skel.world_transforms(skel.random_pose(rng, UPPER))
        look = p[head] + R[head] @ np.array([0.0, 0.0, 1.0])
        constraints = [ik.Pin(j, priority=0) for j in feet]
        constraints += [ik.Position(j, p[skel.index(j)], priority=1) for j in hands]
        constraints += [ik.Orientation(j, R[skel.index(j)], priority=1) for j in wrists]
        constraints += [ik.LookAt("head", look, axis=(0, 0, 1), priority=1), ik.RestPose(weight=0.1)]
        t0 = time.perf_counter()
        res = solver.solve(constraints)
        times.append(time.perf_counter() - t0)
        R2, p2 = skel.world_transforms(res.pose)
        pos = max(np.linalg.norm(p2[skel.index(j)] - p[skel.index(j)]) for j in hands)
        rot = max(np.arccos(np.clip((np.trace(R2[skel.index(j)] @ R[skel.index(j)].T) - 1) / 2, -1, 1)) for j in wrists)
        gaze = R2[head] @ np.array([0.0, 0.0, 1.0])
        to_target = (look - p2[head]) / np.linalg.norm(look - p2[head])
        aim = np.arccos(np.clip(gaze @ to_target, -1, 1))
        ok.append(pos <= 1e-3 and rot <= np.radians(1) and aim <= np.radians(1))
        feet_err.append(max(np.linalg.norm(p2[skel.index(j)] - rest[skel.index(j)]) for j in feet))
    return {
        "scenario": "multi_constraint",
        "description": "hands: position (middle1) + wrist orientation, head LookAt (+Z), at priority 1; Pin on feet and "
                       "ankles at priority 0; RestPose (weight 0.1) lowest; targets from random upper-body poses; cold start"
                       + _patience_note(creep_iterations),
        "n": n,
        "success_1mm_1deg": float(np.mean(ok)),
        "feet_within_1mm": float(np.mean(np.array(feet_err) <= 1e-3)),
        "median_ms": float(np.median(times) * 1e3),
        "p95_ms": float(np.percentile(times, 95) * 1e3),
    }


def sequence(skel: ik.Skeleton, frames: int, seed: int) -> dict:
    """solve_sequence on a clip whose hand and head targets carry 2 mm of tracker noise.

    Compares smoothing variants of the frame-by-frame solve; joint optimisation of the whole
    clip is not implemented.
    """
    reference = smooth_upper_body_motion(skel, frames + 1, seed=seed + 5)
    rng = np.random.default_rng(seed)
    rest = skel.rest_positions()
    feet = {j: rest[skel.index(j)] for j in ("left_foot", "right_foot", "left_ankle", "right_ankle")}
    effectors = ("left_middle1", "right_middle1", "head")
    clip, truth = [], []
    for t in range(1, frames + 1):
        p = skel.world_positions(ik.Pose(reference[t]))
        noisy = {j: p[skel.index(j)] + rng.normal(scale=0.002, size=3) for j in effectors}
        clip.append([ik.Position(j, x) for j, x in feet.items()] + [ik.Position(j, x, priority=1) for j, x in noisy.items()])
        truth.append([p[skel.index(j)] for j in effectors])
    truth = np.array(truth)
    solver = ik.IKSolver(skel, joints=BODY_JOINTS, move_root=True, compilation="blocking")
    body = [skel.index(j) for j in BODY_JOINTS]
    variants = {
        "no smoothing": dict(smoothing_weight=0.0),
        "velocity, lowest priority": dict(acceleration_weight=0.0),
        "velocity + acceleration, lowest priority": dict(),
        "velocity + acceleration, targets' priority, weight 0.01": dict(smoothing_priority=1, smoothing_weight=0.01),
    }
    out = {"scenario": "sequence", "description": f"{frames} frames, hands and head targets with 2 mm noise (priority 1), "
           "feet held (priority 0); solve_sequence variants (frame by frame, warm-started)", "frames": frames,
           "reference_mean_acceleration": mean_acceleration(reference[1:], body)}
    for name, options in variants.items():
        solver.solve_sequence(clip[:2], init=ik.Pose(reference[0]), **options)  # compile this structure
        t0 = time.perf_counter()
        res = solver.solve_sequence(clip, init=ik.Pose(reference[0]), **options)
        elapsed = time.perf_counter() - t0
        reached = np.array([[skel.world_positions(pose)[skel.index(j)] for j in effectors] for pose in res.poses])
        out[name] = {
            "ms_per_frame": elapsed / frames * 1e3,
            "mean_acceleration_ratio": mean_acceleration(res.pose_arrays()[0], body) / out["reference_mean_acceleration"],
            "error_to_noise_free_targets_mm": float(np.median(np.linalg.norm(reached - truth, axis=-1)) * 1e3),
            "converged": float(res.converged.mean()),
        }
    return out


UPPER = ("spine1", "spine2", "spine3", "neck", "head", "left_collar", "right_collar", "left_shoulder",
         "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist")


def markdown(results: dict, machine: dict) -> str:
    lines = ["# Whole-body benchmarks", "",
             f"Machine: {machine['cpu']}, {machine['cores']} cores; Python {machine['python']}; "
             + ", ".join(f"{k} {v}" for k, v in machine["versions"].items()) + f"; commit {machine['git_commit']}", ""]
    for name, r in results.items():
        lines += [f"## {name}", "", r["description"], "", "| figure | value |", "| --- | --- |"]
        for k, v in r.items():
            if k in ("scenario", "description"):
                continue
            if isinstance(v, dict):
                v = "; ".join(f"{kk} {vv:.4g}" for kk, vv in v.items())
            lines.append(f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="priority cases (default 1000)")
    parser.add_argument("--frames", type=int, default=1000, help="animation-loop frames (default 1000)")
    parser.add_argument("--batch", type=int, default=1024, help="batch size (default 1024)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--safety-n", type=int, default=200, help="safety cases (default 200)")
    names = ["multi_constraint", "multi_constraint_patient", "priorities", "priorities_patient", "animation_loop", "sequence",
             "batch", "safety"]
    parser.add_argument("--only", nargs="+", choices=names, default=names)
    parser.add_argument("--out", default="body-benchmark-results", help="folder for the results (default: ./body-benchmark-results; the committed ones are in benchmarks/results/, changed only on purpose with --out)")
    args = parser.parse_args(argv)
    if min(args.n, args.frames, args.batch) <= 0:
        parser.error("--n, --frames and --batch must be > 0")
    skel = ik.load_skeleton("smplx")
    machine = machine_info()
    results = {}
    runners = {"multi_constraint": lambda: multi_constraint(skel, args.safety_n, args.seed),
               "multi_constraint_patient": lambda: multi_constraint(skel, args.safety_n, args.seed, PATIENT_CREEP_ITERATIONS),
               "priorities": lambda: priorities(skel, args.n, args.seed),
               "priorities_patient": lambda: priorities(skel, args.n, args.seed, PATIENT_CREEP_ITERATIONS),
               "animation_loop": lambda: animation_loop(skel, args.frames, args.seed),
               "sequence": lambda: sequence(skel, min(args.frames, 300), args.seed),
               "batch": lambda: batch(skel, args.batch, args.seed),
               "safety": lambda: safety(skel, args.safety_n, args.seed)}
    for name in args.only:
        results[name] = runners[name]()
        print(json.dumps(results[name], indent=1), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    previous = out / "body_benchmark.json"
    if previous.exists() and set(args.only) != set(names):
        # A partial run updates its scenarios in the existing results (machine noted per run).
        kept = json.loads(previous.read_text())["results"]
        kept.update(results)
        results = {k: kept[k] for k in names if k in kept}
    (out / "body_benchmark.json").write_text(json.dumps({"machine": machine, "results": results}, indent=1))
    (out / "body_benchmark.md").write_text(markdown(results, machine))
    print(f"wrote {out / 'body_benchmark.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
