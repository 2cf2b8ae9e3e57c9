"""Position: a point fixed in a joint's frame reaches a world point."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Constraint, check_joint_name, check_vector, check_weight


class Position(Constraint):
    """A joint (or a point at ``offset`` in the joint's frame) reaches ``target``.

    Args:
        joint: joint name.
        target: (3,) world position, metres.
        weight: relative importance (the squared error is multiplied by it).
        offset: (3,) point in the joint's frame, metres (default: the joint itself).

    Error: the distance between the point and the target, metres.
    """

    residual_size = 3
    tolerance_kind = "position"

    def __init__(self, joint: str, target, weight: float = 1.0, offset=(0.0, 0.0, 0.0)) -> None:
        self.joint = check_joint_name(joint, "Position")
        self.target = check_vector(target, 3, f"Position target of joint {joint!r}")
        self.offset = check_vector(offset, 3, f"Position offset of joint {joint!r}")
        self.weight = check_weight(weight, "Position")

    def joints(self) -> tuple[str, ...]:
        return (self.joint,)

    def parameters(self) -> np.ndarray:
        return np.concatenate([self.target, self.offset])

    @classmethod
    def parameter_size(cls) -> int:
        return 6

    @staticmethod
    def residual(state: Any, joint_rows: tuple[int, ...], params: Any, xp: Any):
        (row,) = joint_rows
        p_world_target, offset = params[0:3], params[3:6]
        p_world_point = state.p_world_joint[row] + state.R_world_joint[row] @ offset
        r = p_world_point - p_world_target
        J = state.point_jacobian(row, p_world_point)
        return r, J, xp.sqrt(xp.sum(r * r))

    def __repr__(self) -> str:
        return f"Position({self.joint!r}, target={self.target.tolist()}, weight={self.weight})"
