"""What every baseline shares: one calling convention, our solver's input checks, one result.

A baseline is a function ``method(skeleton, constraints, joints=None, init=None, options=None)``
returning an ``ik_engine.IKResult`` (pose inside the limits, per-constraint errors measured
with float64 forward kinematics, convergence by the same tolerances as ``IKSolver``,
iterations and wall time). Inputs go through the very checks ``IKSolver.solve`` runs, so
bad input gets the same errors; constraint kinds a method cannot express raise
``SolverError("... not supported by <method>")``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

import numpy as np

from ik_engine.constraints.base import Constraint
from ik_engine.errors import SolverError
from ik_engine.pose import Pose
from ik_engine.problem import SOFT, ProblemInputs, ResidualProblem
from ik_engine.rotations import canonical_axis_angle
from ik_engine.skeleton import Skeleton
from ik_engine.skeleton_cache import SkeletonCache
from ik_engine.solution import SolveOutput, pose_arrays, result_of
from ik_engine.solver import IKResult, IKSolver


@dataclass(frozen=True)
class BaselineOptions:
    """Settings every baseline takes (methods add their own in subclasses).

    Attributes:
        max_iterations: iteration budget (the method's own notion of an iteration).
        position_tolerance: metres; a position target within it is met.
        orientation_tolerance: radians; an orientation target within it is met.
        move_root: whether the root translation is solved for as well.
    """

    max_iterations: int = 100
    position_tolerance: float = 1e-4
    orientation_tolerance: float = 1e-3
    move_root: bool = False


@dataclass
class PreparedProblem:
    """A checked problem, ready for a baseline.

    Attributes:
        method: the baseline's name (for messages).
        skeleton: the skeleton.
        constraints: the checked constraints, in the caller's order.
        init: the initial pose (rest pose when none was given).
        problem: the ``ResidualProblem`` (subtree, moving joints, bounds, constraint slots).
        inputs: its ``ProblemInputs`` in float64 numpy.
        q0: (n,) initial variables, clipped into the limits: the moving joints' coordinates
            (axis-angle, or Euler angles where ``problem.euler_moving`` says so), then the
            root translation when it moves.
        tolerances: (2,) metres, radians.
        options: the baseline's options.
    """

    method: str
    skeleton: Skeleton
    constraints: list[Constraint]
    init: Pose
    problem: ResidualProblem
    inputs: ProblemInputs
    q0: np.ndarray
    tolerances: np.ndarray
    options: BaselineOptions
    _solver: IKSolver
    _start: float

    @property
    def moving_joints(self) -> np.ndarray:
        """(M,) skeleton indices of the joints whose rotations are variables."""
        return self.problem.moving_joints

    def pose(self, q: np.ndarray) -> Pose:
        """The full pose (axis-angles) of variables ``q`` (n,) (clipped into the limits)."""
        rotations, translation = pose_arrays(self.skeleton, self.problem, self.init.rotations, self.init.translation, q)
        return Pose(rotations, translation)

    def errors(self, q: np.ndarray) -> np.ndarray:
        """(C,) unweighted error of each constraint at variables ``q`` (float64)."""
        _, _, errors = self.problem.evaluate(np.asarray(q, dtype=np.float64), self.inputs, np)
        return np.asarray(errors, dtype=np.float64)

    def converged(self, errors: np.ndarray) -> bool:
        """Every target and inequality (not the regularisers) within its tolerance."""
        index = self.problem.tolerance_index
        hard = index != SOFT
        counted = hard & (self.inputs.sqrt_weights > 0)
        return bool(np.all(errors[counted] <= self.tolerances[index[counted]]))

    def result(self, q: np.ndarray, iterations: int, restarts: int = 0) -> IKResult:
        """The IKResult of final variables ``q``: clipped into the limits, errors measured on
        the clipped pose, wall time since preparation."""
        q = self.problem.within_limits(np.clip(np.asarray(q, dtype=np.float64), self.problem.lower, self.problem.upper), np)
        if not np.isfinite(q).all():
            raise SolverError(f"{self.method} produced a non-finite pose; please report this with your inputs")
        errors = self.errors(q)
        converged = self.converged(errors)
        solved = SolveOutput(q, errors, np.int64(iterations), np.bool_(converged), np.int64(restarts))
        result = result_of(self.skeleton, self.problem, self.init.rotations, self.init.translation, solved)
        return replace(result, converged=converged, seconds=time.perf_counter() - self._start)


# Residual problems per skeleton, by (moving joints, move_root, constraint structure): like our
# solver's compiled programs, built once per structure, so no baseline pays for it per call
# (at most 64 per skeleton, as our solver keeps).
_problems = SkeletonCache(max_per_skeleton=64)


def _cached_problem(solver: IKSolver, constraints: Sequence[Constraint]) -> ResidualProblem:
    key = (solver.moving_joints, solver.move_root, ResidualProblem.structure_key(solver.skeleton, constraints))
    return _problems.get(solver.skeleton, key, lambda: solver.residual_problem(constraints))


def prepare(
    method: str,
    supported: Sequence[type],
    skeleton: Skeleton,
    constraints: Sequence[Constraint],
    joints: Iterable[str] | None,
    init: Pose | None,
    options: BaselineOptions | None,
    options_type: type = BaselineOptions,
) -> PreparedProblem:
    """Check a baseline's inputs exactly as ``IKSolver.solve`` does and set the problem up.

    Raises:
        SolverError / ConstraintError / UnknownJointError / PoseError: as our solver does;
        SolverError: a constraint kind not in ``supported`` ("... not supported by <method>").
    """
    start = time.perf_counter()
    options = options_type() if options is None else options
    if not isinstance(options, options_type):
        raise SolverError(f"{method} options must be a {options_type.__name__}, got {type(options).__name__}")
    solver = IKSolver(
        skeleton, joints=joints, move_root=options.move_root, max_iterations=options.max_iterations,
        position_tolerance=options.position_tolerance, orientation_tolerance=options.orientation_tolerance,
    )
    constraints, init = solver.checked(constraints, init)
    for c in constraints:
        if not isinstance(c, tuple(supported)):
            names = ", ".join(k.__name__ for k in supported)
            raise SolverError(f"{type(c).__name__} constraints are not supported by {method} (it supports: {names})")
    problem = _cached_problem(solver, constraints)
    params, sqrt_weights = problem.pack_parameters(constraints)
    q0 = problem.initial_variables(init.rotations, init.translation)
    fixed = canonical_axis_angle(init.rotations[problem.joints])
    inputs = ProblemInputs(fixed, np.asarray(init.translation, dtype=np.float64), params, sqrt_weights)
    if problem.uses_initial_state:
        inputs = inputs._replace(initial=problem.state(q0, inputs, np))
    tolerances = np.array([solver.position_tolerance, solver.orientation_tolerance])
    return PreparedProblem(method, skeleton, constraints, init, problem, inputs, q0, tolerances, options, solver, start)
