"""The ``ik-engine`` command.

    ik-engine demo [--frames N] [--out FILE.png]   solve a hand following a moving target
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def demo(frames: int, out: str) -> int:
    """A left hand traces a loop in front of the body; the arm solves each frame, warm-started."""
    import ik_engine as ik
    from ik_engine.drawing import draw_poses

    skel = ik.load_skeleton("smplx")
    moving = ["left_collar", "left_shoulder", "left_elbow", "left_wrist"]
    solver = ik.IKSolver(skel, joints=moving)
    rest = skel.rest_positions()
    shoulder = rest[skel.index("left_shoulder")]
    centre = shoulder + np.array([0.12, -0.05, 0.36])
    angles = np.linspace(0.0, 2.0 * np.pi, frames)
    targets = centre + 0.13 * np.stack([np.cos(angles), np.sin(angles), 0.3 * np.sin(2 * angles)], axis=1)

    pose = skel.rest_pose()
    t0 = time.perf_counter()
    result = solver.solve([ik.Position("left_middle1", targets[0])], init=pose)
    first = time.perf_counter() - t0
    poses, times, errors = [], [], []
    for target in targets:
        t0 = time.perf_counter()
        result = solver.solve([ik.Position("left_middle1", target)], init=pose)
        times.append(time.perf_counter() - t0)
        pose = result.pose
        poses.append(pose)
        errors.append(result.position_error)
    shown = poses[:: max(1, frames // 8)]
    draw_poses(skel, shown, out, targets=targets, title=f"ik-engine demo: left hand follows a loop ({frames} frames, warm start)")
    times_ms = np.array(times) * 1e3
    print(f"skeleton: {skel.name}, {skel.num_joints} joints; moving: {', '.join(moving)}")
    print(f"first solve (compilation included): {first * 1e3:.0f} ms")
    print(f"{frames} frames: median {np.median(times_ms):.3f} ms, p95 {np.percentile(times_ms, 95):.3f} ms per solve")
    print(f"max position error {max(errors) * 1e3:.3f} mm; all converged: {all(e <= solver.position_tolerance for e in errors)}; "
          f"limit violations: {sum(skel.limit_violation(p) > 0 for p in poses)}; compilations: {solver.compilations}")
    print(f"wrote {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ik-engine", description="Real-time inverse kinematics for articulated characters.")
    commands = parser.add_subparsers(dest="command", required=True)
    p_demo = commands.add_parser("demo", help="solve a hand following a moving target and draw the poses")
    p_demo.add_argument("--frames", type=int, default=120, help="animation frames (default 120)")
    p_demo.add_argument("--out", default="ik-engine-demo.png", help="PNG to write (default ik-engine-demo.png)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.frames < 1:
            parser.error("--frames must be >= 1")
        return demo(args.frames, args.out)
    return 2


if __name__ == "__main__":
    sys.exit(main())
