"""BoneDirection: an axis fixed in a joint's frame (by default its bone) points along a world direction."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..errors import ConstraintError
from ..rotations import skew
from .parameter_structure import pack, unpack
from .base import Constraint, batch_size_of, check_batched_vectors, check_joint_name, check_priority, check_weight
from .look_at import angle_between, check_axis

# A child offset shorter than this (metres) has no usable direction.
MIN_BONE_LENGTH = 1e-6


def check_batched_directions(value: Any, what: str) -> np.ndarray:
    """Finite, non-zero directions (3,) or (B, 3), each normalised, or ConstraintError."""
    array = check_batched_vectors(value, 3, what)
    norms = np.linalg.norm(array, axis=-1, keepdims=True)
    if (norms < 1e-9).any():
        which = "" if array.ndim == 1 else f" (batch entry {int(np.flatnonzero(norms[..., 0] < 1e-9)[0])})"
        raise ConstraintError(f"{what}{which} must not have zero length, got {array.tolist()}")
    return array / norms


def bone_axis(skeleton: Any, joint: str) -> np.ndarray:
    """(3,) unit direction from ``joint`` to its first child (lowest index), in the joint's frame.

    A child's rest offset is expressed in its parent's frame (rest rotation included), so
    its direction is the bone's axis whatever the skeleton's rest rotations.
    """
    j = skeleton.index(joint)
    children = np.flatnonzero(skeleton.parents == j)
    if len(children) == 0:
        raise ConstraintError(
            f"BoneDirection: joint {joint!r} has no child, so it has no bone to align; pass axis= explicitly"
        )
    offset = skeleton.rest_offsets[children[0]]
    length = np.linalg.norm(offset)
    if length < MIN_BONE_LENGTH:
        raise ConstraintError(
            f"BoneDirection: the bone from joint {joint!r} to its child {skeleton.joint_names[children[0]]!r} "
            f"has zero length in the rest pose; pass axis= explicitly"
        )
    return offset / length


class BoneDirectionParameters(NamedTuple):
    """BoneDirection's parameters, each (..., 3): the world direction and the unit axis in the
    joint's frame that should point along it."""

    direction: Any
    axis: Any


SHAPES = {"direction": (3,), "axis": (3,)}


class BoneDirection(Constraint):
    """The axis ``axis`` of a joint's frame points along the world direction ``direction``.

    Args:
        joint: joint name.
        direction: (3,) world direction (normalised here; must not be zero); (B, 3) for
            ``solve_batch``.
        axis: (3,) direction in the joint's frame (normalised here). Default: the bone from
            the joint to its first child (lowest joint index) in the rest pose, e.g. the
            forearm for ``left_elbow``; a joint without a child then needs ``axis``.
        weight: relative importance (multiplies the squared residual).
        priority: 0 is the highest.

    Residual (3,): ``R_world_joint @ axis - direction`` (``2 sin(angle / 2)`` long).

    Error: the angle between the joint's axis in the world and ``direction``, radians.
    """

    tolerance_kind = "orientation"
    residual_rows = 3
    reaches_target = True

    def __init__(self, joint: str, direction, axis=None, weight: float = 1.0, priority: int = 0) -> None:
        self.joint = check_joint_name(joint, "BoneDirection")
        self.direction = check_batched_directions(direction, f"BoneDirection direction of joint {joint!r}")
        self.axis = None if axis is None else check_axis(axis, joint, "BoneDirection")
        self.weight = check_weight(weight, "BoneDirection")
        self.priority = check_priority(priority, "BoneDirection")

    @property
    def batch_size(self) -> int | None:
        return batch_size_of(self.direction, 1)

    def joints(self) -> tuple[str, ...]:
        return (self.joint,)

    def axis_in_joint_frame(self, skeleton: Any) -> np.ndarray:
        """(3,) the unit axis in the joint's frame: the given one or the bone's."""
        return self.axis if self.axis is not None else bone_axis(skeleton, self.joint)

    def parameters(self, skeleton: Any) -> np.ndarray:
        """(6,) = direction (3), axis (3); (B, 6) for a batch of directions."""
        return pack(BoneDirectionParameters(self.direction, self.axis_in_joint_frame(skeleton)))

    def validate(self, skeleton: Any, init: Any) -> None:
        self.axis_in_joint_frame(skeleton)

    @staticmethod
    def residual(state: Any, slot: Any, params: Any, xp: Any):
        (row,) = slot.joint_rows
        p = unpack(BoneDirectionParameters, params, SHAPES, xp)
        direction, axis = p.direction, p.axis
        a_world = state.R_world_joint[row] @ axis
        # d(R a) = omega x (R a) = -[R a]x omega
        J = -skew(a_world, xp) @ state.rotation_jacobian(row)
        return a_world - direction, J, angle_between(a_world, direction, xp)

    def __repr__(self) -> str:
        axis = "bone" if self.axis is None else self.axis.tolist()
        return (
            f"BoneDirection({self.joint!r}, direction={self.direction.tolist()}, axis={axis}, "
            f"weight={self.weight}, priority={self.priority})"
        )
