"""Solving clips: a sequence of frames, each with its constraints, warm-started frame by frame.

Smoothness across frames comes from a regulariser toward a predicted pose, at the lowest
priority (so it never pulls a target off):

    reference_t = (w_v q_{t-1} + w_a (2 q_{t-1} - q_{t-2})) / (w_v + w_a)

which is the minimiser of ``w_v |q - q_{t-1}|^2 + w_a |q - 2 q_{t-1} + q_{t-2}|^2``: a
velocity penalty and an acceleration penalty (constant-velocity prediction).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .constraints.base import Constraint, checked_constraints
from .constraints.smoothness import Smoothness
from .errors import SolverError
from .pose import Pose
from .result import IKResult
from .validation import finite_number



@dataclass(frozen=True)
class SequenceResult:
    """Results of ``solve_sequence``: one IKResult per frame, with the same interface as the
    ``BatchResult`` of ``solve_clip`` (``len``, ``[t]``, iteration, ``poses``, ``pose_arrays()``,
    and per-frame ``converged``, ``iterations``, ``position_error``, ``orientation_error``), so
    code reading a clip's results reads either. (Frames may differ in their constraints here,
    so there is no (T, C) ``errors`` array: each frame's ``[t].errors`` has its own.)

    Attributes:
        results: the T IKResults.
    """

    results: list

    @property
    def poses(self) -> list[Pose]:
        return [r.pose for r in self.results]

    def pose_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(rotations (T, J, 3), translations (T, 3)) of every frame."""
        return (np.stack([r.pose.rotations for r in self.results]),
                np.stack([r.pose.translation for r in self.results]))

    @property
    def converged(self) -> np.ndarray:
        return np.array([r.converged for r in self.results])

    @property
    def iterations(self) -> np.ndarray:
        return np.array([r.iterations for r in self.results], dtype=np.int64)

    @property
    def position_error(self) -> np.ndarray:
        return np.array([r.position_error for r in self.results])

    @property
    def orientation_error(self) -> np.ndarray:
        return np.array([r.orientation_error for r in self.results])

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, t: int) -> IKResult:
        return self.results[t]

    def __iter__(self):
        return iter(self.results)


def _weight(value, name: str) -> float:
    return finite_number(value, name, SolverError, minimum=0.0)


def solve_sequence(
    solver: Any,
    frames: Sequence[Sequence[Constraint]],
    init: Pose | None = None,
    velocity_weight: float = 1.0,
    acceleration_weight: float = 1.0,
    smoothing_weight: float = 1.0,
    smoothing_priority: int | None = None,
) -> SequenceResult:
    """Solve T frames in order, each warm-started from the previous answer.

    Args:
        solver: the IKSolver to use (its compiled programs are reused across frames).
        frames: T lists of constraints, one per frame (same structure in every frame keeps
            it to one compilation).
        init: pose before the first frame (default: rest pose).
        velocity_weight, acceleration_weight: relative weights of the velocity and the
            acceleration penalty that make the reference of the smoothing regulariser.
        smoothing_weight: the regulariser's weight (0 turns smoothing off).
        smoothing_priority: the regulariser's priority. Default: the lowest, so targets are
            met exactly and smoothing acts only in the freedom they leave (removes jitter of
            redundant joints, not noise in the targets). Give it the targets' priority to
            trade target accuracy for smoothness (filters noisy targets, by the weights).
    """
    if isinstance(frames, (str, bytes)) or not hasattr(frames, "__iter__"):
        raise SolverError(f"solve_sequence needs frames: a list of T lists of constraints, got {type(frames).__name__}")
    frames = list(frames)
    if not frames:
        raise SolverError("solve_sequence needs at least one frame")
    w_v = _weight(velocity_weight, "velocity_weight")
    w_a = _weight(acceleration_weight, "acceleration_weight")
    w_s = _weight(smoothing_weight, "smoothing_weight")
    if w_s > 0 and w_v + w_a == 0:
        raise SolverError("velocity_weight and acceleration_weight are both 0: nothing to smooth toward")
    skeleton = solver.skeleton
    previous = skeleton.rest_pose() if init is None else skeleton.check_pose(init)
    before = previous
    results = []
    for t, constraints in enumerate(frames):
        constraints = checked_constraints(constraints)
        if w_s > 0:
            predicted_r = 2 * previous.rotations - before.rotations
            predicted_t = 2 * previous.translation - before.translation
            reference = Pose(
                (w_v * previous.rotations + w_a * predicted_r) / (w_v + w_a),
                (w_v * previous.translation + w_a * predicted_t) / (w_v + w_a),
            )
            priority = {} if smoothing_priority is None else {"priority": smoothing_priority}
            constraints = constraints + [Smoothness(reference, weight=w_s, **priority)]
        result = solver.solve(constraints, init=previous)
        results.append(result)
        before, previous = previous, result.pose
    return SequenceResult(results)
