"""What every constraint kind provides.

A constraint has a static part (its kind and the joints it touches: changing these
compiles a new program) and array parameters (targets, offsets, weight: changing these
never recompiles). Its residual is written against an array namespace and reads the
kinematic state of the problem (``ik_engine.problem.KinematicState``), which also
provides the Jacobian of any world point or joint frame with respect to the variables.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from ..errors import ConstraintError


def check_weight(weight: Any, kind: str) -> float:
    """A finite, non-negative weight, or ConstraintError."""
    try:
        w = float(weight)
    except (TypeError, ValueError):
        raise ConstraintError(f"{kind} weight must be a number, got {weight!r}") from None
    if not math.isfinite(w) or w < 0:
        raise ConstraintError(f"{kind} weight must be finite and >= 0, got {weight!r}")
    return w


def check_vector(value: Any, size: int, what: str) -> np.ndarray:
    """A finite float64 vector of ``size`` entries, or ConstraintError naming ``what``."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConstraintError(f"{what} must be {size} numbers, got {value!r}") from None
    if array.shape != (size,):
        raise ConstraintError(f"{what} must have shape ({size},), got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ConstraintError(f"{what} must be finite, got {array.tolist()}")
    return array


def check_joint_name(joint: Any, kind: str) -> str:
    if not isinstance(joint, str) or not joint:
        raise ConstraintError(f"{kind} needs a joint name (str), got {joint!r}")
    return joint


class Constraint:
    """Base class of the constraint kinds.

    Subclasses set ``residual_size`` (rows they add), ``tolerance_kind`` (which solver
    tolerance decides that they are met: "position" in metres or "orientation" in
    radians) and implement ``joints``, ``parameters`` and ``residual``.
    """

    residual_size: ClassVar[int]
    tolerance_kind: ClassVar[str]
    weight: float

    def joints(self) -> tuple[str, ...]:
        """Names of the joints whose world frames the residual reads."""
        raise NotImplementedError

    def parameters(self) -> np.ndarray:
        """Flat float64 array of everything that may change between solves (not the weight)."""
        raise NotImplementedError

    @classmethod
    def parameter_size(cls) -> int:
        raise NotImplementedError

    @staticmethod
    def residual(state: Any, joint_rows: tuple[int, ...], params: Any, xp: Any) -> tuple[Any, Any, Any]:
        """Residual (k,), its Jacobian (k, n) and the scalar error the user sees.

        ``joint_rows`` are the rows of ``self.joints()`` in the problem's kinematic state.
        """
        raise NotImplementedError
