"""IPOPT baseline: inverse kinematics as a bound-constrained nonlinear program.

The variables are those of our solver, ``q`` (n,): the coordinates of each moving joint (3
each, in ``problem.moving_joints`` order: the axis-angle components, or the Euler angles of a
joint whose limits use Euler coordinates, see ``ik_engine.joint_coordinates``), then the root
translation (3) when the root moves. The joint limits are the variable bounds (infinite for
components whose range spans a full turn, as in ``ResidualProblem``). The objective is

    f(q) = sum_c weight_c * e_c(q)
    Position:    e = |p_world_point - p_world_target|^2                     (metres^2)
    Orientation: e = 0.5 |R_world_joint - R_world_target|_F^2 = 2 (1 - cos angle)
                 (~ angle^2 for small angles, smooth everywhere)

written as a CasADi symbolic expression of the skeleton's own forward kinematics
(``R_parent_joint = R_rest @ exp(r)``, Rodrigues' formula with a series branch near zero; for
a joint with Euler coordinates ``R_rest @ R_i(c_i) @ R_j(c_j) @ R_k(c_k)`` in its order, from
sines and cosines of its three variables; chained from the root over the subtree the
constraints need), so IPOPT gets exact gradients
and an exact Hessian of the Lagrangian (or L-BFGS, as an option). Constraint priorities are
not expressed: every constraint enters the one weighted sum.

IPOPT's own stopping test only decides when to stop; success is judged like every baseline,
by our tolerances on the float64 errors of the returned pose (``PreparedProblem.result``).

Compiled NLPs are cached per skeleton and (constraint structure, moving joints, IPOPT
settings); targets, weights, the pose of the joints that do not move and the fixed root
translation are NLP parameters, so new targets never rebuild. ``ipopt_cache_info()`` counts
builds and gives the last build's time; the first call's ``IKResult.seconds`` includes the
build (wall time since the input checks began), later calls only the solve.

Plain IPOPT starts once, from the initial pose; ``IPOPTOptions.restarts`` (default 0) adds
random starts when that one misses our tolerances.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterable, NamedTuple, Sequence

import numpy as np

from ik_engine.constraints import Orientation, Position
from ik_engine.constraints.base import Constraint
from ik_engine.errors import SolverError
from ik_engine.kinematics import local_rotations
from ik_engine.pose import Pose
from ik_engine.problem import ResidualProblem
from ik_engine.skeleton import Skeleton
from ik_engine.skeleton_cache import SkeletonCache
from ik_engine.solver import IKResult

from .casadi_kinematics import casadi_forward_kinematics, casadi_module, casadi_swing_limits, fixed_rows, swing_limit_count
from .common import BaselineOptions, PreparedProblem, prepare

METHOD = "IPOPT"
SUPPORTED = (Position, Orientation)
HESSIANS = ("exact", "limited-memory")


@dataclass(frozen=True)
class IPOPTOptions(BaselineOptions):
    """Settings of the IPOPT baseline (IPOPT option names in brackets).

    Attributes:
        max_iterations: IPOPT iterations per solve [max_iter].
        tol: IPOPT's convergence tolerance on the scaled KKT error [tol]; the objective is in
            metres^2 (and radians^2), so 1e-12 asks for residual gradients far below our
            0.1 mm / 1 mrad tolerances.
        acceptable_tol: IPOPT stops early after ``acceptable_iter`` consecutive iterations
            within this [acceptable_tol].
        hessian: "exact" (CasADi's exact Hessian of the Lagrangian) or "limited-memory"
            (L-BFGS) [hessian_approximation].
        linear_solver: IPOPT's linear solver; "mumps" ships with CasADi [linear_solver].
        mu_strategy: barrier parameter update, "monotone" (Fiacco-McCormick) or "adaptive"
            [mu_strategy]. Monotone was both faster and more often successful here: from
            the rest pose, adaptive let iterates run into vertices of the limit box and
            spend hundreds of iterations there.
        objective_scale: factor on the objective as IPOPT sees it [obj_scaling_factor].
            Below 1 the barrier weighs more in the first iterations and keeps the arm
            off its limits while it turns towards the target; 0.1 was the best of
            1, 0.3, 0.1, 0.03, 0.01 on arm_reach with seed 7 (96.5 -> 98 % within 1 mm;
            arm_pose unchanged). The converged pose does not depend on it.
        bound_push, bound_frac: how far IPOPT moves the initial point inside the bounds
            [bound_push, bound_frac] (IPOPT's defaults; 1e-8 changed nothing measurable).
        print_level: IPOPT's console output, 0 (silent) to 12 [print_level].
        extra: further IPOPT options by their IPOPT names, e.g. ``{"mu_init": 1e-3}``.
        restarts: when a solve misses our tolerances, solve again from up to this many
            random starts (drawn uniformly inside the limits, root translation kept) and
            keep the best; 0 (the default) is plain IPOPT from the initial pose.
        seed: seed of the random starts.
    """

    max_iterations: int = 500
    tol: float = 1e-12
    acceptable_tol: float = 1e-10
    hessian: str = "exact"
    linear_solver: str = "mumps"
    mu_strategy: str = "monotone"
    objective_scale: float = 0.1
    bound_push: float = 1e-2
    bound_frac: float = 1e-2
    print_level: int = 0
    extra: dict = field(default_factory=dict)
    restarts: int = 0
    seed: int = 0

    def ipopt_settings(self) -> dict[str, Any]:
        """The options dictionary handed to ``casadi.nlpsol`` (checked)."""
        if self.hessian not in HESSIANS:
            raise SolverError(f"IPOPT hessian must be one of {HESSIANS}, got {self.hessian!r}")
        if self.mu_strategy not in ("adaptive", "monotone"):
            raise SolverError(f"IPOPT mu_strategy must be 'adaptive' or 'monotone', got {self.mu_strategy!r}")
        for name in ("tol", "acceptable_tol", "objective_scale", "bound_push", "bound_frac"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and np.isfinite(value) and value > 0):
                raise SolverError(f"IPOPT {name} must be a positive number, got {value!r}")
        if not isinstance(self.extra, dict):
            raise SolverError(
                f"IPOPT extra options must be a dict of IPOPT option names to values, got {type(self.extra).__name__}"
            )
        for name, value in (("restarts", self.restarts), ("seed", self.seed)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise SolverError(f"IPOPT {name} must be an integer >= 0, got {value!r}")
        if not (isinstance(self.print_level, int) and 0 <= self.print_level <= 12):
            raise SolverError(f"IPOPT print_level must be an integer in 0..12, got {self.print_level!r}")
        return {
            "ipopt.max_iter": int(self.max_iterations),
            "ipopt.tol": float(self.tol),
            "ipopt.acceptable_tol": float(self.acceptable_tol),
            "ipopt.hessian_approximation": self.hessian,
            "ipopt.linear_solver": self.linear_solver,
            "ipopt.mu_strategy": self.mu_strategy,
            "ipopt.obj_scaling_factor": float(self.objective_scale),
            "ipopt.bound_push": float(self.bound_push),
            "ipopt.bound_frac": float(self.bound_frac),
            "ipopt.print_level": int(self.print_level),
            "ipopt.sb": "yes",  # no banner
            "print_time": self.print_level > 0,
            "error_on_fail": False,  # a failed solve returns its last iterate; we judge it
        } | {f"ipopt.{name}": value for name, value in dict(self.extra).items()}


class IPOPTCacheInfo(NamedTuple):
    """builds: NLPs built since import (or the last clear); entries: NLPs cached now;
    last_build_seconds: wall time of the most recent build (symbolic FK, derivatives,
    IPOPT set-up), NaN before the first."""

    builds: int
    entries: int
    last_build_seconds: float


# skeleton -> {structure key: the nlpsol casadi.Function}; a skeleton that is garbage-collected
# takes its entries along; at most 64 structures per skeleton.
_CACHE = SkeletonCache(max_per_skeleton=64)
_STATS = {"builds": 0, "last_build_seconds": float("nan")}


def ipopt_cache_info() -> IPOPTCacheInfo:
    """How many NLPs were built, how many are cached, and how long the last build took."""
    entries = len(_CACHE)
    return IPOPTCacheInfo(int(_STATS["builds"]), entries, float(_STATS["last_build_seconds"]))


def clear_ipopt_cache() -> None:
    """Forget every compiled NLP and reset the counters (the next solve rebuilds)."""
    _CACHE.clear()
    _STATS["builds"] = 0
    _STATS["last_build_seconds"] = float("nan")


def forward_kinematics_function(problem: ResidualProblem) -> Any:
    """``casadi.Function`` fk(q (n,), R_fixed (9F,), translation (3,)) -> (R (3, 3S), p (3, S)).

    ``R_fixed`` stacks the row-major ``R_parent_joint`` of the non-moving subtree rows;
    ``R`` holds each row's ``R_world_joint`` side by side, ``p`` each ``p_world_joint``.
    """
    casadi = casadi_module()
    q, R_fixed, translation = _symbols(problem)
    R_world, p_world = casadi_forward_kinematics(problem, q, _unpack_rotations(R_fixed), translation)
    return casadi.Function("fk", [q, R_fixed, translation], [casadi.horzcat(*R_world), casadi.horzcat(*p_world)])


def _symbols(problem: ResidualProblem):
    casadi = casadi_module()
    F = len(fixed_rows(problem))
    return (
        casadi.SX.sym("q", problem.num_variables),
        casadi.SX.sym("R_fixed", 9 * F),
        casadi.SX.sym("translation", 3),
    )


def _unpack_rotations(flat: Any) -> list[Any]:
    """(9F,) row-major rotations -> F (3, 3) expressions."""
    casadi = casadi_module()
    # CasADi reshapes column-major: the transpose of the column-major reshape is row-major.
    return [casadi.reshape(flat[9 * f : 9 * f + 9], 3, 3).T for f in range(flat.shape[0] // 9)]


# ---------------------------------------------------------------------- the NLP
def _objective(problem: ResidualProblem, R_world: list, p_world: list, params: Any, weights: Any) -> Any:
    """sum_c weight_c * e_c, with params laid out as ``problem.pack_parameters``."""
    casadi = casadi_module()
    terms = []
    for c, slot in enumerate(problem.slots):
        (row,) = slot.joint_rows
        p = params[slot.param_slice.start : slot.param_slice.stop]
        if slot.kind is Position:
            p_world_point = p_world[row] + R_world[row] @ p[3:6]
            error = casadi.sumsqr(p_world_point - p[0:3])
        elif slot.kind is Orientation:
            R_world_target = casadi.reshape(p[0:9], 3, 3).T
            error = 0.5 * casadi.sumsqr(R_world[row] - R_world_target)
        else:  # prepare() already refused other kinds
            raise SolverError(f"{slot.kind.__name__} constraints are not supported by {METHOD}")
        terms.append(weights[c] * error)
    return casadi.sum1(casadi.vertcat(*terms))


def _nlp_expressions(problem: ResidualProblem) -> tuple[Any, Any, Any]:
    """(q (n,), p, f): the NLP's variables, parameters and objective as CasADi expressions
    (the swing-twist joints' ellipses, which the box bounds cannot express, are
    ``casadi_swing_limits``)."""
    casadi = casadi_module()
    q, R_fixed, translation = _symbols(problem)
    params = casadi.SX.sym("params", problem.num_parameters)
    weights = casadi.SX.sym("weights", len(problem.slots))
    R_world, p_world = casadi_forward_kinematics(problem, q, _unpack_rotations(R_fixed), translation)
    f = _objective(problem, R_world, p_world, params, weights)
    return q, casadi.vertcat(params, weights, R_fixed, translation), f


def objective_function(problem: ResidualProblem) -> Any:
    """``casadi.Function`` objective(q (n,), p) -> f, the objective IPOPT minimises
    (``p`` from ``nlp_parameters``)."""
    casadi = casadi_module()
    q, p, f = _nlp_expressions(problem)
    return casadi.Function("objective", [q, p], [f])


def _build(problem: ResidualProblem, options: IPOPTOptions) -> Any:
    casadi = casadi_module()
    start = time.perf_counter()
    q, p, f = _nlp_expressions(problem)
    nlp = {"x": q, "p": p, "f": f}
    swing_limits = casadi_swing_limits(problem, q)
    if swing_limits:
        nlp["g"] = casadi.vertcat(*swing_limits)
    try:
        solver = casadi.nlpsol("ik_ipopt", "ipopt", nlp, options.ipopt_settings())
    except RuntimeError as exc:  # CasADi's message ends with IPOPT's reason
        reason = str(exc).strip().splitlines()[-1]
        raise SolverError(f"IPOPT rejected its options ({reason}); check IPOPTOptions.extra") from None
    _STATS["builds"] += 1
    _STATS["last_build_seconds"] = time.perf_counter() - start
    return solver


def _cache_key(prepared: PreparedProblem, options: IPOPTOptions) -> tuple:
    problem = prepared.problem
    return (
        ResidualProblem.structure_key(prepared.skeleton, prepared.constraints),
        tuple(problem.joints.tolist()),
        tuple(problem.moving_joints.tolist()),
        problem.move_root,
        tuple(sorted((name, repr(value)) for name, value in options.ipopt_settings().items())),
    )


def _compiled(prepared: PreparedProblem, options: IPOPTOptions) -> Any:
    """The cached nlpsol of this problem's structure, built on first use."""
    return _CACHE.get(prepared.skeleton, _cache_key(prepared, options), lambda: _build(prepared.problem, options))


def nlp_parameters(prepared: PreparedProblem) -> np.ndarray:
    """The NLP parameter vector of a prepared problem: targets (``problem.pack_parameters``
    layout), weights, ``R_parent_joint`` of the non-moving subtree rows (row-major), and
    the root translation (used when the root does not move)."""
    problem, inputs = prepared.problem, prepared.inputs
    rows = fixed_rows(problem)
    rest = None if problem.rest_rotations is None else problem.rest_rotations[rows]
    R_parent_fixed = local_rotations(np.asarray(inputs.fixed_rotations)[rows], rest, np)  # (F, 3, 3)
    return np.concatenate([
        np.asarray(inputs.params, dtype=np.float64),
        np.asarray(inputs.sqrt_weights, dtype=np.float64) ** 2,
        R_parent_fixed.reshape(-1),
        np.asarray(inputs.translation, dtype=np.float64),
    ])


def ipopt(
    skeleton: Skeleton,
    constraints: Sequence[Constraint],
    joints: Iterable[str] | None = None,
    init: Pose | None = None,
    options: IPOPTOptions | None = None,
) -> IKResult:
    """Solve with IPOPT (interior point, exact derivatives from CasADi) from ``init``.

    Args:
        skeleton: the kinematic tree; its limits bound the variables.
        constraints: Position and Orientation constraints (their weights scale the squared
            errors; priorities are not expressed).
        joints: joints that may move (all when None).
        init: initial pose (rest pose when None).
        options: IPOPTOptions.

    Returns:
        IKResult: the pose (inside the limits), errors measured with float64 FK, converged by
        our tolerances, iterations = IPOPT's iteration count (summed over the starts),
        restarts = further starts used, seconds = wall time of this call (including the
        NLP build when this structure is new).

    Raises:
        SolverError: other constraint kinds ("... not supported by IPOPT ..."), bad options;
        ConstraintError / UnknownJointError / PoseError: bad input, as ``IKSolver.solve``.
    """
    prepared = prepare(METHOD, SUPPORTED, skeleton, constraints, joints, init, options, IPOPTOptions)
    options = prepared.options
    solver = _compiled(prepared, options)
    problem = prepared.problem
    arguments = {"lbx": problem.lower, "ubx": problem.upper, "p": nlp_parameters(prepared)}
    limits = swing_limit_count(problem)
    if limits:  # the swing-twist joints' ellipses: g <= 1
        arguments.update(lbg=np.full(limits, -np.inf), ubg=np.ones(limits))
    rng = np.random.default_rng(options.seed)
    q_start, iterations, tried = prepared.q0, 0, []  # tried: (worst error / tolerance, q)
    for attempt in range(options.restarts + 1):
        if attempt:
            q_start = np.where(np.isnan(problem.sample_lower), prepared.q0, rng.uniform(
                np.nan_to_num(problem.sample_lower), np.nan_to_num(problem.sample_upper)))
        solution = solver(x0=q_start, **arguments)
        stats = solver.stats()
        if stats.get("return_status") == "Invalid_Option":
            raise SolverError(
                f"IPOPT refused an option (linear_solver={options.linear_solver!r}, extra={options.extra!r}); "
                "'mumps' is the linear solver that ships with CasADi"
            )
        iterations += int(stats.get("iter_count", 0))
        q = np.asarray(solution["x"], dtype=np.float64).reshape(-1)
        if not np.isfinite(q).all():
            # IPOPT gave up on invalid numbers: fall back to its start, never report NaN.
            q = q_start
        if options.restarts == 0:  # plain IPOPT: nothing to compare
            return prepared.result(q, iterations)
        q = problem.within_limits(np.clip(q, problem.lower, problem.upper), np)
        errors = prepared.errors(q)
        tried.append((float(np.max(errors / prepared.tolerances[problem.tolerance_index])), q))
        if prepared.converged(errors):
            break
    _, q = min(tried, key=lambda t: t[0])
    return prepared.result(q, iterations, restarts=len(tried) - 1)
