"""LookAt: an axis fixed in a joint's frame points at a world point (head, eyes)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..errors import ConstraintError
from ..kinematics import joint_world_positions
from ..rotations import skew
from .parameter_structure import pack, unpack
from .base import Constraint, batch_size_of, check_batched_vectors, check_direction, check_joint_name, check_priority, check_weight

# Below this length (metres) a vector is too short to have a direction: it is divided by
# this instead of its length, so the residual stays finite.
EPS_LENGTH = 1e-6
# How close (metres) the target may come to the joint in the initial pose.
MIN_TARGET_DISTANCE = 1e-6
EYE = np.eye(3)


def unit_with_jacobian(v: Any, J_v: Any, eps: float, xp: Any) -> tuple[Any, Any, Any]:
    """``v / max(|v|, eps)`` (3,), its Jacobian (3, n) from ``J_v`` (3, n), and ``|v|``.

    The Jacobian is the exact derivative of the guarded expression: the tangent
    projection ``(I - u u^T) / |v|`` when ``|v| > eps``, ``I / eps`` below.
    """
    norm = xp.sqrt(xp.sum(v * v))
    long_enough = norm > eps
    length = xp.maximum(norm, eps)
    u = v / length
    eye = xp.asarray(EYE, dtype=v.dtype)
    tangent = (eye - xp.outer(u, u)) / length
    D = xp.where(long_enough, tangent, eye / eps)
    return u, D @ J_v, norm


def angle_between(x: Any, y: Any, xp: Any) -> Any:
    """Angle between two 3-vectors, radians in [0, pi]; accurate at 0 and pi (float32 too).

    0 when either vector is zero (``atan2(0, 0)``): callers that can meet zero vectors
    decide what such a case reports.
    """
    # The cross product written out: numpy's ``cross`` spends about 10 us on axis handling, more
    # than its arithmetic, and interpreted solves call this once per evaluation and constraint.
    x0, x1, x2, y0, y1, y2 = x[..., 0], x[..., 1], x[..., 2], y[..., 0], y[..., 1], y[..., 2]
    c0, c1, c2 = x1 * y2 - x2 * y1, x2 * y0 - x0 * y2, x0 * y1 - x1 * y0
    return xp.arctan2(xp.sqrt(c0 * c0 + c1 * c1 + c2 * c2), xp.sum(x * y, axis=-1))


def check_axis(value: Any, joint: str, kind: str) -> np.ndarray:
    """A unit 3-vector in the joint's frame, or ConstraintError naming the joint."""
    return check_direction(value, f"{kind} axis of joint {joint!r}")


class LookAtParameters(NamedTuple):
    """LookAt's parameters, each (..., 3): the world point looked at (metres) and the unit
    axis in the joint's frame that points at it."""

    target: Any
    axis: Any


SHAPES = {"target": (3,), "axis": (3,)}


class LookAt(Constraint):
    """The axis ``axis`` of a joint's frame points at the world point ``target``.

    In SMPL-X the rest frames are aligned with the world (+X left, +Y up, +Z forward), so
    the default ``axis = (0, 0, 1)`` is the face's forward direction for the head and eyes.

    Args:
        joint: joint name.
        target: (3,) world point to look at, metres; (B, 3) for ``solve_batch``.
        axis: (3,) direction in the joint's frame (normalised here; must not be zero).
        weight: relative importance (multiplies the squared residual).
        priority: 0 is the highest.

    Residual (3,): ``R_world_joint @ axis - unit(target - p_world_joint)``, the chord
    between the two unit directions (``2 sin(angle / 2)`` long).

    Error: the angle between the joint's axis and the direction to the target, radians.
    """

    tolerance_kind = "orientation"
    residual_rows = 3
    reaches_target = True

    def __init__(self, joint: str, target, axis=(0.0, 0.0, 1.0), weight: float = 1.0, priority: int = 0) -> None:
        self.joint = check_joint_name(joint, "LookAt")
        self.target = check_batched_vectors(target, 3, f"LookAt target of joint {joint!r}")
        self.axis = check_axis(axis, joint, "LookAt")
        self.weight = check_weight(weight, "LookAt")
        self.priority = check_priority(priority, "LookAt")

    @property
    def batch_size(self) -> int | None:
        return batch_size_of(self.target, 1)

    def joints(self) -> tuple[str, ...]:
        return (self.joint,)

    def parameters(self, skeleton: Any) -> np.ndarray:
        """(6,) = target (3), axis (3); (B, 6) for a batch of targets."""
        return pack(LookAtParameters(self.target, self.axis))

    def shifted_parameters(self, skeleton: Any, shift: np.ndarray) -> np.ndarray:
        return pack(LookAtParameters(self.target - shift, self.axis))

    def validate(self, skeleton: Any, init: Any) -> None:
        p_world_joint = joint_world_positions(skeleton, init, [skeleton.index(self.joint)])[0]
        distances = np.linalg.norm(np.atleast_2d(self.target) - p_world_joint, axis=-1)
        close = np.flatnonzero(distances < MIN_TARGET_DISTANCE)
        if len(close):
            which = "" if self.target.ndim == 1 else f" (batch entry {int(close[0])})"
            raise ConstraintError(
                f"LookAt target of joint {self.joint!r}{which} coincides with the joint in the initial pose "
                f"(distance {distances[close[0]]:.3g} m): there is no direction to look in"
            )

    @staticmethod
    def residual(state: Any, slot: Any, params: Any, xp: Any):
        (row,) = slot.joint_rows
        p = unpack(LookAtParameters, params, SHAPES, xp)
        p_world_target, axis = p.target, p.axis
        p_world_joint = state.p_world_joint[row]
        a_world = state.R_world_joint[row] @ axis
        # d(R a) = omega x (R a) = -[R a]x omega
        J_axis = -skew(a_world, xp) @ state.rotation_jacobian(row)
        # The target is fixed; the joint moves with velocity point_jacobian.
        u, J_u, _ = unit_with_jacobian(p_world_target - p_world_joint, -state.point_jacobian(row, p_world_joint), EPS_LENGTH, xp)
        r = a_world - u
        return r, J_axis - J_u, angle_between(a_world, u, xp)

    def __repr__(self) -> str:
        return (
            f"LookAt({self.joint!r}, target={self.target.tolist()}, axis={self.axis.tolist()}, "
            f"weight={self.weight}, priority={self.priority})"
        )
