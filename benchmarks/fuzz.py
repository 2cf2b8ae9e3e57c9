"""A long fuzz of the public API: plausible problems and bad input, counted.

    python -m ik_engine.benchmarks.fuzz [--calls 10000] [--seed 0] [--out DIR]

Roughly 60 % of the calls solve random but plausible problems (random joint sets, 1-6
constraints of Position, Orientation, LookAt, Pin, Floor, RestPose, priorities, weights over
12 orders of magnitude, reachable and unreachable targets, starts in and out of the limits,
the character up to 1,000 km from the origin), each checked with float64 forward kinematics:
no NaN, no pose outside the limits, no ``converged=True`` that misses its tolerance. The
other 40 % are bad input (NaN and infinite values, wrong shapes and types, absurd magnitudes,
unknown joints, bad settings, malformed BVH files): each must raise an ``ik.IKError`` (a clear,
typed error) or be accepted as valid; anything else (a crash from inside numpy or JAX, an
internal "please report" error) is counted as a defect. Writes ``fuzz.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

import ik_engine as ik
from ik_engine.benchmarks.safety_checks import target_errors

ARM = ("left_collar", "left_shoulder", "left_elbow", "left_wrist")
JOINT_SETS = (
    (ARM, ("left_wrist", "left_middle1", "left_elbow")),
    (("pelvis", "spine1", "spine2", "spine3", "neck", "head"), ("spine3", "neck", "head")),
    (("left_hip", "left_knee", "left_ankle"), ("left_ankle", "left_foot")),
)
BODY = None  # the 22 body joints, set from the skeleton
TOLERANCE = 1e-4  # the solver's default position tolerance, metres
ORIENTATION_TOLERANCE = 1e-3  # radians


def plausible_problem(rng: np.random.Generator, skeleton: ik.Skeleton):
    """(solver settings dict, constraints, init pose or None): a random plausible problem."""
    body = tuple(skeleton.joint_names[:22])
    sets = JOINT_SETS + ((body, ("left_middle1", "right_middle1", "head", "left_foot")),)
    joints, effectors = sets[int(rng.integers(len(sets)))]
    move_root = bool(rng.integers(2))
    far = 0.0 if rng.random() < 0.8 else float(10.0 ** rng.uniform(3, 6))  # metres from the origin
    offset = np.array([far, 0.0, -0.5 * far])
    truth = skeleton.random_pose(rng, joints)
    truth = ik.Pose(truth.rotations, offset + (rng.uniform(-0.2, 0.2, 3) if move_root else 0.0))
    R, p = skeleton.world_transforms(truth)
    constraints = []
    for _ in range(int(rng.integers(1, 7))):
        joint = str(rng.choice(effectors))
        k = skeleton.index(joint)
        kind = int(rng.integers(6))
        priority = int(rng.integers(0, 3))
        weight = float(10.0 ** rng.uniform(-6, 6))
        unreachable = rng.random() < 0.2
        if kind == 0:
            target = p[k] + (rng.normal(0.0, 2.0, 3) if unreachable else 0.0)
            constraints.append(ik.Position(joint, target, weight=weight, priority=priority))
        elif kind == 1:
            constraints.append(ik.Orientation(joint, R[k], weight=weight, priority=priority))
        elif kind == 2:
            constraints.append(ik.LookAt(joint, p[k] + R[k] @ np.array([0.0, 0.0, 1.0]), weight=weight, priority=priority))
        elif kind == 3:
            constraints.append(ik.Pin(joint, rotation=bool(rng.integers(2)), weight=weight, priority=priority))
        elif kind == 4:
            constraints.append(ik.Floor(height=float(offset[1] + rng.uniform(-0.5, 0.05)), weight=weight, priority=priority))
        else:
            constraints.append(ik.RestPose(weight=weight))
    init = None
    if rng.random() < 0.7:
        start = skeleton.random_pose(rng, joints)
        scale = 3.0 if rng.random() < 0.3 else 1.0  # sometimes out of the limits: clipped into them
        init = ik.Pose(start.rotations * scale, offset)
    settings = {"joints": joints, "move_root": move_root}
    return settings, constraints, init


def check_result(skeleton: ik.Skeleton, constraints, result) -> list[str]:
    """What is wrong with a result, by float64 forward kinematics (empty: nothing)."""
    wrong = []
    if not (np.isfinite(result.pose.rotations).all() and np.isfinite(result.pose.translation).all()
            and np.isfinite(result.errors).all()):
        return ["nan"]
    if skeleton.limit_violation(result.pose) > 0:
        wrong.append("limit violation")
    if result.converged:
        for i, (c, measured) in enumerate(zip(constraints, target_errors(skeleton, constraints, result.pose))):
            if i in result.ignored or measured is None:
                continue
            tolerance = TOLERANCE if isinstance(c, ik.Position) else ORIENTATION_TOLERANCE
            if measured > 1.1 * tolerance:
                wrong.append("converged but not met")
    return wrong


def _bad_bvh(rng: np.random.Generator, folder: Path) -> Path:
    text = ("HIERARCHY\nROOT hips\n{\n OFFSET 0 0 0\n CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n"
            " JOINT knee\n {\n  OFFSET 0 -1 0\n  CHANNELS 3 Zrotation Xrotation Yrotation\n  End Site\n  {\n   OFFSET 0 -1 0\n  }\n"
            " }\n}\nMOTION\nFrames: 2\nFrame Time: 0.1\n0 1 0 0 0 0 10 0 0\n0 1 0 0 5 0 20 0 0\n")
    mutation = int(rng.integers(6))
    if mutation == 0:
        text = text[: int(rng.integers(1, len(text) - 5))]  # truncated
    elif mutation == 1:
        text = text.replace("CHANNELS 3", "CHANNELS 4")  # wrong channel count
    elif mutation == 2:
        text = text.replace("10 0 0", "10 zero 0")  # non-numeric
    elif mutation == 3:
        text = text[:40] + "\x00\x01\x02" + text[40:]  # binary
    elif mutation == 4:
        text = ""  # empty
    else:
        text = text[: text.index("MOTION")]  # no MOTION
    path = folder / f"bad{mutation}.bvh"
    path.write_text(text, encoding="latin-1")
    return path


def bad_call(rng: np.random.Generator, skeleton: ik.Skeleton, folder: Path):
    """(kind, a callable making one bad call)."""
    target = [0.45, 1.35, 0.35]
    solver = lambda **kw: ik.IKSolver(skeleton, joints=ARM, compilation="never", **kw)
    calls = {
        "nan target": lambda: solver().solve([ik.Position("left_middle1", [np.nan, 1.0, 0.0])]),
        "inf weight": lambda: ik.Position("left_middle1", target, weight=np.inf),
        "huge target": lambda: ik.Position("left_middle1", [1e39, 0, 0]),
        "huge offset": lambda: ik.Position("left_middle1", target, offset=[0, 0, 1e300]),
        "huge floor": lambda: ik.Floor(height=-1e300),
        "huge sphere": lambda: ik.Avoid([ik.Sphere([1e30, 0, 0], 0.1)]),
        "huge margin": lambda: ik.SelfCollision(margin=1e39),
        "wrong target shape": lambda: ik.Position("left_middle1", [1.0, 2.0]),
        "string target": lambda: ik.Position("left_middle1", "up"),
        "unknown joint": lambda: solver().solve([ik.Position("left_midle1", target)]),
        "negative priority": lambda: ik.Position("left_middle1", target, priority=-1),
        "float priority": lambda: ik.Position("left_middle1", target, priority=0.5),
        "string tolerance": lambda: solver(position_tolerance="0.1"),
        "negative tolerance": lambda: solver(orientation_tolerance=-1.0),
        "string move_root": lambda: ik.IKSolver(skeleton, ARM, "yes"),
        "no constraints": lambda: solver().solve([]),
        "not a constraint": lambda: solver().solve([object()]),
        "none skeleton": lambda: ik.solve(None, [ik.Position("left_middle1", target)]),
        "init wrong shape": lambda: solver().solve([ik.Position("left_middle1", target)], init=ik.Pose(np.zeros((24, 3)))),
        "init huge translation": lambda: ik.IKSolver(skeleton, joints=ARM, move_root=True, compilation="never").solve(
            [ik.Position("left_middle1", target)], init=ik.Pose(np.zeros((55, 3)), [1e39, 0, 0])),
        "init huge rotation": lambda: solver().solve([ik.Position("left_middle1", target)], init=ik.Pose(np.full((55, 3), 1e10))),
        "not rotation matrices": lambda: ik.Pose.from_matrices(np.ones((55, 3, 3))),
        "bad rest weights": lambda: ik.RestPose(weights="uniform"),
        "none frames": lambda: solver().solve_sequence(None),
        "none bvh": lambda: ik.load_bvh(None),
        "malformed bvh": lambda: ik.load_bvh(_bad_bvh(rng, folder)),
        "joints as a string": lambda: ik.IKSolver(skeleton, joints="left_elbow"),
    }
    kind = str(rng.choice(sorted(calls)))
    return kind, calls[kind]


def run(calls: int, seed: int) -> dict:
    skeleton = ik.load_skeleton("smplx")
    rng = np.random.default_rng(seed)
    counts: Counter = Counter()
    errors_by_kind: Counter = Counter()
    accepted_by_kind: Counter = Counter()
    defects: list[str] = []
    slowest = 0.0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ik-engine-fuzz-") as folder:
        for call in range(calls):
            start = time.perf_counter()
            if rng.random() < 0.6:
                settings, constraints, init = plausible_problem(rng, skeleton)
                try:
                    result = ik.solve(skeleton, constraints, init=init, **settings)
                except ik.SolverError as exc:
                    if "please report" in str(exc):
                        defects.append(f"call {call}: internal error: {exc}")
                    counts["plausible refused"] += 1
                    errors_by_kind[f"plausible: {type(exc).__name__}"] += 1
                except ik.IKError as exc:
                    counts["plausible refused"] += 1
                    errors_by_kind[f"plausible: {type(exc).__name__}"] += 1
                except Exception as exc:  # a defect: not a clear error
                    defects.append(f"call {call}: {type(exc).__name__}: {exc}")
                else:
                    counts["plausible solved"] += 1
                    counts["converged"] += bool(result.converged)
                    for problem in check_result(skeleton, constraints, result):
                        counts[problem] += 1
                        defects.append(f"call {call}: {problem}")
            else:
                kind, make = bad_call(rng, skeleton, Path(folder))
                try:
                    make()
                except ik.IKError as exc:
                    counts["bad: clear error"] += 1
                    errors_by_kind[f"{kind}: {type(exc).__name__}"] += 1
                    if "please report" in str(exc):
                        defects.append(f"call {call}: internal error for {kind}: {exc}")
                except Exception as exc:
                    defects.append(f"call {call}: {kind}: {type(exc).__name__}: {exc}")
                else:
                    counts["bad: accepted"] += 1
                    accepted_by_kind[kind] += 1
            slowest = max(slowest, time.perf_counter() - start)
    return {
        "calls": calls, "seed": seed, "seconds": time.perf_counter() - started, "slowest_call_s": slowest,
        "counts": dict(counts), "clear_errors_by_kind": dict(errors_by_kind), "accepted_by_kind": dict(accepted_by_kind),
        "defects": defects[:100], "defect_count": len(defects),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="folder for fuzz.json (nothing written without it)")
    args = parser.parse_args(argv)
    results = run(args.calls, args.seed)
    print(json.dumps({k: v for k, v in results.items() if k != "defects"}, indent=1))
    for defect in results["defects"][:20]:
        print("defect:", defect)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "fuzz.json").write_text(json.dumps(results, indent=1))
    return 0 if results["defect_count"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
