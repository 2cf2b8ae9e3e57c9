"""Constraint kinds: one file each, all sharing the interface of ``base.Constraint``."""

from .base import Constraint
from .orientation import Orientation
from .position import Position

__all__ = ["Constraint", "Orientation", "Position"]
