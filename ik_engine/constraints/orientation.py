"""Orientation: a joint's world rotation matches a target rotation."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConstraintError
from ..rotations import inverse_left_jacobian, matrix_to_axis_angle, quaternion_to_matrix
from .base import Constraint, check_joint_name, check_weight

# How far from orthonormal (max abs entry of R R^T - I) a target may be.
ROTATION_TOLERANCE = 1e-4


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


class Orientation(Constraint):
    """A joint's world rotation reaches ``target_rotation``.

    Args:
        joint: joint name.
        target_rotation: (3, 3) rotation matrix ``R_world_joint`` to reach, or a unit
            quaternion (w, x, y, z).
        weight: relative importance (the squared error, in radians, is multiplied by it).

    Error: the angle of the rotation between the joint's frame and the target, radians.
    """

    residual_size = 3
    tolerance_kind = "orientation"

    def __init__(self, joint: str, target_rotation, weight: float = 1.0) -> None:
        self.joint = check_joint_name(joint, "Orientation")
        self.target_rotation = as_rotation_matrix(target_rotation, f"Orientation target of joint {joint!r}")
        self.weight = check_weight(weight, "Orientation")

    def joints(self) -> tuple[str, ...]:
        return (self.joint,)

    def parameters(self) -> np.ndarray:
        return self.target_rotation.reshape(9)

    @classmethod
    def parameter_size(cls) -> int:
        return 9

    @staticmethod
    def residual(state: Any, joint_rows: tuple[int, ...], params: Any, xp: Any):
        (row,) = joint_rows
        R_world_target = xp.reshape(params[0:9], (3, 3))
        # Error rotation in the world frame: it turns the target frame onto the joint's.
        R_error = state.R_world_joint[row] @ R_world_target.T
        e = matrix_to_axis_angle(R_error, xp)
        J = inverse_left_jacobian(e, xp) @ state.rotation_jacobian(row)
        return e, J, xp.sqrt(xp.sum(e * e))

    def __repr__(self) -> str:
        return f"Orientation({self.joint!r}, weight={self.weight})"
