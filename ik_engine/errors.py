"""Typed exceptions of ik-engine.

Every error the library raises on bad input is one of these, so callers can catch
``ik_engine.IKError`` and the message always names what was wrong and where.
"""

from __future__ import annotations


class IKError(Exception):
    """Base class of every error raised by ik-engine on bad input or bad state."""


class SkeletonError(IKError, ValueError):
    """A skeleton definition (names, parents, offsets, limits) is malformed."""


class UnknownJointError(IKError, LookupError):
    """A joint name that the skeleton does not have."""

    def __str__(self) -> str:  # LookupError would otherwise quote the message like a key
        return str(self.args[0]) if self.args else ""


class PoseError(IKError, ValueError):
    """A pose has the wrong shape or non-finite values."""


class ConstraintError(IKError, ValueError):
    """A constraint has a malformed target, weight, offset or rotation."""


class SolverError(IKError, ValueError):
    """The solver was configured or called incorrectly (empty constraints, bad options)."""


class SkeletonFileError(IKError, ValueError):
    """A skeleton or data file is missing, unreadable or malformed."""
