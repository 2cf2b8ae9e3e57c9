"""A bone's IK limit settings (Bone Properties > Inverse Kinematics) read as Blender's own IK
solver reads them, as an engine joint: its coordinates kind and limits; and the shipped SMPL-X
limits for the bones of an SMPL-X armature."""

from __future__ import annotations

import numpy as np

AXES = "xyz"


def ik_settings(obj, names: list[str]) -> dict[str, np.ndarray]:
    """Per-bone IK limit settings, bone order of ``obj.pose.bones`` mapped to ``names``."""
    pose_bones = obj.pose.bones
    n = len(pose_bones)
    by_name = {pb.name: i for i, pb in enumerate(pose_bones)}
    order = np.array([by_name[name] for name in names], dtype=np.int64)
    out = {}
    for prefix, dtype in (("use_ik_limit_", bool), ("lock_ik_", bool), ("ik_min_", np.float32), ("ik_max_", np.float32)):
        columns = []
        for axis in AXES:
            values = np.empty(n, dtype=dtype)
            pose_bones.foreach_get(prefix + axis, values)
            columns.append(values[order])
        out[prefix] = np.stack(columns, axis=1)
    return out


def blender_ik_joint(bone: str, locked, limited, ik_min, ik_max) -> tuple[str, np.ndarray, np.ndarray]:
    """(coordinates kind, lower (3,), upper (3,)): the engine joint that Blender's own IK solver
    builds from a bone's IK settings (``lock_ik_*``, ``use_ik_limit_*``, ``ik_min_*``,
    ``ik_max_*``; radians, in the bone's frame, +Y along the bone), so that every pose the
    engine returns is one Blender's IK would accept. Blender's ``IK_CreateSegment`` picks the
    joint by the free (unlocked) axes:

    * X, Y, Z free: a ball joint, swing then twist about Y (``"swing_twist_y"``); Y limits the
      twist, X and Z the swing components ``2 asin(s_x)``, ``2 asin(s_z)``, as an ellipse when
      both are limited;
    * Y locked: swing only (``"swing_twist_y"`` with the twist held at 0);
    * Z locked: bend about X, then twist about Y (Euler ``"xzy"`` with z held at 0);
    * X locked: bend about Z, then twist about Y (Euler ``"zxy"`` with x held at 0);
    * one axis free: a hinge about it, its limit on the angle (axis-angle, the others held).

    A bone with no limit and no lock stays a free axis-angle joint (no swing cap). (Blender
    keeps ``ik_min <= 0 <= ik_max``, so the ellipse always holds the rest pose, as the
    engine's swing-twist joints require.)
    """
    locked, limited = np.asarray(locked, bool), np.asarray(limited, bool) & ~np.asarray(locked, bool)
    lower, upper = np.full(3, -np.pi), np.full(3, np.pi)
    # Blender clamps limits to [-pi, pi]; a limited axis whose range spans the full turn
    # still counts as limited (an ellipse needs both), so it is kept just inside.
    full = 1e-6
    for a in range(3):
        if limited[a]:
            lower[a] = max(float(ik_min[a]), -np.pi + full)
            upper[a] = min(float(ik_max[a]), np.pi - full)
    lower[locked] = upper[locked] = 0.0
    free = ~locked
    if free.sum() == 3:
        if not limited.any():
            return "axis_angle", lower, upper
        kind = "swing_twist_y"
    elif free.sum() == 2:
        kind = {0: "zxy", 1: "swing_twist_y", 2: "xzy"}[int(np.flatnonzero(locked)[0])]
    else:
        kind = "axis_angle"
    return kind, lower, upper


def shipped_limits(smplx, smplx_joint: np.ndarray, lower: np.ndarray, upper: np.ndarray, coordinates: list[str]):
    """Give the bones with an SMPL-X joint (``smplx_joint`` (n,), -1 for none) that joint's
    limits from the ``smplx`` Skeleton: fills ``lower``, ``upper`` (n, 3) and ``coordinates``
    (n,) in place and returns (neutral rotations (n, 3, 3) or None, reach tables (n, R) or None),
    the swing-twist centres and reach tables (identity and ``inf`` for the other bones)."""
    rows = np.flatnonzero(smplx_joint >= 0)
    joints = smplx_joint[rows]
    lower[rows], upper[rows] = smplx.lower[joints], smplx.upper[joints]
    for row, k in zip(rows, joints):
        coordinates[row] = smplx.coordinates[k]
    neutral = reach = None
    if smplx.neutral_rotations is not None:
        neutral = np.broadcast_to(np.eye(3), (len(smplx_joint), 3, 3)).copy()
        neutral[rows] = smplx.neutral_rotations[joints]
    if smplx.swing_reach is not None:
        reach = np.full((len(smplx_joint), smplx.swing_reach.shape[1]), np.inf)
        reach[rows] = smplx.swing_reach[joints]
    return neutral, reach
