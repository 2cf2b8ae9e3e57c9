"""A frame loop: hands and head follow moving targets while the feet stay planted.

    python examples/frame_loop.py [--frames 300] [--out frame_loop.png]

Each frame calls ``solver.solve(constraints, init=previous_pose)``: the compiled program is
reused (no recompilation), the previous answer is the warm start, and a Smoothness
regulariser at the lowest priority keeps the redundant joints from jittering.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import ik_engine as ik
from ik_engine.drawing import draw_poses

BODY = ik.load_skeleton("smplx").joint_names[:22]  # pelvis .. right_wrist


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--out", default="frame_loop.png")
    args = parser.parse_args()

    skel = ik.load_skeleton("smplx")
    solver = ik.IKSolver(skel, joints=BODY, move_root=True)
    rest = skel.rest_positions()
    feet = {j: rest[skel.index(j)] for j in ("left_foot", "right_foot", "left_ankle", "right_ankle")}
    chest = rest[skel.index("spine3")]

    pose = skel.rest_pose()
    poses, times = [], []
    for frame in range(args.frames):
        phase = 2 * np.pi * frame / 120.0  # a 4-second cycle at 30 fps
        left = chest + [0.35 + 0.1 * np.cos(phase), 0.15 * np.sin(phase), 0.35]
        right = chest + [-0.35, 0.2 + 0.15 * np.sin(2 * phase), 0.3 + 0.1 * np.cos(phase)]
        head = rest[skel.index("head")] + [0.05 * np.sin(phase), -0.03, 0.05]
        constraints = [ik.Position(j, p, priority=0) for j, p in feet.items()]  # feet: never give way
        constraints += [
            ik.Position("left_middle1", left, priority=1),
            ik.Position("right_middle1", right, priority=1),
            ik.Position("head", head, priority=1),
            ik.Smoothness(pose),  # lowest priority by default
        ]
        t0 = time.perf_counter()
        result = solver.solve(constraints, init=pose)
        times.append(time.perf_counter() - t0)
        pose = result.pose
        poses.append(pose)

    ms = np.array(times[1:]) * 1e3  # frame 0 compiles
    print(f"{args.frames} frames: first {times[0]:.2f} s (compilation), then median {np.median(ms):.2f} ms, "
          f"p95 {np.percentile(ms, 95):.2f} ms per frame; compilations: {solver.compilations}")
    draw_poses(skel, poses[:: max(1, args.frames // 6)], args.out, title="frame loop: feet planted, hands and head follow")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
