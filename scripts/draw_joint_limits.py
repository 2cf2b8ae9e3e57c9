"""Draw every limb of the default SMPL-X skeleton at its joint limits (a PNG grid).

    python scripts/draw_joint_limits.py [--out docs/images/joint_limits.png]

Each row is one joint; each column one end of one axis' range (x-, x+, y-, y+, z-, z+), in
the joint's coordinates (a swing-twist joint's swing axes at the reach of its table in that
direction, from its centre: the shoulder's from the hanging arm). Only that joint is rotated;
the rest pose is drawn faintly behind. The view is chosen so that the rotation is seen
edge-on (x: side view, y: top view, z: front view).

    python scripts/draw_joint_limits.py --cones docs/images/swing_reach.png

draws instead the swing regions of the shoulders and hips of the swing-twist limit table
(``ik.load_skeleton("smplx", limits="swing_twist")``): the path of the bone's tip along the
boundary of its reach table, from the front, the side and above.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from matplotlib.ticker import MultipleLocator

import ik_engine as ik
from ik_engine.drawing import VIEWS, draw_skeleton, new_figure, style_axes
from ik_engine.joint_coordinates import SWING_TWIST_KINDS, reach_directions, reach_sine, swing_axes, twist_axis

JOINTS = [
    "spine1", "spine3", "neck", "head", "jaw", "left_eye_smplhf",
    "left_collar", "left_shoulder", "left_elbow", "left_wrist",
    "left_index1", "left_index2", "left_thumb1",
    "left_hip", "left_knee", "left_ankle", "left_foot",
]
AXIS_VIEW = {0: "side", 1: "top", 2: "front"}


def descendants(skel: ik.Skeleton, joint: int) -> list[int]:
    return [j for j in range(skel.num_joints) if joint in skel.ancestors[j]]


def bound_angle(skel: ik.Skeleton, j: int, axis: int, side: int) -> float:
    """The end ``side`` (0: lower, 1: upper) of joint j's range on ``axis``: the box's, or for a
    swing axis of a joint with a reach table, the table's reach in that direction."""
    angle = float((skel.lower, skel.upper)[side][j, axis])
    kind = skel.coordinates[j]
    if kind in SWING_TWIST_KINDS and skel.reach(j) is not None and axis != twist_axis(kind):
        b, d = swing_axes(twist_axis(kind))
        sign = 1.0 if side else -1.0
        s_b, s_d = (sign, 0.0) if axis == b else (0.0, sign)
        angle = sign * 2.0 * float(np.arcsin(reach_sine(np.float64(s_b), np.float64(s_d), skel.reach(j), np)))
    return angle


def save(figure, title: str, out: str, dpi: int, top: float) -> None:
    """Title, lay out and write a figure to the PNG ``out``."""
    figure.suptitle(title, fontsize=9)
    figure.tight_layout(rect=(0, 0, 1, top))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=dpi)
    print(f"wrote {out}")


def draw_cones(skel: ik.Skeleton, out: str, dpi: int) -> None:
    """The swing regions of the left and right shoulders and hips: the bone tip along the
    boundary of each reach table (red), the bone at its centre (grey)."""
    joints = ["left_shoulder", "right_shoulder", "left_hip", "right_hip"]
    views = ("front", "side", "top")
    figure = new_figure(len(views), len(joints), size=2.6)
    rest = skel.rest_positions()
    for row, name in enumerate(joints):
        j = skel.index(name)
        t = twist_axis(skel.coordinates[j])
        b, d = swing_axes(t)
        child = max((c for c, p in enumerate(skel.parents) if p == j), key=lambda c: np.linalg.norm(skel.rest_offsets[c]))
        angles = np.linspace(0.0, 2.0 * np.pi, 721)
        rho = reach_sine(np.cos(angles), np.sin(angles), skel.reach(j), np)
        coordinates = np.zeros((len(angles), skel.num_joints, 3))
        coordinates[:, j, b] = 2.0 * np.arcsin(rho * np.cos(angles))
        coordinates[:, j, d] = 2.0 * np.arcsin(rho * np.sin(angles))
        rotations = skel.from_coordinates(coordinates)
        tips = np.array([skel.world_positions(ik.Pose(r, np.zeros(3)))[child] for r in rotations])
        centre = np.zeros((skel.num_joints, 3))
        centre[j] = skel.from_coordinates(np.zeros((skel.num_joints, 3)))[j]  # coordinates 0: the limits' centre
        centre_pose = ik.Pose(centre, np.zeros(3))
        nodes = tips[:: len(angles) // len(reach_directions(skel.reach(j).shape[0]))][:-1]
        for col, view in enumerate(views):
            ax = figure.add_subplot(len(joints), len(views), row * len(views) + col + 1)
            h, sign, v = VIEWS[view]
            draw_skeleton(ax, skel, rest, view, color="0.8", linewidth=1.0)
            draw_skeleton(ax, skel, skel.world_positions(centre_pose), view, color="0.45", linewidth=1.2)
            ax.plot(sign * tips[:, h], tips[:, v], color="C3", linewidth=1.3)
            ax.plot(sign * nodes[:, h], nodes[:, v], "o", color="C3", markersize=2.5)
            style_axes(ax, view, f"{name}: reach ({view})")
            ax.title.set_fontsize(8)
    save(figure, "Swing regions of the SMPL-X ball joints (limits=\"swing_twist\"): the bone's tip along the boundary of its "
         "reach table\n(red, dots at the table's 8 directions), the bone at the centre of its limits (dark grey), rest pose "
         "(light grey)", out, dpi, top=0.975)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="joint_limits.png", help="PNG to write (default ./joint_limits.png; the README's is docs/images/joint_limits.png)")
    parser.add_argument("--joints", nargs="+", default=JOINTS, help="joints to draw (default: one of each kind)")
    parser.add_argument("--dpi", type=int, default=110)
    parser.add_argument("--cones", default=None, help="draw the shoulders' and hips' swing regions to this PNG instead")
    args = parser.parse_args(argv)
    joints = args.joints
    skel = ik.load_skeleton("smplx")
    if args.cones:
        draw_cones(ik.load_skeleton("smplx", limits="swing_twist"), args.cones, args.dpi)
        return 0
    rest = skel.rest_positions()
    figure = new_figure(6, len(joints), size=1.9)
    for row, name in enumerate(joints):
        j = skel.index(name)
        limb = descendants(skel, j) + [j, max(skel.parents[j], 0)]
        for axis in range(3):
            view = AXIS_VIEW[axis]
            for side in (0, 1):
                angle = bound_angle(skel, j, axis, side)
                coordinates = skel.to_coordinates(skel.rest_pose().rotations)
                coordinates[j] = 0.0
                coordinates[j, axis] = angle
                rotations = np.zeros((skel.num_joints, 3))
                rotations[j] = skel.from_coordinates(coordinates)[j]
                pose = ik.Pose(rotations, np.zeros(3))
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
    save(figure, "Default SMPL-X skeleton: each joint at the ends of its limits (red), rest pose (grey).\n"
         "x rotations seen from the side (forward to the right), y from above, z from the front; grid lines 0.1 m apart",
         args.out, args.dpi, top=0.985)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
