"""Real-time use, measured as a user meets it: structure changes and frame loops.

Two scenarios of ``ik-engine bench`` (our solver only), also runnable on their own:

    python -m ik_engine.benchmarks.realtime [--edits 40] [--frames 300] [--work-ms 2] [--seed 0] [--out DIR]

* ``structure_changes``: the first answer of a fresh process (arm reach and full body, empty
  compile cache, from ``import ik_engine``), then a scripted editing session in a fresh process with an empty compile
  cache (``IK_ENGINE_COMPILE_CACHE=0``): the time from ``import ik_engine`` to the first
  answer, then ``edits`` random edits each followed by one solve through ``ik.solve`` with the
  default settings, warm-started from the previous answer. An edit adds or removes 1-8
  constraints of the kinds Position, Orientation, LookAt, Pin, PoleVector, RestPose, Floor,
  changes a priority, switches the moving joints (left arm, both arms, legs, all body joints)
  or toggles ``move_root``. Targets come from random in-limit poses of the moving joints, so
  they are reachable; every answer is checked with float64 forward kinematics (a "converged"
  answer must meet its tolerances).
* ``frame_loop``: arm reach (hand position) and full body (5 positions, 4 orientations) follow
  smooth targets, warm-started from the previous frame, with ``work_ms`` of numpy matrix
  products between solves (a game's or renderer's work) and back to back, alternating
  blocks of both in one run. Measured once the compiled program is in use.

Speed is never asserted by tests: these figures are printed and written to results.
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

JOINT_SETS = {
    "left arm": ("left_collar", "left_shoulder", "left_elbow", "left_wrist"),
    "both arms": ("left_collar", "left_shoulder", "left_elbow", "left_wrist",
                  "right_collar", "right_shoulder", "right_elbow", "right_wrist"),
    "legs": ("left_hip", "left_knee", "left_ankle", "right_hip", "right_knee", "right_ankle"),
}
# Effectors an edit may constrain, per moving set (their ancestors move).
EFFECTORS = {
    "left arm": ("left_wrist", "left_middle1", "left_elbow"),
    "both arms": ("left_wrist", "left_middle1", "right_wrist", "right_middle1", "left_elbow", "right_elbow"),
    "legs": ("left_ankle", "right_ankle", "left_foot", "right_foot", "left_knee", "right_knee"),
    "all body joints": ("left_middle1", "right_middle1", "left_foot", "right_foot", "head", "left_wrist", "right_wrist"),
}
KINDS = ("Position", "Orientation", "LookAt", "Pin", "PoleVector", "RestPose", "Floor")


def _session(edits: int, seed: int, started: float) -> dict:  # noqa: C901
    """The editing session, in this process (call it in a fresh one: see ``structure_changes``);
    ``started`` is the time (``perf_counter``) before ``import ik_engine``.

    The session keeps a list of 1-8 constraint specifications (kind, joint, priority). After
    each edit, the targets of every target-like constraint are redrawn from a reachable pose a
    third of the way from the current pose to a random in-limit one (as a user drags things
    in an editor); joints that hold a Pin keep their chain (and the root its translation) in
    that pose, so that the edited problem has a solution.
    """
    import ik_engine as ik

    imported = time.perf_counter()
    from ik_engine.benchmarks.scenarios import BODY_JOINTS

    rng = np.random.default_rng(seed)
    skeleton = ik.load_skeleton("smplx")
    joint_sets = dict(JOINT_SETS, **{"all body joints": BODY_JOINTS})
    limb_of = {"left_wrist": "left_elbow", "right_wrist": "right_elbow", "left_middle1": "left_elbow",
               "right_middle1": "right_elbow", "left_ankle": "left_knee", "right_ankle": "right_knee",
               "left_foot": "left_knee", "right_foot": "right_knee"}

    def build(spec, truth: ik.Pose):
        kind, joint, priority = spec
        R, p = skeleton.world_transforms(truth)
        j = skeleton.index(joint)
        if kind == "Position":
            return ik.Position(joint, p[j], priority=priority)
        if kind == "Orientation":
            return ik.Orientation(joint, R[j], priority=priority)
        if kind == "LookAt":  # the joint's own z axis, 1 m ahead in the target pose
            return ik.LookAt(joint, p[j] + R[j] @ np.array([0.0, 0.0, 1.0]), priority=priority)
        if kind == "Pin":
            return ik.Pin(joint, priority=priority)
        if kind == "PoleVector":
            k = skeleton.index(limb_of[joint])
            child = [c for c in range(skeleton.num_joints) if skeleton.parents[c] == k][0]
            bend = p[k] - 0.5 * (p[skeleton.parents[k]] + p[child])
            if np.linalg.norm(bend) < 0.01:  # a straight limb shows no bend direction: reach instead
                return ik.Position(joint, p[j], priority=priority)
            return ik.PoleVector(limb_of[joint], p[k] + 0.5 * bend / np.linalg.norm(bend), priority=priority)
        if kind == "RestPose":
            return ik.RestPose(weight=0.1)
        return ik.Floor(height=float(p[:22, 1].min()) - 0.1, priority=priority)

    def new_spec(joint_set, specs):
        kinds = [k for k in KINDS if k != "RestPose" or all(kind != "RestPose" for kind, _, _ in specs)]
        kind = str(rng.choice(kinds))  # one RestPose at most: a second would only double its weight
        taken = {joint for k, joint, _ in specs if k != "Pin"} | {joint for k, joint, _ in specs if k == "Pin"}
        joint = str(rng.choice(EFFECTORS[joint_set]))
        if kind == "Pin":  # pin a joint nothing else targets
            free = [e for e in EFFECTORS[joint_set] if e not in taken]
            if not free:
                kind, free = "Position", list(EFFECTORS[joint_set])
            joint = str(rng.choice(free))
        if kind == "PoleVector" and joint not in limb_of:
            kind = "Position"
        return (kind, joint, int(rng.integers(0, 2)))

    def target_pose(joint_set, move_root, specs, pose):
        drawn = skeleton.random_pose(rng, joint_sets[joint_set])
        current = skeleton.to_coordinates(pose.rotations)
        coordinates = current + (skeleton.to_coordinates(drawn.rotations) - current) / 3.0
        pinned = [skeleton.index(joint) for kind, joint, _ in specs if kind == "Pin"]
        held = sorted({a for j in pinned for a in skeleton.ancestors[j]})
        coordinates[held] = current[held]
        shift = rng.uniform(-0.1, 0.1, 3) if move_root and not pinned else 0.0
        return ik.Pose(skeleton.from_coordinates(coordinates), pose.translation + shift)

    joint_set, move_root = "left arm", False
    specs = [("Position", "left_middle1", 0)]
    pose = skeleton.rest_pose()
    first = ik.solve(skeleton, [build(s, target_pose(joint_set, move_root, specs, pose)) for s in specs],
                     joints=joint_sets[joint_set], move_root=move_root)
    first_answer = time.perf_counter() - started
    pose = first.pose
    rows = []
    for _ in range(edits):
        action = str(rng.choice(["add", "add", "remove", "priority", "joints", "move_root"]))
        if action == "joints":
            joint_set = str(rng.choice([s for s in joint_sets if s != joint_set]))
            # Constraints on joints the new set cannot move are replaced.
            specs = [sp if sp[1] in EFFECTORS[joint_set] or sp[0] == "RestPose" else new_spec(joint_set, specs) for sp in specs]
        elif action == "move_root":
            move_root = not move_root
        elif action == "priority":
            i = int(rng.integers(len(specs)))
            kind, joint, priority = specs[i]
            specs[i] = (kind, joint, 1 - min(priority, 1))
        elif action == "remove" and len(specs) > 1:
            for _ in range(int(rng.integers(1, len(specs)))):
                specs.pop(int(rng.integers(len(specs))))
        elif action == "add" or action == "remove":
            action = "add"
            if len(specs) == 8:  # full: one constraint makes way for the new one
                specs.pop(int(rng.integers(len(specs))))
            for _ in range(int(rng.integers(1, 9 - len(specs)))):
                specs.append(new_spec(joint_set, specs))
        if not any(kind in ("Position", "Orientation", "LookAt") for kind, _, _ in specs):
            specs.append(("Position", str(rng.choice(EFFECTORS[joint_set])), 0))
            specs = specs[-8:]
        truth = target_pose(joint_set, move_root, specs, pose)
        constraints = [build(s, truth) for s in specs]
        kinds = [kind for kind, _, _ in specs]
        start = time.perf_counter()
        try:
            result = ik.solve(skeleton, constraints, init=pose, joints=joint_sets[joint_set], move_root=move_root)
        except ik.IKError as exc:
            rows.append({"edit": action, "joints": joint_set, "constraints": kinds, "error": str(exc)})
            continue
        seconds = time.perf_counter() - start
        pose = result.pose
        met = _met_by_float64(skeleton, constraints, result)
        rows.append({"edit": action, "joints": joint_set, "move_root": move_root, "constraints": kinds,
                     "seconds": seconds, "converged": bool(result.converged), "met_float64": met,
                     "iterations": int(result.iterations), "violation": float(skeleton.limit_violation(pose))})
    return {"import_seconds": imported - started, "first_answer_seconds": first_answer, "edits": rows}


def _met_by_float64(skeleton, constraints, result) -> bool:
    """Every Position and Orientation target within 1 mm / 1 degree by float64 FK (the other
    kinds are judged by the solver's own per-constraint errors)."""
    import ik_engine as ik
    from ik_engine.benchmarks.safety_checks import target_errors

    for c, measured, error in zip(constraints, target_errors(skeleton, constraints, result.pose), result.errors):
        if isinstance(c, ik.Position) and measured > 1e-3:
            return False
        if isinstance(c, ik.Orientation) and measured > np.radians(1.0):
            return False
        if measured is None and c.tolerance_kind is not None and error > 1e-3:
            return False
    return True


def structure_changes(edits: int = 40, seed: int = 0) -> dict:
    """The editing session in a fresh process with an empty compile cache."""
    environment = dict(os.environ, IK_ENGINE_COMPILE_CACHE="0")
    code = ("import time; started = time.perf_counter(); import json; from ik_engine.benchmarks.realtime import _session; "
            f"print(json.dumps(_session({edits}, {seed}, started)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"the editing session failed: {out.stderr[-2000:]}")
    session = json.loads(out.stdout.strip().splitlines()[-1])
    firsts = first_answers(seed=seed)
    solved = [r for r in session["edits"] if "seconds" in r]
    times = np.array([r["seconds"] for r in solved]) * 1e3
    return {
        "import_s": session["import_seconds"],
        "first_answer_s": session["first_answer_seconds"],
        "edits": len(session["edits"]),
        "solved": len(solved),
        "refused": [r["error"] for r in session["edits"] if "error" in r],
        "median_ms": float(np.median(times)), "p95_ms": float(np.percentile(times, 95)), "max_ms": float(times.max()),
        "converged": sum(r["converged"] for r in solved),
        "converged_median_ms": float(np.median([r["seconds"] * 1e3 for r in solved if r["converged"]] or [np.nan])),
        "iterations_median": float(np.median([r["iterations"] for r in solved])),
        "converged_but_not_met": sum(r["converged"] and not r["met_float64"] for r in solved),
        "max_violation_rad": max(r["violation"] for r in solved),
        "rows": session["edits"],
        **firsts,
    }


FIRST_ANSWER_SNIPPET = """
import time
started = time.perf_counter()
import ik_engine as ik
imported = time.perf_counter()
from ik_engine.benchmarks import scenarios
skeleton = ik.load_skeleton("smplx")
case = scenarios.{case}(skeleton, 1, seed={seed})
result = ik.solve(skeleton, case.constraints(0), joints=case.moving, move_root=case.move_root)
done = time.perf_counter()
error, angle = case.errors(skeleton, 0, result.pose)
print(imported - started, done - started, int(result.converged), error, angle)
"""


def first_answers(repeats: int = 3, seed: int = 0) -> dict:
    """From a fresh process's ``import ik_engine`` to the first returned result, default
    settings, empty compile cache: arm reach and full body (the benchmark scenarios' first
    target, cold start at rest); medians over ``repeats`` processes."""
    environment = dict(os.environ, IK_ENGINE_COMPILE_CACHE="0")
    out = {}
    for case in ("arm_reach", "full_body"):
        runs = []
        for r in range(repeats):
            code = FIRST_ANSWER_SNIPPET.format(case=case, seed=seed + r)
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=600)
            if done.returncode != 0:
                raise RuntimeError(f"the first-answer process failed: {done.stderr[-2000:]}")
            runs.append([float(v) for v in done.stdout.split()[-5:]])
        runs = np.array(runs)
        out[f"{case}_import_s"] = float(np.median(runs[:, 0]))
        out[f"{case}_first_answer_s"] = float(np.median(runs[:, 1]))
        out[f"{case}_first_answer_max_s"] = float(runs[:, 1].max())
        out[f"{case}_converged"] = int(runs[:, 2].sum())
        out[f"{case}_met_1mm_1deg"] = int(np.sum((runs[:, 3] <= 1e-3) & (runs[:, 4] <= np.radians(1.0))))
        out["repeats"] = repeats
    return out


def _busy_work(seconds: float, A: np.ndarray) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        A @ A


def frame_loop(frames: int = 300, work_ms: float = 2.0, seed: int = 0) -> dict:
    """Arm reach and full body following smooth targets, with and without work between frames."""
    import ik_engine as ik
    from ik_engine.benchmarks.scenarios import ARM_JOINTS, BODY_JOINTS, FULL_BODY_FRAMES, FULL_BODY_POINTS, HAND_POINT

    skeleton = ik.load_skeleton("smplx")
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((120, 120))
    out = {"work_ms": work_ms, "frames": frames}
    cases = {
        "arm_reach": (ARM_JOINTS, False, [HAND_POINT], []),
        "full_body": (BODY_JOINTS, True, list(FULL_BODY_POINTS), list(FULL_BODY_FRAMES)),
    }
    for name, (joints, move_root, points, frames_of) in cases.items():
        solver = ik.IKSolver(skeleton, joints=joints, move_root=move_root)
        # A smooth motion: joint coordinates along slow sines between two random poses.
        a, b = skeleton.random_pose(rng, joints), skeleton.random_pose(rng, joints)
        ca, cb = skeleton.to_coordinates(a.rotations), skeleton.to_coordinates(b.rotations)

        def targets(t):
            s = 0.5 - 0.5 * np.cos(2 * np.pi * t / 240)
            pose = ik.Pose(skeleton.from_coordinates(ca + s * (cb - ca)), np.array([0.1 * s, 0, 0]))
            R, p = skeleton.world_transforms(pose)
            return ([ik.Position(j, p[skeleton.index(j)]) for j in points]
                    + [ik.Orientation(j, R[skeleton.index(j)]) for j in frames_of])

        pose = skeleton.rest_pose()
        solver.compile(targets(0))  # steady state: the compiled program (compile time is measured apart)
        pose = solver.solve(targets(0), init=pose).pose
        times = {"between": [], "back_to_back": []}
        block = 20
        for t in range(frames):
            mode = "between" if (t // block) % 2 == 0 else "back_to_back"
            constraints = targets(t)
            if mode == "between":
                _busy_work(work_ms / 1e3, A)
            start = time.perf_counter()
            result = solver.solve(constraints, init=pose)
            times[mode].append(time.perf_counter() - start)
            pose = result.pose
        for mode, values in times.items():
            ms = np.array(values) * 1e3
            out[f"{name}_{mode}_median_ms"] = float(np.median(ms))
            out[f"{name}_{mode}_p95_ms"] = float(np.percentile(ms, 95))
        out[f"{name}_compilations"] = solver.compilations
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edits", type=int, default=40)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--work-ms", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="folder for realtime.json (nothing written without it)")
    args = parser.parse_args(argv)
    results = {"structure_changes": structure_changes(args.edits, args.seed),
               "frame_loop": frame_loop(args.frames, args.work_ms, args.seed)}
    s = results["structure_changes"]
    print(f"structure_changes: import {s['import_s']:.2f} s, first answer {s['first_answer_s']:.2f} s; "
          f"{s['solved']} edits: median {s['median_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms, max {s['max_ms']:.1f} ms; "
          f"{s['converged']} converged (median {s['converged_median_ms']:.1f} ms), converged but not met {s['converged_but_not_met']}, "
          f"max violation {s['max_violation_rad']:.2e} rad")
    print(f"first answer (fresh process, empty cache, median of {s['repeats']}): arm reach {s['arm_reach_first_answer_s']:.2f} s "
          f"(max {s['arm_reach_first_answer_max_s']:.2f}), full body {s['full_body_first_answer_s']:.2f} s "
          f"(max {s['full_body_first_answer_max_s']:.2f}); import {s['arm_reach_import_s']:.2f} s; met within 1 mm/1 deg: "
          f"{s['arm_reach_met_1mm_1deg']}/{s['repeats']} arm, {s['full_body_met_1mm_1deg']}/{s['repeats']} body")
    f = results["frame_loop"]
    for name in ("arm_reach", "full_body"):
        print(f"frame_loop {name}: {f['work_ms']} ms work between: median {f[name + '_between_median_ms']:.3f} ms, "
              f"p95 {f[name + '_between_p95_ms']:.3f} ms; back to back: median {f[name + '_back_to_back_median_ms']:.3f} ms, "
              f"p95 {f[name + '_back_to_back_p95_ms']:.3f} ms; compilations {f[name + '_compilations']}")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "realtime.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
