"""Draw every limb of the default SMPL-X skeleton at its joint limits (a PNG grid).

    python scripts/draw_joint_limits.py [--out docs/images/joint_limits.png]

Each row is one joint; each column one end of one axis' range (x-, x+, y-, y+, z-, z+).
Only that joint is rotated; the rest pose is drawn faintly behind. The view is chosen so
that the rotation is seen edge-on (x: side view, y: top view, z: front view).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from matplotlib.ticker import MultipleLocator

import ik_engine as ik
from ik_engine.drawing import VIEWS, draw_skeleton, new_figure, style_axes

JOINTS = [
    "spine1", "spine3", "neck", "head", "jaw", "left_eye_smplhf",
    "left_collar", "left_shoulder", "left_elbow", "left_wrist",
    "left_index1", "left_index2", "left_thumb1",
    "left_hip", "left_knee", "left_ankle", "left_foot",
]
AXIS_VIEW = {0: "side", 1: "top", 2: "front"}


def descendants(skel: ik.Skeleton, joint: int) -> list[int]:
    return [j for j in range(skel.num_joints) if joint in skel.ancestors[j]]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="joint_limits.png", help="PNG to write (default ./joint_limits.png; the README's is docs/images/joint_limits.png)")
    parser.add_argument("--joints", nargs="+", default=JOINTS, help="joints to draw (default: one of each kind)")
    parser.add_argument("--dpi", type=int, default=110)
    args = parser.parse_args(argv)
    joints = args.joints
    skel = ik.load_skeleton("smplx")
    rest = skel.rest_positions()
    figure = new_figure(6, len(joints), size=1.9)
    for row, name in enumerate(joints):
        j = skel.index(name)
        limb = descendants(skel, j) + [j, max(skel.parents[j], 0)]
        for axis in range(3):
            view = AXIS_VIEW[axis]
            for side, bound in enumerate((skel.lower, skel.upper)):
                angle = bound[j, axis]
                rotation = np.zeros(3)
                rotation[axis] = angle
                pose = skel.rest_pose().with_rotation(j, rotation)
                ax = figure.add_subplot(len(joints), 6, row * 6 + axis * 2 + side + 1)
                draw_skeleton(ax, skel, rest, view, color="0.75", linewidth=1.0)
                draw_skeleton(ax, skel, skel.world_positions(pose), view, color="C3", linewidth=1.4)
                # Frame the moving limb with some context.
                h, sign, v = VIEWS[view]
                pts = np.concatenate([rest[limb], skel.world_positions(pose)[limb]])
                centre = np.array([sign * pts[:, h].mean(), pts[:, v].mean()])
                half = max(np.ptp(pts[:, h]), np.ptp(pts[:, v]), 0.08) * 0.75
                ax.set_xlim(centre[0] - half, centre[0] + half)
                ax.set_ylim(centre[1] - half, centre[1] + half)
                style_axes(ax, view, f"{name} {'xyz'[axis]}{'-+'[side]} = {np.degrees(angle):.0f}°")
                ax.set_xlabel("")
                ax.set_ylabel("")
                ax.tick_params(labelbottom=False, labelleft=False, length=0)  # the grid lines are 0.1 m apart
                ax.xaxis.set_major_locator(MultipleLocator(0.1))
                ax.yaxis.set_major_locator(MultipleLocator(0.1))
                ax.title.set_fontsize(7)
    figure.suptitle(
        "Default SMPL-X skeleton: each joint at the ends of its limits (red), rest pose (grey).\n"
        "x rotations seen from the side (forward to the right), y from above, z from the front; grid lines 0.1 m apart",
        fontsize=9,
    )
    figure.tight_layout(rect=(0, 0, 1, 0.985))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=args.dpi)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
