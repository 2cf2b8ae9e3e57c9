"""Smoothness: pull toward the previous frame's pose (a regulariser for animation loops)."""

from __future__ import annotations

from ..errors import ConstraintError
from ..pose import Pose
from .base import LOWEST_PRIORITY
from .rest_pose import RestPose


class Smoothness(RestPose):
    """Pull every moving joint (and the root translation, when it moves) toward ``previous``.

    In a frame loop this damps frame-to-frame motion to what the targets require: with the
    default lowest priority it acts only in the freedom the targets leave, so it removes
    jitter and drift without pulling the targets off.

    Args:
        previous: the previous frame's Pose (or a predicted one, see ``IKSolver.solve_sequence``).
        weights: per-joint weights as for RestPose.
        weight: overall weight.
        priority: default: below every other level.

    Error: root-mean-square change of the joint coordinates (axis-angle components, or Euler
    angles where the limits use them) over the moving joints, radians.
    """

    pulls_translation = True

    def __init__(self, previous: Pose, weights=None, weight: float = 1.0, priority: int = LOWEST_PRIORITY) -> None:
        if not isinstance(previous, Pose):
            raise ConstraintError(f"Smoothness needs the previous frame's ik_engine.Pose, got {type(previous).__name__}")
        super().__init__(weights=weights, reference=previous, weight=weight, priority=priority)

