"""The settings of the Levenberg-Marquardt solver (``levenberg_marquardt.py``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LMOptions:
    """Static settings of the solver (changing them compiles a new program).

    Attributes:
        restarts: how many times a stalled solve may restart from a random in-limit pose.
        stall_iterations: consecutive iterations that lower the cost by less than
            ``min_decrease`` (relative) before a restart.
        creep_iterations: iterations without halving the cost before a restart. A trade-off
            (benchmarks/body_benchmark.py, the "_patient" rows use 12): more patience lets
            cold starts with many reachable targets on several priority levels finish the
            descent they are on (in about half the time), while fewer lets a solve whose
            target is out of reach try more poses (it ends closer to the best one).
        lambda_min: damping floor; keeps steps finite at singular (stretched) poses.
        min_decrease: relative cost decrease that counts as a real step.
        step_slack: during the iterations, a level within this many tolerances counts as
            met when steps are compared (the best pose is judged by the tolerances).
        perturbation: restarts start the chains to the targets this fraction of the way from
            the middle of their ranges toward a uniform random in-limit pose, and the joints
            that hold the initial pose (above a ``Pin``) this fraction of the way from the best
            pose so far toward it.
        lower_level_step: the largest change (metres or radians, residual norm) that a
            priority level below the first asks of one step.
        warm_restarts: the most restarts of a solve that starts from the caller's pose (a warm
            start; ``restarts`` is the most of a cold one).
        polish_iterations: a solve that has restarted and meets nothing yet goes back to its
            best pose once its restarts are spent, or this many iterations before its budget
            ends, and descends from there (no more restarts) until that descent stalls too, at
            0.01 % per step, or the budget ends.
    """

    restarts: int = 60
    stall_iterations: int = 6
    creep_iterations: int = 6
    lambda_min: float = 1e-6
    min_decrease: float = 0.01
    step_slack: float = 100
    perturbation: float = 0.5
    lower_level_step: float = 0.3
    polish_iterations: int = 30
    warm_restarts: int = 8

    def __post_init__(self) -> None:
        from ik_engine.errors import SolverError

        for name in ("restarts", "warm_restarts"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (isinstance(value, (int, np.integer)) and value >= 0):
                raise SolverError(f"{name} must be an integer >= 0, got {value!r}")
        for name in ("stall_iterations", "creep_iterations", "polish_iterations"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (isinstance(value, (int, np.integer)) and value >= 1):
                raise SolverError(f"{name} must be an integer >= 1, got {value!r}")
        if not (np.isfinite(self.lambda_min) and self.lambda_min > 0):
            raise SolverError(f"lambda_min must be finite and > 0, got {self.lambda_min!r}")
