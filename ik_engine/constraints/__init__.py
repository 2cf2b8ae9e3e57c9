"""Constraint kinds: one file each, all sharing the interface of ``base.Constraint``."""

from .base import LOWEST_PRIORITY, Constraint
from .bone_direction import BoneDirection
from .look_at import LookAt
from .orientation import Orientation
from .pin import Pin
from .pole_vector import PoleVector
from .position import Position
from .rest_pose import RestPose
from .smoothness import Smoothness

__all__ = [
    "LOWEST_PRIORITY",
    "BoneDirection",
    "Constraint",
    "LookAt",
    "Orientation",
    "Pin",
    "PoleVector",
    "Position",
    "RestPose",
    "Smoothness",
]
