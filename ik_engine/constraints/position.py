"""Position: a point fixed in a joint's frame reaches a world point."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .parameter_structure import pack, unpack
from .base import Constraint, batch_size_of, check_batched_vectors, check_joint_name, check_priority, check_vector, check_weight


class PositionParameters(NamedTuple):
    """Position's parameters, each (..., 3): the world target and the point's offset in the
    joint's frame, metres."""

    target: Any
    offset: Any


SHAPES = {"target": (3,), "offset": (3,)}


class Position(Constraint):
    """A joint (or a point at ``offset`` in the joint's frame) reaches ``target``.

    Args:
        joint: joint name.
        target: (3,) world position, metres; (B, 3) for ``solve_batch``.
        weight: relative importance (the squared error is multiplied by it).
        offset: (3,) point in the joint's frame, metres (default: the joint itself).
        priority: 0 is the highest.

    Error: the distance between the point and the target, metres.
    """

    tolerance_kind = "position"
    residual_rows = 3
    reaches_target = True

    def __init__(self, joint: str, target, weight: float = 1.0, offset=(0.0, 0.0, 0.0), priority: int = 0) -> None:
        self.joint = check_joint_name(joint, "Position")
        self.target = check_batched_vectors(target, 3, f"Position target of joint {joint!r}")
        self.offset = check_vector(offset, 3, f"Position offset of joint {joint!r}")
        self.weight = check_weight(weight, "Position")
        self.priority = check_priority(priority, "Position")

    @property
    def batch_size(self) -> int | None:
        return batch_size_of(self.target, 1)

    def joints(self) -> tuple[str, ...]:
        return (self.joint,)

    def parameter_size(self, skeleton: Any) -> int:
        return 6

    def parameters(self, skeleton: Any) -> np.ndarray:
        return pack(PositionParameters(self.target, self.offset))

    def shifted_parameters(self, skeleton: Any, shift: np.ndarray) -> np.ndarray:
        return pack(PositionParameters(self.target - shift, self.offset))

    @staticmethod
    def residual(state: Any, slot: Any, params: Any, xp: Any):
        r, J, error = Position.batched_residual(state, np.array(slot.joint_rows), xp.reshape(params, (1, 6)), xp)
        return r[0], J[0], error[0]

    @staticmethod
    def batched_residual(state: Any, rows: np.ndarray, params: Any, xp: Any):
        """``residual`` of k Position constraints at once: joint rows (k,), parameters (k, 6)
        -> residuals (k, 3), Jacobians (k, 3, n), errors (k,)."""
        p = unpack(PositionParameters, params, SHAPES, xp)
        p_world_target, offset = p.target, p.offset
        R_world_joint = xp.take(state.R_world_joint, rows, axis=0)  # (k, 3, 3)
        p_world_point = xp.take(state.p_world_joint, rows, axis=0) + xp.sum(R_world_joint * offset[:, None, :], axis=-1)
        r = p_world_point - p_world_target
        return r, state.point_jacobians(rows, p_world_point), xp.sqrt(xp.sum(r * r, axis=-1))

    @staticmethod
    def alignment_point(state: Any, slot: Any, params: Any, xp: Any):
        """(current world point (3,), its target (3,)): used to align the whole body first."""
        (row,) = slot.joint_rows
        p = unpack(PositionParameters, params, SHAPES, xp)
        return state.p_world_joint[row] + state.R_world_joint[row] @ p.offset, p.target

    def __repr__(self) -> str:
        return f"Position({self.joint!r}, target={self.target.tolist()}, weight={self.weight}, priority={self.priority})"
