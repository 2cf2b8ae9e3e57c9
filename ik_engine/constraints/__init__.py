"""Constraint kinds: one file each, all sharing the interface of ``base.Constraint``."""

from .base import LOWEST_PRIORITY, Constraint
from .orientation import Orientation
from .position import Position
from .rest_pose import RestPose
from .smoothness import Smoothness

__all__ = ["LOWEST_PRIORITY", "Constraint", "Orientation", "Position", "RestPose", "Smoothness"]
