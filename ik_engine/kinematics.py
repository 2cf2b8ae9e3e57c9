"""Forward kinematics of a kinematic tree, written once against an array namespace.

The tree is evaluated level by level (all joints of one depth at once), so a 55-joint
body costs about a dozen batched matrix products instead of 55 small ones, in numpy,
JAX or TensorFlow alike.

Frames: ``R_parent_joint`` rotates vectors of a joint's frame into its parent's frame;
``R_world_joint`` and ``p_world_joint`` place each joint's frame in the world.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .rotations import axis_angle_to_matrix


@dataclass(frozen=True)
class TreeLevels:
    """The static structure of a (sub)tree, grouped by depth.

    ``levels[d]`` holds (joints, parents) index arrays of the joints at depth ``d``,
    indexing into the subtree's own joint order; ``parent_rows[d]`` the row of each one's
    parent in level ``d - 1`` (empty for the root level); ``order`` is the concatenation
    of all levels and ``inverse_order`` gathers the concatenated result back into joint order.
    """

    levels: tuple[tuple[np.ndarray, np.ndarray], ...]
    order: np.ndarray
    inverse_order: np.ndarray
    parent_rows: tuple[np.ndarray, ...]

    @staticmethod
    def from_parents(parents: Sequence[int]) -> "TreeLevels":
        """Group joints by depth. ``parents`` (J,) must list parents before children.

        Remembered for the last 256 trees (their arrays read-only): every new constraint
        structure builds the tree of its joints, usually one built before (0.1 ms each)."""
        return _tree_levels(tuple(int(p) for p in parents))


@functools.lru_cache(maxsize=256)
def _tree_levels(parents: tuple[int, ...]) -> TreeLevels:
    parents = np.asarray(parents, dtype=np.int64)
    depth = np.zeros(len(parents), dtype=np.int64)
    for j, p in enumerate(parents):
        depth[j] = 0 if p < 0 else depth[p] + 1
    levels = []
    for d in range(int(depth.max()) + 1 if len(parents) else 0):
        joints = np.flatnonzero(depth == d)
        levels.append((joints, parents[joints]))
    order = np.concatenate([j for j, _ in levels]) if levels else np.zeros(0, np.int64)
    inverse_order = np.empty_like(order)
    inverse_order[order] = np.arange(len(order))
    # A parent is always one level up: its row there (static, so found once here).
    parent_rows = [np.zeros(0, np.int64)] + [np.searchsorted(levels[d - 1][0], levels[d][1]) for d in range(1, len(levels))]
    for array in [order, inverse_order, *parent_rows, *(a for level in levels for a in level)]:
        array.flags.writeable = False
    return TreeLevels(tuple(levels), order, inverse_order, tuple(parent_rows))


def forward_kinematics(
    levels: TreeLevels,
    offsets: Any,
    R_parent_joint: Any,
    p_world_root: Any,
    xp: Any,
) -> tuple[Any, Any]:
    """World rotations and positions of every joint.

    Args:
        levels: static tree structure (one root, at depth 0).
        offsets: (J, 3) position of each joint in its parent's frame (the root's is unused).
        R_parent_joint: (*batch, J, 3, 3) rotation of each joint relative to its parent
            (for the root: relative to the world).
        p_world_root: (*batch, 3) world position of the root joint.
        xp: array namespace.

    Returns:
        (R_world_joint (*batch, J, 3, 3), p_world_joint (*batch, J, 3)).
    """
    root_joints, _ = levels.levels[0]
    R_level = xp.take(R_parent_joint, root_joints, axis=-3)
    p_level = xp.broadcast_to(p_world_root[..., None, :], R_level.shape[:-1])
    R_levels, p_levels = [R_level], [p_level]
    for (joints, _), parent_rows in zip(levels.levels[1:], levels.parent_rows[1:]):
        R_world_parent = xp.take(R_level, parent_rows, axis=-3)
        p_world_parent = xp.take(p_level, parent_rows, axis=-2)
        R_local = xp.take(R_parent_joint, joints, axis=-3)
        offset = xp.take(offsets, joints, axis=0)
        R_level = R_world_parent @ R_local
        p_level = p_world_parent + xp.einsum("...ij,...j->...i", R_world_parent, offset)
        R_levels.append(R_level)
        p_levels.append(p_level)
    R_all = xp.concatenate(R_levels, axis=-3)
    p_all = xp.concatenate(p_levels, axis=-2)
    return xp.take(R_all, levels.inverse_order, axis=-3), xp.take(p_all, levels.inverse_order, axis=-2)


def local_rotations(
    rotations: Any, rest_rotations: Any | None, xp: Any
) -> Any:
    """``R_parent_joint`` (*batch, J, 3, 3) from pose axis-angles (*batch, J, 3).

    A pose rotation acts in the joint's rest frame: ``R_parent_joint = R_rest @ exp(r)``;
    with no rest rotations (SMPL-X, BVH) this is just ``exp(r)``.
    """
    R_pose = axis_angle_to_matrix(rotations, xp)
    if rest_rotations is None:
        return R_pose
    return rest_rotations @ R_pose


def joint_world_positions(skeleton: Any, pose: Any, joints: Sequence[int]) -> np.ndarray:
    """(k, 3) world positions, metres (float64), of ``joints`` (k skeleton indices) in ``pose``:
    forward kinematics of their ancestors only, joint by joint.

    ``skeleton``: a Skeleton (its parents, ancestors, rest offsets and rest rotations); ``pose``:
    a Pose of it. The checks of LookAt and PoleVector read a few joints of the initial pose
    before every solve: measured on the SMPL-X body (2-core VM), the whole 55-joint body
    (``Skeleton.world_positions``) took about 160 us, the 8 joints up to a wrist about 60 us
    joint by joint, and about 165 us through ``forward_kinematics`` of their subtree (its level
    by level gathers and concatenations cost, in numpy, what the whole body's do), hence the loop.
    """
    skeleton.check_pose(pose)
    needed = sorted({a for j in joints for a in skeleton.ancestors[j]})
    R_pose = axis_angle_to_matrix(np.asarray(pose.rotations, dtype=np.float64)[needed], np)
    rest_rotations, offsets, parents = skeleton.rest_rotations, skeleton.rest_offsets, skeleton.parents
    R_world: dict[int, np.ndarray] = {}
    p_world: dict[int, np.ndarray] = {}
    for R_joint, j in zip(R_pose, needed):
        R_parent_joint = R_joint if rest_rotations is None else rest_rotations[j] @ R_joint
        parent = int(parents[j])
        if parent < 0:
            R_world[j], p_world[j] = R_parent_joint, offsets[j] + np.asarray(pose.translation, dtype=np.float64)
        else:
            R_world[j] = R_world[parent] @ R_parent_joint
            p_world[j] = p_world[parent] + R_world[parent] @ offsets[j]
    return np.array([p_world[int(j)] for j in joints]).reshape(len(joints), 3)
