"""Pin: a joint keeps its world position (and optionally its rotation) from the initial pose."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConstraintError
from ..rotations import inverse_left_jacobian, matrix_to_axis_angle
from .base import Constraint, check_joint_name, check_priority, check_weight

# Rotation rows are scaled by this lever arm (metres), so that every row of the residual
# and the error are in metres: a rotation by angle t moves a point at this distance from
# the joint by about PIN_RADIUS * t.
PIN_RADIUS = 0.1


class Pin(Constraint):
    """A joint stays where it is in the initial pose of the solve (feet on the ground).

    Args:
        joint: joint name.
        rotation: also keep the joint's world rotation.
        weight: relative importance (multiplies the squared residual).
        priority: 0 is the highest.

    The reference is the initial pose as the solver starts from it (clipped into the joint
    limits), so a Pin has no target and no parameters.

    Residual: ``p_world_joint - p0`` (3,), metres; with ``rotation=True`` also
    ``PIN_RADIUS * log(R_world_joint R0^T)`` (3,), the rotation error as the displacement
    (metres) of a point 0.1 m from the joint.

    Error, metres: ``|p - p0|``; with ``rotation=True``, ``|p - p0| + 0.1 m * angle``,
    where ``angle`` is the rotation between the joint's frame and the initial one (radians):
    an upper bound on how far any point within 0.1 m of the joint has moved. The solver's
    position tolerance (1e-4 m by default) thus also bounds the angle (1e-3 rad).
    """

    tolerance_kind = "position"
    uses_initial_pose = True

    def __init__(self, joint: str, rotation: bool = False, weight: float = 1.0, priority: int = 0) -> None:
        self.joint = check_joint_name(joint, "Pin")
        if not isinstance(rotation, (bool, np.bool_)):
            raise ConstraintError(f"Pin rotation of joint {joint!r} must be True or False, got {rotation!r}")
        self.rotation = bool(rotation)
        self.weight = check_weight(weight, "Pin")
        self.priority = check_priority(priority, "Pin")

    def joints(self) -> tuple[str, ...]:
        return (self.joint,)

    def static(self, skeleton: Any) -> tuple[bool]:
        """(rotation,): it changes the residual's size."""
        return (self.rotation,)

    def parameters(self, skeleton: Any) -> np.ndarray:
        """Empty (0,): the reference comes from the initial pose."""
        return np.zeros(0)

    @staticmethod
    def alignment_point(state: Any, slot: Any, params: Any, xp: Any):
        """(current world position (3,), initial one (3,)): used to align the whole body first."""
        (row,) = slot.joint_rows
        return state.p_world_joint[row], state.initial.p_world_joint[row]

    @classmethod
    def residual_size(cls, static: Any, joint_rows: tuple[int, ...], problem: Any) -> int:
        (rotation,) = static
        return 6 if rotation else 3

    @staticmethod
    def residual(state: Any, slot: Any, params: Any, xp: Any):
        (row,) = slot.joint_rows
        (rotation,) = slot.static
        p_world_joint = state.p_world_joint[row]
        r = p_world_joint - state.initial.p_world_joint[row]
        J = state.point_jacobian(row, p_world_joint)
        distance = xp.sqrt(xp.sum(r * r))
        if not rotation:  # static choice, not an array value
            return r, J, distance
        # Error rotation in the world frame, as in Orientation with the initial frame as target.
        e = matrix_to_axis_angle(state.R_world_joint[row] @ state.initial.R_world_joint[row].T, xp)
        J_e = inverse_left_jacobian(e, xp) @ state.rotation_jacobian(row)
        angle = xp.sqrt(xp.sum(e * e))
        residual = xp.concatenate([r, PIN_RADIUS * e])
        jacobian = xp.concatenate([J, PIN_RADIUS * J_e], axis=0)
        return residual, jacobian, distance + PIN_RADIUS * angle

    def __repr__(self) -> str:
        return f"Pin({self.joint!r}, rotation={self.rotation}, weight={self.weight}, priority={self.priority})"
