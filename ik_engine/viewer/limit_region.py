"""A joint's limit region, drawn as the points its child bone can reach within the limits.

For joint j with child c, every coordinate vector q inside j's limits (box clipped to +-pi, swing region)
gives a local rotation R(q), and the child's world position
``p_c = p_j + R_world_parent(j) @ R(q) @ offset_c`` (the parent's frame as in the current pose).
Sampling the box (its corners, edges' midpoints and random interior points) draws the region
the bone sweeps: a cap of the sphere of radius |offset_c| around the joint.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..joint_coordinates import clamped_coordinates
from ..rotations import axis_angle_to_matrix
from ..skeleton import Skeleton

SAMPLES = 600


def limit_child(skeleton: Skeleton, joint: int) -> int | None:
    """The child whose bone shows the joint's range (the longest offset), or None for a leaf."""
    children = [c for c, p in enumerate(skeleton.parents) if p == joint]
    if not children:
        return None
    return max(children, key=lambda c: float(np.linalg.norm(skeleton.rest_offsets[c])))


def limit_coordinates(skeleton: Skeleton, joint: int, samples: int = SAMPLES, seed: int = 0) -> np.ndarray:
    """(N, 3) coordinates inside joint's limits: the box's corners and random interior points,
    a swing-twist joint's brought inside its swing ellipse or reach table."""
    lo = np.maximum(skeleton.lower[joint], -np.pi)
    hi = np.minimum(skeleton.upper[joint], np.pi)
    corners = np.array([[(lo, hi)[b][i] for i, b in enumerate(bits)] for bits in itertools.product((0, 1), repeat=3)])
    inside = np.random.default_rng(seed).uniform(lo, hi, size=(max(0, samples - len(corners)), 3))
    c = np.concatenate([corners, inside])
    kind = skeleton.coordinates[joint]
    return clamped_coordinates(c, kind, lo, hi, bool(skeleton.elliptic_swing[joint]), skeleton.reach(joint))


class LimitRegion:
    """The limit region of one joint: the bone tips are computed once in the parent's frame,
    then placed in the current pose by ``points(R_world, p_world)``."""

    def __init__(self, skeleton: Skeleton, joint: int, samples: int = SAMPLES) -> None:
        self.skeleton, self.joint = skeleton, joint
        self.child = limit_child(skeleton, joint)
        self.coordinates = limit_coordinates(skeleton, joint, samples)
        rows = np.zeros((len(self.coordinates), skeleton.num_joints, 3))
        rows[:, joint] = self.coordinates
        local = axis_angle_to_matrix(skeleton.from_coordinates(rows)[:, joint], np)  # (N, 3, 3): R_parent_joint
        offset = np.zeros(3) if self.child is None else skeleton.rest_offsets[self.child]
        self._tips_in_parent = local @ offset  # (N, 3): the child's offset turned by each rotation

    def points(self, R_world: np.ndarray, p_world: np.ndarray) -> np.ndarray:
        """(N, 3) world positions of the child bone's tip for each sample, the rest of the body at
        the world frames (J, 3, 3), (J, 3) of the current pose (empty for a leaf joint)."""
        if self.child is None:
            return np.zeros((0, 3))
        parent = self.skeleton.parents[self.joint]
        R_parent = np.eye(3) if parent < 0 else R_world[parent]
        return p_world[self.joint] + self._tips_in_parent @ R_parent.T
