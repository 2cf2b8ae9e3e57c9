"""The independent forward-kinematics reference the tests compare against.

A plain float64 per-joint loop with rotations from scipy.spatial.transform.Rotation, sharing
no code with ik_engine.kinematics.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation


def reference_fk(parents, offsets, rotations, translation, rest_rotations=None):
    """(R_world (J, 3, 3), p_world (J, 3)): R_world[j] = R_world[parent] @ R_parent_joint,
    p_world[j] = p_world[parent] + R_world[parent] @ offset; the root at offset + translation."""
    J = len(parents)
    R_world = np.zeros((J, 3, 3))
    p_world = np.zeros((J, 3))
    for j in range(J):
        R_local = Rotation.from_rotvec(np.array(rotations[j], dtype=np.float64)).as_matrix()  # a copy: scipy wants it writable
        if rest_rotations is not None:
            R_local = rest_rotations[j] @ R_local
        p = parents[j]
        if p < 0:
            R_world[j] = R_local
            p_world[j] = offsets[j] + translation
        else:
            R_world[j] = R_world[p] @ R_local
            p_world[j] = p_world[p] + R_world[p] @ offsets[j]
    return R_world, p_world


def reference_world(skel, rotations, translation):
    """reference_fk of a Skeleton's tree (rest frames aligned with the parents)."""
    return reference_fk(skel.parents, skel.rest_offsets, rotations, translation)


def swing_twist_y_coordinates(R_local: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """(c_x, c_y, c_z) swing-twist coordinates about y (the SMPL-X shoulders and hips) of a
    local rotation (3, 3) centred on ``neutral`` (3, 3), by the definition, through scipy: the
    twist c_y = 2 atan2(q_y, q_w) of R_local @ neutral^T (w >= 0), then the swing S = that
    rotation turned back by the twist, c_x = 2 asin(s_x), c_z = 2 asin(s_z) (w >= 0)."""
    R = Rotation.from_matrix(R_local @ neutral.T)
    x, y, z, w = R.as_quat()
    tau = 2 * np.arctan2(y, w) if w >= 0 else 2 * np.arctan2(-y, -w)
    sx, _, sz, sw = (R * Rotation.from_rotvec([0.0, -tau, 0.0])).as_quat()
    sx, sz = (sx, sz) if sw >= 0 else (-sx, -sz)
    return np.array([2 * np.arcsin(sx), tau, 2 * np.arcsin(sz)])


def swing_twist_y_matrix(c: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """The local rotation (3, 3) of swing-twist coordinates about y: S R_y(c_y) neutral."""
    sx, sz = np.sin(c[0] / 2), np.sin(c[2] / 2)
    swing = Rotation.from_quat([sx, 0.0, sz, np.sqrt(max(1 - sx * sx - sz * sz, 0.0))])
    return (swing * Rotation.from_rotvec([0.0, c[1], 0.0])).as_matrix() @ neutral
