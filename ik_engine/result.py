"""IKResult: what a solve returns (every method and baseline returns one)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .pose import Pose


@dataclass(frozen=True)
class IKResult:
    """What a solve returns.

    Attributes:
        pose: the best pose found; always inside the joint limits.
        converged: every constraint is within its tolerance.
        iterations: solver iterations used (over all restarts).
        position_error: largest error of the Position-like constraints, metres (0.0 if none).
        orientation_error: largest error of the Orientation-like constraints, radians (0.0 if none).
        errors: (C,) error of each constraint, in the order given (metres or radians).
        restarts: how many times the solver restarted from another seed.
        seconds: wall time of the solve, seconds (NaN for a result taken out of a batch).
        ignored: indices of the constraints not solved for: weight 0, or below 1e-12 times the
            largest weight of their priority level (their errors are reported; they never
            hold up ``converged``).
    """

    pose: Pose
    converged: bool
    iterations: int
    position_error: float
    orientation_error: float
    errors: np.ndarray = field(repr=False)
    restarts: int = 0
    seconds: float = float("nan")
    ignored: tuple[int, ...] = ()
