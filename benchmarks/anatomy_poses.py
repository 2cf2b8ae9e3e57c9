"""Poses every body can take and poses none can, built from bone directions alone, read
against the two shipped SMPL-X limit tables, side by side: the default (boxes) and the
swing-twist variant (``ik.load_skeleton("smplx", limits="swing_twist")``).

    python -m ik_engine.benchmarks.anatomy_poses

Each pose turns one ball joint's bone (shoulder or hip) toward a direction given by the body's
lateral, up and forward parts, on the left and on the right (mirrored), with the rest of the
body at rest; the table gives the angle by which each set of limits rejects it (0: admitted).
``benchmarks/limits_vs_mocap.py`` appends the same table to its results; tests/test_swing_reach.py
checks the swing-twist variant against it.
"""

from __future__ import annotations

import argparse

import numpy as np

import ik_engine as ik
from ik_engine.rotations import axis_angle_to_matrix, matrix_to_axis_angle

D = np.radians


def shortest_turn(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(3, 3) the smallest rotation taking direction a onto direction b (Rodrigues; not opposite)."""
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    axis = np.cross(a, b)
    angle = np.arctan2(np.linalg.norm(axis), a @ b)
    return axis_angle_to_matrix(axis / max(np.linalg.norm(axis), 1e-12) * angle, np)


def bone_towards(smplx: ik.Skeleton, joint: str, direction, twist_deg: float = 0.0) -> ik.Pose:
    """The pose whose ``joint`` points its bone along ``direction`` (the rest of the body at
    rest): the shortest turn from the bone hanging straight down, after a twist about the
    hanging bone, applied to the bone as it hangs. A hip's directions are read from its rest
    thigh (7.6 degrees off vertical in SMPL-X) as if it hung straight down: the limits are the
    standing leg's. Built from directions alone, not from the engine's joint coordinates."""
    j = smplx.index(joint)
    children = [c for c, p in enumerate(smplx.parents) if p == j]
    bone = smplx.rest_offsets[max(children, key=lambda c: np.linalg.norm(smplx.rest_offsets[c]))]
    down = np.array([0.0, -1.0, 0.0])
    hang = shortest_turn(bone, down)  # rest bone -> hanging straight down
    twist = axis_angle_to_matrix(D(twist_deg) * down, np)
    turn = shortest_turn(down, np.asarray(direction, float))
    R = turn @ twist @ hang
    if joint.endswith("hip"):
        R = hang.T @ R
    rotations = np.zeros((smplx.num_joints, 3))
    rotations[j] = matrix_to_axis_angle(R, np)
    return ik.Pose(rotations, np.zeros(3))


def body_direction(side: str, lateral: float, up: float, forward: float) -> np.ndarray:
    """A world direction given by the body's lateral (away from the midline), up and forward parts."""
    return np.array([lateral if side == "left" else -lateral, up, forward])


ADMITTED = {
    "arm hanging": ("shoulder", (0, -1, 0)),
    "arm forward at shoulder height (flexion 90)": ("shoulder", (0, 0, 1)),
    "arm raised in front (flexion 145; the collar adds the rest)": ("shoulder", (0, -np.cos(D(145)), np.sin(D(145)))),
    "arm out to the side (abduction 90)": ("shoulder", (1, 0, 0)),
    "arm across the chest at shoulder height (horizontal adduction 130)": ("shoulder", (-np.sin(D(40)), 0, np.cos(D(40)))),
    "arm back 55 (walking)": ("shoulder", (0, -np.cos(D(55)), -np.sin(D(55)))),
    "arm at shoulder height 40 behind the side (horizontal abduction 40)": ("shoulder", (np.cos(D(40)), 0, -np.sin(D(40)))),
    "thigh forward 110 (deep squat)": ("hip", (0, np.sin(D(20)), np.cos(D(20)))),
    "thigh forward 80 and out 40 (knees apart on a chair)": ("hip", (np.sin(D(80)) * np.sin(D(40)), -np.cos(D(80)), np.sin(D(80)) * np.cos(D(40)))),
    "leg out 40 (abduction)": ("hip", (np.sin(D(40)), -np.cos(D(40)), 0)),
    "leg back 25 (extension)": ("hip", (0, -np.cos(D(25)), -np.sin(D(25)))),
    "arm hanging, turned 85 about itself (left: internal rotation, right: external)": ("shoulder", (0, -1, 0), 85),
    "arm hanging, turned 85 the other way": ("shoulder", (0, -1, 0), -85),
}
REJECTED = {
    "arm straight back at shoulder height (extension 90)": ("shoulder", (0, 0, -1)),
    "arm through the trunk (adduction 45 from hanging)": ("shoulder", (-np.sin(D(45)), -np.cos(D(45)), 0)),
    "arm behind the back at shoulder height, 60 behind the side": ("shoulder", (np.cos(D(60)), 0, -np.sin(D(60)))),
    "thigh back 50 (extension)": ("hip", (0, -np.cos(D(50)), -np.sin(D(50)))),
    "leg out 80 (a split)": ("hip", (np.sin(D(80)), -np.cos(D(80)), 0)),
    "leg across the other 45": ("hip", (-np.sin(D(45)), -np.cos(D(45)), 0)),
    "arm hanging, turned 100 about itself": ("shoulder", (0, -1, 0), 100),
}


def table_pose(skeleton: ik.Skeleton, side: str, entry: tuple) -> ik.Pose:
    """The pose of an ADMITTED or REJECTED entry (joint, body direction (lateral, up, forward)[,
    twist degrees]) on one side ("left" or "right"; a twist turns the same way on both sides
    as seen by the world's down axis)."""
    joint, parts = entry[0], entry[1]
    return bone_towards(skeleton, f"{side}_{joint}", body_direction(side, *parts), entry[2] if len(entry) > 2 else 0.0)




def rejection_table(limits: dict[str, ik.Skeleton]) -> str:
    """Markdown: per pose and side, the degrees by which each skeleton's limits reject it."""
    names = list(limits)
    lines = ["| pose | expected | " + " | ".join(f"{n}: left / right (deg outside)" for n in names) + " |",
             "| --- | --- | " + " | ".join("---:" for _ in names) + " |"]
    for expected, table in (("admitted", ADMITTED), ("rejected", REJECTED)):
        for what in sorted(table):
            cells = []
            for skeleton in limits.values():
                out = [np.degrees(skeleton.limit_violation(table_pose(skeleton, side, table[what]))) for side in ("left", "right")]
                cells.append(" / ".join(f"{v:.1f}" for v in out))
            lines.append(f"| {what} | {expected} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0]).parse_args(argv)
    print(rejection_table({"box (default)": ik.load_skeleton("smplx"),
                           "swing_twist": ik.load_skeleton("smplx", limits="swing_twist")}))


if __name__ == "__main__":
    main()
