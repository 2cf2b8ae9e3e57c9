"""Floor: joints stay above a horizontal plane."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..errors import ConstraintError, UnknownJointError
from ..geometry import BODY_JOINTS, INEQUALITY_SLACK, cached_for, point_jacobians
from ..validation import MAX_COORDINATE, distinct_names, finite_number
from .base import Constraint, check_joint_name, check_priority, check_weight
from .parameter_structure import pack, unpack

# The body joints and the last joint of each middle finger (so a hand pointing down keeps its
# fingers out of the floor too).
DEFAULT_FLOOR_JOINTS: tuple[str, ...] = BODY_JOINTS + ("left_middle3", "right_middle3")


def check_height(value: Any, what: str) -> float:
    return finite_number(value, what, ConstraintError, unit="metres", maximum=MAX_COORDINATE)


def default_clearances(skeleton: Any, joints: tuple[str, ...]) -> np.ndarray:
    """(k,) how far above the floor each joint's centre must stay, metres.

    The joint's capsule radius (``skeleton.radii``), but never more than its height in the
    rest pose (less two slacks) so that the rest stance, which stands on y = 0, is strictly
    feasible: the ball of the foot sits 2.2 cm above its sole although its capsule radius is
    4 cm.
    """
    if skeleton.radii is None:
        raise ConstraintError(
            f"Floor needs capsule radii for its default clearances, but skeleton {skeleton.name!r} has none "
            "(Skeleton.radii is None): pass clearance=<metres>"
        )
    idx = skeleton.indices(joints)
    rest_height = skeleton.rest_positions()[idx, 1]
    return np.maximum(np.minimum(skeleton.radii[idx], rest_height - 2 * INEQUALITY_SLACK), 0.0)


class FloorParameters(NamedTuple):
    """Floor's parameters: the floor's height (world y, metres) and each joint's clearance (n,)."""

    height: Any
    clearance: Any


class Floor(Constraint):
    """Joints stay above the horizontal plane y = ``height``.

    Each named joint's centre stays at least its clearance above the plane: by default its
    capsule radius (at most its rest-pose height, so standing at rest is allowed), or
    ``clearance`` metres for every joint. Capsules reach lowest at their end points (height
    is linear along a segment), so keeping every body joint up keeps the bones' centre lines
    up too.

    Args:
        height: y of the floor, metres.
        joints: joint names (default: the 22 body joints and the two middle-finger tips'
            last joints, ``DEFAULT_FLOOR_JOINTS``).
        clearance: None (per-joint default above) or metres for all joints.
        weight, priority: as for every constraint (0 = highest priority).

    Residual rows: ``max(0, height + clearance_j - y_j + slack)`` (slack 1 mm). Error: the
    largest depth, metres, by which a joint is below its clearance (0 when all are above).
    """

    bakes_rest_geometry = True

    tolerance_kind = "position"

    def __init__(
        self, height: float = 0.0, joints=None, clearance: float | None = None, weight: float = 1.0, priority: int = 0
    ) -> None:
        self.height = check_height(height, "Floor height")
        if joints is None:
            joints = DEFAULT_FLOOR_JOINTS
        joints = distinct_names(joints, "Floor joints", ConstraintError, "joint name")
        self._joints = tuple(check_joint_name(j, "Floor") for j in joints)
        if clearance is not None:
            clearance = check_height(clearance, "Floor clearance")
            if clearance < 0:
                raise ConstraintError(f"Floor clearance must be >= 0, got {clearance!r}")
        self.clearance = clearance
        self.weight = check_weight(weight, "Floor")
        self.priority = check_priority(priority, "Floor")

    def joints(self) -> tuple[str, ...]:
        return self._joints

    def clearances(self, skeleton: Any) -> np.ndarray:
        """(k,) clearance of each joint above the floor on ``skeleton``, metres."""
        if self.clearance is not None:
            return np.full(len(self._joints), self.clearance)
        key = ("Floor.clearances", self._joints)
        return cached_for(skeleton, key, lambda: default_clearances(skeleton, self._joints)).copy()

    def validate(self, skeleton: Any, init: Any) -> None:
        try:
            skeleton.indices(self._joints)
        except UnknownJointError as exc:
            raise UnknownJointError(f"Floor: {exc}") from None
        self.clearances(skeleton)

    def parameters(self, skeleton: Any) -> np.ndarray:
        return self.shifted_parameters(skeleton, np.zeros(3))

    def shifted_parameters(self, skeleton: Any, shift: np.ndarray) -> np.ndarray:
        shift = np.asarray(shift, dtype=np.float64)
        return pack(FloorParameters((self.height - shift[..., 1])[..., None], self.clearances(skeleton)))

    @classmethod
    def residual_size(cls, static: Any, joint_rows: tuple[int, ...], problem: Any) -> int:
        return len(joint_rows)

    @staticmethod
    def residual(state: Any, slot: Any, params: Any, xp: Any):
        rows = np.asarray(slot.joint_rows, dtype=np.int64)
        p = unpack(FloorParameters, params, {"height": (), "clearance": (len(rows),)}, xp)
        height, clearance = p.height, p.clearance
        p_world = xp.take(state.p_world_joint, rows, axis=0)
        depth = height + clearance - p_world[:, 1]
        r = xp.maximum(depth + INEQUALITY_SLACK, 0.0)
        # Each joint's centre moves rigidly with its own frame.
        J_y = point_jacobians(state, rows, p_world, xp)[:, 1, :]
        J = xp.where((r > 0.0)[:, None], -J_y, 0.0)
        return r, J, xp.maximum(xp.max(depth), 0.0)

    def __repr__(self) -> str:
        return f"Floor(height={self.height}, {len(self._joints)} joints, weight={self.weight}, priority={self.priority})"
