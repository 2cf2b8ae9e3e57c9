"""Orientation: a joint's world rotation matches a target rotation."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..errors import ConstraintError
from ..rotations import inverse_left_jacobian, matrix_to_axis_angle, quaternion_to_matrix
from .parameter_structure import pack, unpack
from .base import Constraint, batch_size_of, check_joint_name, check_priority, check_weight

# How far from orthonormal (max abs entry of R R^T - I) a target may be.
ROTATION_TOLERANCE = 1e-4


def as_rotation_matrices(value: Any, what: str) -> np.ndarray:
    """(3, 3) or a batch (B, 3, 3) of rotation matrices from matrices or (w, x, y, z) quaternions."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConstraintError(f"{what} must be a 3x3 rotation matrix or a (w, x, y, z) quaternion") from None
    if array.ndim >= 2 and array.shape[0] == 0:
        raise ConstraintError(f"{what}: an empty batch of rotations")
    if array.ndim in (2, 3) and array.shape[-2:] != (3, 3) and array.shape[-1] == 4:
        return np.stack([as_rotation_matrix(q, f"{what}[{i}]") for i, q in enumerate(array)])
    if array.ndim == 3:
        return np.stack([as_rotation_matrix(R, f"{what}[{i}]") for i, R in enumerate(array)])
    return as_rotation_matrix(array, what)


def as_rotation_matrix(value: Any, what: str) -> np.ndarray:
    """A (3, 3) rotation matrix from a matrix or a (w, x, y, z) quaternion, validated."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConstraintError(f"{what} must be a 3x3 rotation matrix or a (w, x, y, z) quaternion") from None
    if not np.isfinite(array).all():
        raise ConstraintError(f"{what} must be finite, got {array.tolist()}")
    if array.shape == (4,):
        norm = np.linalg.norm(array)
        if abs(norm - 1.0) > 1e-3:
            raise ConstraintError(f"{what}: quaternion must have unit length, got length {norm:.6g}")
        return quaternion_to_matrix(array, np)
    if array.shape != (3, 3):
        raise ConstraintError(
            f"{what} must be a 3x3 rotation matrix or a (w, x, y, z) quaternion, got shape {array.shape}"
        )
    orthogonality = np.abs(array @ array.T - np.eye(3)).max()
    if orthogonality > ROTATION_TOLERANCE or np.linalg.det(array) < 0:
        raise ConstraintError(
            f"{what} is not a rotation matrix (max |R R^T - I| = {orthogonality:.3g}, det = {np.linalg.det(array):.3g})"
        )
    # Re-orthonormalise the small rounding that was accepted.
    u, _, vt = np.linalg.svd(array)
    return u @ vt


class OrientationParameters(NamedTuple):
    """Orientation's parameters: the target rotation ``R_world_target`` (..., 3, 3)."""

    R_world_target: Any


SHAPES = {"R_world_target": (3, 3)}


class Orientation(Constraint):
    """A joint's world rotation reaches ``target_rotation``.

    Args:
        joint: joint name.
        target_rotation: (3, 3) rotation matrix ``R_world_joint`` to reach, or a unit
            quaternion (w, x, y, z); (B, 3, 3) or (B, 4) for ``solve_batch``.
        weight: relative importance (the squared error, in radians, is multiplied by it).
        priority: 0 is the highest.

    Error: the angle of the rotation between the joint's frame and the target, radians.
    """

    tolerance_kind = "orientation"
    residual_rows = 3
    reaches_target = True

    def __init__(self, joint: str, target_rotation, weight: float = 1.0, priority: int = 0) -> None:
        self.joint = check_joint_name(joint, "Orientation")
        self.target_rotation = as_rotation_matrices(target_rotation, f"Orientation target of joint {joint!r}")
        self.weight = check_weight(weight, "Orientation")
        self.priority = check_priority(priority, "Orientation")

    @property
    def batch_size(self) -> int | None:
        return batch_size_of(self.target_rotation, 2)

    def joints(self) -> tuple[str, ...]:
        return (self.joint,)

    def parameter_size(self, skeleton: Any) -> int:
        return 9

    def parameters(self, skeleton: Any) -> np.ndarray:
        R = self.target_rotation
        return pack(OrientationParameters(R.reshape(R.shape[:-2] + (9,))))

    @staticmethod
    def residual(state: Any, slot: Any, params: Any, xp: Any):
        e, J, error = Orientation.batched_residual(state, np.array(slot.joint_rows), xp.reshape(params, (1, 9)), xp)
        return e[0], J[0], error[0]

    @staticmethod
    def batched_residual(state: Any, rows: np.ndarray, params: Any, xp: Any):
        """``residual`` of k Orientation constraints at once: joint rows (k,), parameters (k, 9)
        -> residuals (k, 3), Jacobians (k, 3, n), errors (k,)."""
        R_world_target = unpack(OrientationParameters, params, SHAPES, xp).R_world_target
        # Error rotation in the world frame: it turns the target frame onto the joint's.
        R_error = xp.take(state.R_world_joint, rows, axis=0) @ xp.swapaxes(R_world_target, -1, -2)
        e = matrix_to_axis_angle(R_error, xp)  # (k, 3)
        J = inverse_left_jacobian(e, xp) @ state.rotation_jacobians(rows)
        return e, J, xp.sqrt(xp.sum(e * e, axis=-1))

    def __repr__(self) -> str:
        return f"Orientation({self.joint!r}, weight={self.weight}, priority={self.priority})"
