"""What every solve method does first, on any backend."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


class SolveStart(NamedTuple):
    """The start of a solve.

    q0: (n,) the start, clipped into the box; inputs: the ProblemInputs, with ``initial`` set
    for Pin-like constraints; lower, upper: (n,) the box; error_tolerance: (C,) each
    constraint's tolerance (metres or radians); counted: (C,) bool, the constraints that
    must be met to converge (targets and inequalities with a weight above zero).
    """

    q0: Any
    inputs: Any
    lower: Any
    upper: Any
    error_tolerance: Any
    counted: Any


def start_solve(problem: Any, q0: Any, inputs: Any, tolerances: Any, q_reference: Any, xp: Any) -> SolveStart:
    """Clip the start into the limits, give Pin-like constraints the pose they hold, and
    read each constraint's tolerance from ``tolerances`` (2,) = (metres, radians) (or (3,):
    a third entry, the warm-start flag, is the solve method's).

    Pin-like constraints hold the caller's initial pose ``q_reference`` (default: q0), also
    when the solve is warm-started elsewhere.
    """
    dtype = q0.dtype
    lower = xp.asarray(problem.lower, dtype)
    upper = xp.asarray(problem.upper, dtype)
    q0 = problem.within_limits(xp.clip(q0, lower, upper), xp)
    if problem.uses_initial_state:
        reference = q0 if q_reference is None else problem.within_limits(xp.clip(q_reference, lower, upper), xp)
        inputs = inputs._replace(initial=problem.state(reference, inputs, xp))
    tolerance_index = problem.tolerance_index
    error_tolerance = tolerances[np.maximum(tolerance_index, 0)]
    # Regularisers (no tolerance) never hold up convergence; nor does a constraint with
    # zero weight, which pulls nothing.
    counted = (tolerance_index >= 0) & (inputs.sqrt_weights > 0)
    return SolveStart(q0, inputs, lower, upper, error_tolerance, counted)
