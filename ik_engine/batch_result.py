"""The results of ``IKSolver.solve_batch`` and ``solve_clip``: arrays over the problems (or
frames), and an IKResult per problem built on demand."""

from __future__ import annotations

import numpy as np

from .pose import Pose
from .problem import ResidualProblem
from .result import IKResult
from .skeleton import Skeleton
from .solution import SolveOutput, largest_errors, pose_arrays, result_of


class BatchResult:
    """The results of B problems (or T frames) of one structure.

    Attributes:
        errors: (B, C) each constraint's error (metres or radians).
        iterations: (B,) iterations of each problem.
        converged: (B,) bool.
        position_error, orientation_error: (B,) the largest of each kind.
    """

    def __init__(self, skeleton: Skeleton, problem: ResidualProblem, rotations: np.ndarray, translation: np.ndarray,
                 output: np.ndarray):
        self._skeleton, self._problem = skeleton, problem
        self._init_rotations, self._init_translation = rotations, translation
        self._solved = SolveOutput.unpacked(problem, output)
        self.errors = self._solved.errors  # (B, C)
        self.iterations = self._solved.iterations  # (B,)
        self.converged = self._solved.converged  # (B,)
        self.position_error, self.orientation_error = largest_errors(self.errors, problem.tolerance_index)  # (B,), (B,)

    def __len__(self) -> int:
        return len(self.converged)

    def __getitem__(self, b: int) -> IKResult:
        if not -len(self) <= b < len(self):
            raise IndexError(f"batch index {b} out of range for {len(self)} problems")
        return result_of(self._skeleton, self._problem, self._init_rotations[b], self._init_translation[b], self._solved.row(b))

    def __iter__(self):
        return (self[b] for b in range(len(self)))

    @property
    def poses(self) -> list[Pose]:
        return [r.pose for r in self]

    def pose_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(rotations (B, J, 3), translations (B, 3)) of all problems at once (the same poses
        as ``result[b].pose``, without building B Pose objects)."""
        return pose_arrays(self._skeleton, self._problem, self._init_rotations, self._init_translation, self._solved.q)
