"""From a solve's inputs to the packed vector a program takes, and from its output to a pose and
an IKResult: the one calling convention of the compiled programs, the interpreter and the
baselines (``IKSolver`` and ``baselines/common.py`` both use these functions).

A program's packed input is ``ik_engine.programs.InputLayout``'s vector; its output is
``q (n,) | errors (C,) | iterations, converged, restarts``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np

from .errors import SolverError
from .pose import Pose
from .problem import ResidualProblem
from .result import IKResult
from .rotations import canonical_axis_angle
from .skeleton import Skeleton

# The solve frame's origin moves in steps of this many metres: a character within 32 m of the
# world origin is solved in world coordinates; farther away, near the grid point closest to it.
SOLVE_FRAME_GRID = 64.0


def solve_frame_shift(translation: np.ndarray) -> np.ndarray:
    """(..., 3): where the solve frame's origin is in the world, for root translations (..., 3):
    the nearest point of a ``SOLVE_FRAME_GRID`` grid. In float32 a world coordinate of 1 km has
    a spacing of 0.06 mm, 1,000 km of 6 cm: measured before this frame, a reachable target 3 km
    away reported 1.2e-7 m and was 0.23 mm off by float64 FK (7 cm at 1,000 km)."""
    return SOLVE_FRAME_GRID * np.round(np.asarray(translation, dtype=np.float64) / SOLVE_FRAME_GRID)


@dataclass(frozen=True)
class PoseBatch:
    """Initial poses of B problems (or T frames): rotations (B, J, 3), translation (B, 3)."""

    rotations: np.ndarray
    translation: np.ndarray

    @classmethod
    def repeated(cls, pose: Pose, size: int) -> "PoseBatch":
        """``pose`` for each of ``size`` problems or frames (views, no copies)."""
        return cls(np.broadcast_to(pose.rotations, (size,) + pose.rotations.shape), np.broadcast_to(pose.translation, (size, 3)))


def packed_inputs(problem: ResidualProblem, constraints: Sequence, init: Pose | PoseBatch, tolerances: tuple[float, float],
                  per_level: bool = True, cold_start: bool = False, batch: int | None = None,
                  skeleton: Skeleton | None = None) -> np.ndarray:
    """The packed input vector (or (B, ...) matrix) of a program.

    Args:
        tolerances: (metres, radians).
        per_level: weights normalised per priority level (Levenberg-Marquardt) or globally.
        cold_start: the caller gave no initial pose: the search starts from
            ``problem.cold_start`` (constraints that hold the initial pose still hold ``init``),
            and the solve looks for the best compromise rather than its start's.
        skeleton: the body solved: the problem's skeleton (default) or another of the same
            articulation (``Skeleton.articulation_key``): its rest offsets and the constraints'
            parameters on it go into the inputs.
    """
    skeleton = problem.skeleton if skeleton is None else skeleton
    rotations, translation = init.rotations, init.translation
    # The solve frame: the world moved by -shift, so that the character is near the origin
    # wherever it stands (float32 programs keep their precision kilometres away).
    shift = solve_frame_shift(translation)
    translation = translation - shift
    params, sqrt_weights = problem.pack_parameters(constraints, batch, shift, per_level=per_level, skeleton=skeleton)
    q0 = problem.initial_variables(rotations, translation)
    # Axis-angles past pi are the same rotations as ones within pi; large ones would lose
    # their precision in float32.
    fixed = canonical_axis_angle(rotations[..., problem.joints, :]).reshape(rotations.shape[:-2] + (-1,))
    # A warm start (the caller's pose) keeps the compromise of its own basin (see
    # solvers/levenberg_marquardt.py); a cold one looks for the best.
    settings = np.array([tolerances[0], tolerances[1], 0.0 if cold_start else 1.0])
    start = problem.cold_start(q0) if cold_start else q0
    rest_offsets = (problem.offsets if skeleton is problem.skeleton else skeleton.rest_offsets[problem.joints]).ravel()
    parts = [start, fixed, translation, params, sqrt_weights, settings, q0, rest_offsets]
    if batch is not None:
        parts = [np.broadcast_to(a, (batch,) + a.shape[-1:]) for a in parts]
    # float64; each program casts to its own precision (the compiled ones: float32 unless
    # the user turned on JAX's 64-bit mode).
    return np.concatenate(parts, axis=-1).astype(np.float64, copy=False)


class SolveOutput(NamedTuple):
    """What a solve method hands back, typed: final variables q (..., n), each constraint's
    error (..., C) (metres or radians), iterations (...), converged (...) bool, restarts (...).
    A program returns it packed in one array (``programs.packed_solve``);
    ``unpacked`` is the one reader of that layout. The baselines build it directly."""

    q: np.ndarray
    errors: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray
    restarts: np.ndarray

    @classmethod
    def unpacked(cls, problem: ResidualProblem, output: np.ndarray) -> "SolveOutput":
        """From program outputs (..., n + C + 3): q, errors, then iterations, converged,
        restarts as floats (a program returns one array of one type)."""
        n, C = problem.num_variables, len(problem.slots)
        flags = output[..., n + C : n + C + 3]
        return cls(output[..., :n].astype(np.float64), output[..., n : n + C].astype(np.float64),
                   flags[..., 0].astype(np.int64), flags[..., 1] > 0.5, flags[..., 2].astype(np.int64))

    def row(self, b: int) -> "SolveOutput":
        """Problem b of a batch of outputs."""
        return SolveOutput(*(np.asarray(field)[b] for field in self))


def pose_arrays(skeleton: Skeleton, problem: ResidualProblem, init_rotations: np.ndarray, init_translation: np.ndarray,
                q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rotations (..., J, 3), translations (..., 3)) from final variables q (..., n)."""
    q = np.asarray(q, dtype=np.float64)
    if not np.isfinite(q).all():  # cannot happen by construction; never hand out NaN
        raise SolverError("the solver produced a non-finite pose; please report this with your inputs")
    q = problem.within_limits(np.clip(q, problem.lower, problem.upper), np)
    M = len(problem.moving_joints)
    rotations = np.array(init_rotations, dtype=np.float64)
    # Moving joints that no constraint depends on keep their initial rotation, clipped
    # into their limits like every moving joint; joints that do not move pass through.
    others = problem.other_moving_joints
    if len(others):
        rotations[..., others, :] = skeleton.clamped_rotations(rotations[..., others, :], others)
    coordinates = q[: 3 * M].copy() if q.ndim == 1 else None  # the start of a solve from this result
    moving = q[..., : 3 * M].reshape(q.shape[:-1] + (M, 3))
    problem.moving_coordinates.to_axis_angles(moving)  # Euler or swing-twist coordinates -> the pose's axis-angles
    # Joints without limits may have turned past pi: hand out the same rotation as the
    # axis-angle of angle <= pi. (Only those: a limited joint keeps its in-box vector.)
    unlimited = problem.unlimited_moving_joints
    if unlimited.any():
        moving[..., unlimited, :] = canonical_axis_angle(moving[..., unlimited, :])
    rotations[..., problem.moving_joints, :] = moving
    if coordinates is not None:
        problem.remember_start(rotations, coordinates)
    if problem.move_root:  # back from the solve frame (``packed_inputs``)
        translations = q[..., 3 * M : 3 * M + 3] + solve_frame_shift(np.asarray(init_translation, dtype=np.float64))
    else:
        translations = np.array(init_translation, dtype=np.float64)
    return rotations, translations


def largest_errors(errors: np.ndarray, kinds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Largest position-kind and orientation-kind error over constraints (..., C) -> (...), (...);
    0 where a problem has none of a kind (one problem: Python floats, without numpy's masks)."""
    if errors.ndim == 1:
        pairs = list(zip(errors.tolist(), kinds.tolist()))
        return max([e for e, k in pairs if k == 0], default=0.0), max([e for e, k in pairs if k == 1], default=0.0)
    return errors[..., kinds == 0].max(axis=-1, initial=0.0), errors[..., kinds == 1].max(axis=-1, initial=0.0)


def result_of(skeleton: Skeleton, problem: ResidualProblem, init_rotations: np.ndarray, init_translation: np.ndarray,
              solved: SolveOutput, started: float | None = None, ignored: tuple[int, ...] = ()) -> IKResult:
    """The IKResult of one problem's SolveOutput; ``started``: ``perf_counter()`` when the solve
    began."""
    rotations, translation = pose_arrays(skeleton, problem, init_rotations, init_translation, solved.q)
    errors = np.asarray(solved.errors, dtype=np.float64)
    position_error, orientation_error = largest_errors(errors, problem.tolerance_index)
    return IKResult(
        pose=Pose.of_computed(rotations, translation),
        converged=bool(solved.converged),
        iterations=int(solved.iterations),
        position_error=float(position_error),
        orientation_error=float(orientation_error),
        errors=errors,
        restarts=int(solved.restarts),
        seconds=float("nan") if started is None else time.perf_counter() - started,
        ignored=ignored,
    )
