"""Mocap tracking of the CMU clips: on the default SMPL-X skeleton (retargeted) and on each
clip's own skeleton.

    python benchmarks/tracking_benchmark.py [clips ...] [--out benchmarks/results]

Figures per clip: mean effector error (after limb scaling), how many times faster than real
time the solving was (clip duration / solve time, compilation measured apart), limit
violations (> 1e-4 rad) of the SMPL-X poses.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import ik_engine as ik
from ik_engine.benchmarks.machine import machine_info
from ik_engine.tracking import effector_tracks, track

from ik_engine.skeletons.bvh import CMU_UNIT as CMU_SCALE


def run(clip: Path) -> dict:
    source, motion = ik.load_bvh(clip, scale=CMU_SCALE)
    skel = ik.load_skeleton("smplx")
    # Blocking compilation: the figures are the compiled solver's, its compile measured apart
    # (the default interprets the first frames while it compiles: docs/compilation.md).
    retargeted = track(skel, effector_tracks(source, motion, skel), motion.fps, compilation="blocking")
    positions = motion.world_positions(source)
    leaves = [n for j, n in enumerate(source.joint_names) if j == 0 or j not in source.parents]
    own = track(source, {n: positions[:, source.index(n)] for n in leaves}, motion.fps, effectors=leaves, guides=(),
                compilation="blocking")
    return {
        "frames": len(motion),
        "fps": motion.fps,
        "smplx": {
            "mean_effector_error_mm": retargeted.mean_error * 1e3,
            "times_real_time": retargeted.speed,
            "solve_seconds": retargeted.solve_seconds,
            "compile_seconds": retargeted.compile_seconds,
            "limit_violations": int(sum(skel.limit_violation(p) > 1e-4 for p in retargeted.motion)),
        },
        "own_skeleton": {
            "joints": source.num_joints,
            "effectors": len(leaves),
            "mean_effector_error_mm": own.mean_error * 1e3,
            "times_real_time": own.speed,
            "solve_seconds": own.solve_seconds,
            "compile_seconds": own.compile_seconds,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = sorted((Path(__file__).resolve().parent.parent / "tests" / "data" / "cmu").glob("*.bvh"))
    parser.add_argument("clips", nargs="*", type=Path, default=default)
    parser.add_argument("--out", default="tracking-benchmark-results", help="folder for the results (default: ./tracking-benchmark-results; the committed ones are in benchmarks/results/, changed only on purpose with --out)")
    args = parser.parse_args(argv)
    machine = machine_info()
    results = {clip.name: run(clip) for clip in args.clips}
    lines = [
        "# Mocap tracking (CMU clips, frame by frame in compiled chunks)", "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores; " + ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
        + f"; commit {machine['git_commit']}", "",
        "| clip | frames | SMPL-X: mean effector error | x real time | limit violations | own skeleton: mean effector error | x real time |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in results.items():
        s, o = r["smplx"], r["own_skeleton"]
        lines.append(f"| {name} | {r['frames']} | {s['mean_effector_error_mm']:.2f} mm | {s['times_real_time']:.1f} | "
                     f"{s['limit_violations']} | {o['mean_effector_error_mm']:.2f} mm | {o['times_real_time']:.1f} |")
    table = "\n".join(lines) + "\n"
    print(table)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tracking_benchmark.json").write_text(json.dumps({"machine": machine, "results": results}, indent=1))
    (out / "tracking_benchmark.md").write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
