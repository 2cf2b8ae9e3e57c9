"""Long sessions: a soak of many frames, and a process that meets thousands of structures.

    python -m ik_engine.benchmarks.long_session soak [--frames 100000] [--out DIR]
    python -m ik_engine.benchmarks.long_session structures [--count 2000] [--compiled 150] [--out DIR]

* ``soak``: an animation loop (both hands follow smooth targets at level 1, feet held by
  ``Position`` targets at level 0, warm start, default settings): time per frame in the first
  and last 10 %, resident memory at the start, middle and end, compilations, NaN, limit
  violations, unconverged frames, the hands' largest error by float64 FK.
* ``structures``: ``count`` distinct constraint structures (kinds, counts, priorities, joint
  sets, move_root; one in 50 a ``solve_batch`` of a new batch size from 70 to 1500 problems,
  which compiles: batches of more than 32 share one program per power of two) through
  ``ik.solve`` in one process that has already compiled one batch program (JAX imported),
  resident memory after 20, 200, 1000 and 2000; then ``compiled`` more structures each compiled
  (``compilation="blocking"``, one solver: its least recently used programs are dropped past
  ``MAX_COMPILED``); resident memory along the way. Before the interpreter and the bounded
  caches, processes died after about 180 compiled structures (``LLVM ERROR: Unable to
  allocate section memory``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import ik_engine as ik


def resident_mib() -> float:
    """This process's resident memory, MiB (Linux /proc; NaN elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def soak(frames: int, period: int = 2000) -> dict:
    """The hands follow a smooth upper-body motion (benchmarks/motion.py; reachable by
    construction) of ``period`` frames played forward and back, so the loop is seamless."""
    from ik_engine.benchmarks.motion import smooth_upper_body_motion

    skeleton = ik.load_skeleton("smplx")
    body = skeleton.joint_names[:22]
    solver = ik.IKSolver(skeleton, joints=body, move_root=True)
    rest = skeleton.rest_positions()
    hands = [skeleton.index(j) for j in ("left_middle1", "right_middle1")]
    feet = [ik.Position(j, rest[skeleton.index(j)]) for j in ("left_foot", "right_foot", "left_ankle", "right_ankle")]
    motion = smooth_upper_body_motion(skeleton, period, seed=7)
    hand_tracks = np.stack([skeleton.world_positions(ik.Pose(r))[hands] for r in motion])  # (period, 2, 3)
    pose = ik.Pose(motion[0])
    times = np.empty(frames)
    memory, worst, unconverged, violations, nans = {}, 0.0, 0, 0, 0
    for t in range(frames):
        if t in (0, frames // 2, frames - 1):
            memory[{0: "start", frames // 2: "middle", frames - 1: "end"}[t]] = resident_mib()
        k = t % (2 * period)
        targets = hand_tracks[k if k < period else 2 * period - 1 - k]
        constraints = feet + [ik.Position(j, targets[i], priority=1) for i, j in enumerate(("left_middle1", "right_middle1"))]
        start = time.perf_counter()
        result = solver.solve(constraints, init=pose)
        times[t] = time.perf_counter() - start
        pose = result.pose
        if not (np.isfinite(pose.rotations).all() and np.isfinite(pose.translation).all()):
            nans += 1
        if t % 100 == 0:  # float64 checks on a sample of frames (they cost more than a solve)
            violations += skeleton.limit_violation(pose) > 0
            p = skeleton.world_positions(pose)
            worst = max(worst, float(np.linalg.norm(p[hands] - targets, axis=1).max()))
        unconverged += not result.converged
    tenth = max(1, frames // 10)
    return {
        "frames": frames,
        "first_10pct_median_ms": float(np.median(times[:tenth]) * 1e3),
        "last_10pct_median_ms": float(np.median(times[-tenth:]) * 1e3),
        "median_ms": float(np.median(times) * 1e3), "p95_ms": float(np.percentile(times, 95) * 1e3),
        "resident_mib": memory, "compilations": solver.compilations, "nan_frames": nans,
        "limit_violations_sampled": int(violations), "unconverged_frames": unconverged,
        "hands_worst_error_m_sampled": worst,
    }


def structures(count: int, compiled: int, seed: int) -> dict:
    from ik_engine.benchmarks.fuzz import plausible_problem

    skeleton = ik.load_skeleton("smplx")
    rng = np.random.default_rng(seed)
    memory, died_at = {"start": resident_mib()}, None
    batches = 0
    arm = ik.IKSolver(skeleton, joints=["left_collar", "left_shoulder", "left_elbow", "left_wrist"])
    hand = skeleton.rest_positions()[skeleton.index("left_middle1")]
    # The session starts as one that has compiled something: JAX imported (about 160 MiB) and
    # one batch program compiled, so that the figures compare what solving more structures
    # adds, not the import.
    arm.solve_batch([ik.Position("left_middle1", np.tile(hand, (33, 1)))])
    memory["after the first compiled program"] = resident_mib()
    started = time.perf_counter()
    for n in range(1, count + 1):
        settings, constraints, init = plausible_problem(rng, skeleton)
        try:
            if n % 50 == 0:  # a new batch size (33 to about 1500 problems): compiled at once
                batches += 1
                B = 33 + 37 * batches
                arm.solve_batch([ik.Position("left_middle1", np.tile(hand, (B, 1)))])
            else:
                ik.solve(skeleton, constraints, init=init, **settings)
        except ik.IKError:
            pass
        if n in (20, 200, count // 2, count):
            memory[f"after {n} structures"] = resident_mib()
    interpreted_seconds = time.perf_counter() - started
    solver = ik.IKSolver(skeleton, joints=skeleton.joint_names[:22], move_root=True, compilation="blocking")
    rest = skeleton.rest_positions()
    names = ("left_middle1", "right_middle1", "head", "left_foot", "right_foot", "left_wrist", "right_wrist")
    for n in range(1, compiled + 1):
        # Distinct structures: which effectors, and their priorities (bits of n).
        chosen = [j for k, j in enumerate(names) if (n >> k) & 1] or ["head"]
        constraints = [ik.Position(j, rest[skeleton.index(j)], priority=(n >> (k + 3)) & 1) for k, j in enumerate(chosen)]
        solver.solve(constraints)
        if n in (50, compiled // 2, compiled):
            memory[f"after {n} compiled structures"] = resident_mib()
    ratio = memory.get(f"after {count} structures", np.nan) / memory.get("after 200 structures", np.nan)
    return {"count": count, "batch_sizes_compiled": batches, "compiled_structures": compiled,
            "resident_ratio_2000_to_200": ratio if count == 2000 else None,
            "compilations_of_the_compiling_solver": solver.compilations, "interpreted_part_s": interpreted_seconds,
            "seconds": time.perf_counter() - started, "resident_mib": memory, "died_at": died_at}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["soak", "structures"])
    parser.add_argument("--frames", type=int, default=100000)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--compiled", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="folder for long_session_<what>.json (nothing written without it)")
    args = parser.parse_args(argv)
    results = soak(args.frames) if args.what == "soak" else structures(args.count, args.compiled, args.seed)
    print(json.dumps(results, indent=1))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"long_session_{args.what}.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
