"""Constraint kinds: one file each, all sharing the interface of ``base.Constraint``."""

from .avoid import Avoid, Capsule, Sphere
from .balance import Balance
from .base import LOWEST_PRIORITY, Constraint
from .bone_direction import BoneDirection
from .floor import Floor
from .look_at import LookAt
from .orientation import Orientation
from .pin import Pin
from .pole_vector import PoleVector
from .position import Position
from .rest_pose import RestPose
from .self_collision import SelfCollision
from .smoothness import Smoothness

__all__ = [
    "LOWEST_PRIORITY",
    "Avoid",
    "Balance",
    "Capsule",
    "Floor",
    "SelfCollision",
    "Sphere",
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
