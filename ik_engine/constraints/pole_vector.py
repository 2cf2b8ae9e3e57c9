"""PoleVector: a limb (upper joint a, middle joint b, end joint c) bends toward a world point."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..errors import ConstraintError
from ..kinematics import joint_world_positions
from .base import Constraint, batch_size_of, check_batched_vectors, check_joint_name, check_priority, check_weight
from .parameter_structure import pack, unpack
from .look_at import angle_between, unit_with_jacobian

# Shorter than this (metres), the limb's line a->c has no direction.
EPS_LIMB = 1e-6
# A bend (distance of b from the line a->c) below this (metres) counts as a straight limb:
# its bend direction is undefined, the residual pulls with a bounded gain toward the pole
# and the error reads STRAIGHT_LIMB_ERROR.
EPS_BEND = 1e-4
# The error of a straight limb: it bends toward no side.
STRAIGHT_LIMB_ERROR = np.pi / 2
# How close (metres) the pole may come to the limb's line in the initial pose.
MIN_POLE_DISTANCE = 1e-4


def limb_joints(skeleton: Any, joint: str) -> tuple[int, int, int]:
    """(parent, joint, first child) skeleton indices of the limb around ``joint``, or ConstraintError."""
    j = skeleton.index(joint)
    parent = int(skeleton.parents[j])
    if parent < 0:
        raise ConstraintError(f"PoleVector: joint {joint!r} is the root: a limb's middle joint needs a parent")
    children = np.flatnonzero(skeleton.parents == j)
    if len(children) == 0:
        raise ConstraintError(f"PoleVector: joint {joint!r} has no child: a limb's middle joint needs one")
    return parent, j, int(children[0])


def perpendicular_part(v: Any, J_v: Any, l: Any, J_l: Any, xp: Any) -> tuple[Any, Any]:
    """``(I - l l^T) v`` (3,) and its Jacobian (3, n), for a unit ``l`` that moves too."""
    along = xp.sum(l * v)
    w = v - l * along
    J_w = J_v - xp.outer(l, l) @ J_v - along * J_l - xp.outer(l, v) @ J_l
    return w, J_w


class PoleVectorParameters(NamedTuple):
    """PoleVector's parameters, each (..., 3): the world pole (metres) and the limb's child
    joint's rest offset in the middle joint's frame."""

    pole: Any
    child_offset: Any


SHAPES = {"pole": (3,), "child_offset": (3,)}


class PoleVector(Constraint):
    """A limb bends toward the world point ``pole`` (knees forward, elbows back or out).

    ``joint`` is the limb's middle joint (``left_knee``, ``left_elbow``...). With ``a`` its
    parent's position, ``b`` its own and ``c`` its first child's (lowest joint index), the
    bend direction (the part of ``b - a`` perpendicular to the line a->c) points toward the
    pole direction (the part of ``pole - a`` perpendicular to a->c). Turning the limb about
    a->c changes the bend direction without moving c, so a pole and a Position target on
    the end joint do not conflict, unless the joint limits forbid the twist; give the pole
    a lower priority (a larger number) than the end target when it may ask for too much,
    so that it only uses the freedom the target leaves.

    Args:
        joint: the limb's middle joint; it needs a parent and a child.
        pole: (3,) world point, metres; (B, 3) for ``solve_batch``. It must not lie on the
            limb's line a->c in the initial pose.
        weight: relative importance (multiplies the squared residual).
        priority: 0 is the highest.

    Residual (3,): unit bend direction minus unit pole direction. A bend below 0.1 mm is
    divided by 0.1 mm instead of its length, so a straight limb has a finite residual (the
    negated pole direction) whose gain pulls it to bend toward the pole.

    Error: the angle between the bend direction and the pole direction, radians; a
    straight limb (bend below 0.1 mm) reads pi/2.

    ``joints()`` lists only the middle joint: the parent is always part of the problem (as
    its ancestor), and the child's position is the point at the child's rest offset in
    the middle joint's frame.
    """

    tolerance_kind = "orientation"
    residual_rows = 3

    def __init__(self, joint: str, pole, weight: float = 1.0, priority: int = 0) -> None:
        self.joint = check_joint_name(joint, "PoleVector")
        self.pole = check_batched_vectors(pole, 3, f"PoleVector pole of joint {joint!r}")
        self.weight = check_weight(weight, "PoleVector")
        self.priority = check_priority(priority, "PoleVector")

    @property
    def batch_size(self) -> int | None:
        return batch_size_of(self.pole, 1)

    def joints(self) -> tuple[str, ...]:
        return (self.joint,)

    def static(self, skeleton: Any) -> tuple[int]:
        """(parent's skeleton index,): the residual reads the parent's position."""
        parent, _, _ = limb_joints(skeleton, self.joint)
        return (parent,)

    def parameters(self, skeleton: Any) -> np.ndarray:
        """(6,) = pole (3), the child's rest offset in the joint's frame (3); (B, 6) for a batch."""
        return self.shifted_parameters(skeleton, np.zeros(3))

    def shifted_parameters(self, skeleton: Any, shift: np.ndarray) -> np.ndarray:
        _, _, child = limb_joints(skeleton, self.joint)
        return pack(PoleVectorParameters(self.pole - shift, skeleton.rest_offsets[child]))

    def validate(self, skeleton: Any, init: Any) -> None:
        parent, j, child = limb_joints(skeleton, self.joint)
        a, c = joint_world_positions(skeleton, init, [parent, child])
        line = c - a
        length = np.linalg.norm(line)
        if length < EPS_LIMB:
            raise ConstraintError(
                f"PoleVector: the limb of joint {self.joint!r} has its ends "
                f"{skeleton.joint_names[parent]!r} and {skeleton.joint_names[child]!r} at the same point"
            )
        l = line / length
        to_pole = np.atleast_2d(self.pole) - a
        distances = np.linalg.norm(to_pole - np.outer(to_pole @ l, l), axis=-1)
        close = np.flatnonzero(distances < MIN_POLE_DISTANCE)
        if len(close):
            which = "" if self.pole.ndim == 1 else f" (batch entry {int(close[0])})"
            raise ConstraintError(
                f"PoleVector pole of joint {self.joint!r}{which} lies on the line of the limb "
                f"{skeleton.joint_names[parent]!r} -> {skeleton.joint_names[child]!r} in the initial pose "
                f"(distance {distances[close[0]]:.3g} m): it gives no direction to bend toward"
            )

    @staticmethod
    def residual(state: Any, slot: Any, params: Any, xp: Any):
        (row,) = slot.joint_rows
        (parent,) = slot.static
        row_a = state.problem.row_of[parent]  # static: the parent is an ancestor in the problem
        p = unpack(PoleVectorParameters, params, SHAPES, xp)
        pole, offset_child = p.pole, p.child_offset
        a, b = state.p_world_joint[row_a], state.p_world_joint[row]
        c = b + state.R_world_joint[row] @ offset_child
        # A joint's position does not depend on its own rotation: it moves with its parent's
        # frame, which point_jacobian of its own row describes correctly.
        J_a, J_b, J_c = state.point_jacobians(np.array([row_a, row, row]), xp.stack([a, b, c]))  # (3, n) each
        l, J_l, _ = unit_with_jacobian(c - a, J_c - J_a, EPS_LIMB, xp)
        bend, J_bend = perpendicular_part(b - a, J_b - J_a, l, J_l, xp)
        toward, J_toward = perpendicular_part(pole - a, -J_a, l, J_l, xp)
        u_bend, J_u_bend, bend_length = unit_with_jacobian(bend, J_bend, EPS_BEND, xp)
        u_pole, J_u_pole, _ = unit_with_jacobian(toward, J_toward, EPS_LIMB, xp)
        error = xp.where(bend_length > EPS_BEND, angle_between(u_bend, u_pole, xp), STRAIGHT_LIMB_ERROR)
        return u_bend - u_pole, J_u_bend - J_u_pole, error

    def __repr__(self) -> str:
        return f"PoleVector({self.joint!r}, pole={self.pole.tolist()}, weight={self.weight}, priority={self.priority})"
