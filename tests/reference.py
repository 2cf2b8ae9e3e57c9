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
