"""Damped least squares (Levenberg-Marquardt) with the joint limits as hard bounds.

One compiled loop (``jax.lax.while_loop``):

* damping ``lambda = nu * cost + lambda_min`` (Sugihara 2011: damping that scales with the
  squared error converges well even for unreachable targets), with ``nu`` raised after a
  rejected step and lowered after an accepted one;
* bounds by an active set: a variable at a bound whose gradient pushes it outward is frozen
  for the step, the step is solved for the others, and the result is projected (clipped)
  into the box, so no iterate ever leaves the limits;
* the step is solved in task space, ``dq = -J^T (J J^T + lambda I)^-1 r``, when there are
  fewer residuals than variables (the usual IK case), else in joint space;
* the loop stops as soon as every constraint is within its tolerance, keeps the best
  iterate, and restarts from a random in-limit pose when progress stalls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


@dataclass(frozen=True)
class LMOptions:
    """Static settings of the solver (changing them compiles a new program).

    Attributes:
        restarts: how many times a stalled solve may restart from a random in-limit pose.
        stall_iterations: consecutive iterations that decrease the cost by less than
            ``min_decrease`` (relative) before the solve counts as stalled.
        lambda_min: damping floor; keeps steps finite at singular (stretched) poses.
    """

    restarts: int = 8
    stall_iterations: int = 6
    lambda_min: float = 1e-6
    min_decrease: float = 0.02

    def __post_init__(self) -> None:
        from ik_engine.errors import SolverError

        if not (isinstance(self.restarts, int) and self.restarts >= 0):
            raise SolverError(f"restarts must be an integer >= 0, got {self.restarts!r}")
        if not (isinstance(self.stall_iterations, int) and self.stall_iterations >= 1):
            raise SolverError(f"stall_iterations must be an integer >= 1, got {self.stall_iterations!r}")
        if not (np.isfinite(self.lambda_min) and self.lambda_min > 0):
            raise SolverError(f"lambda_min must be finite and > 0, got {self.lambda_min!r}")


def build_levenberg_marquardt(problem: Any, options: LMOptions) -> Callable:
    """The solve function of a problem, to be wrapped in ``jax.jit``.

    Returns ``solve(q0, fixed_rotations, translation, params, sqrt_weights, tolerances,
    max_iterations, seed)`` -> ``(q, errors, iterations, converged, restarts)``:

        q0 (n,), fixed_rotations (S, 3), translation (3,), params (P,), sqrt_weights (C,),
        tolerances (2,) = (metres, radians), max_iterations () int, seed () uint32.
    """
    import jax
    import jax.numpy as jnp

    lower = np.asarray(problem.lower)
    upper = np.asarray(problem.upper)
    bounded = np.isfinite(lower) & np.isfinite(upper)
    sample_lower = np.where(bounded, np.maximum(lower, -np.pi), 0.0)
    sample_upper = np.where(bounded, np.minimum(upper, np.pi), 0.0)
    n, m = problem.num_variables, problem.num_residuals
    tolerance_index = problem.tolerance_index
    task_space = m <= n
    eps_bound = 1e-6

    def solve(q0, fixed_rotations, translation, params, sqrt_weights, tolerances, max_iterations, seed):
        dtype = q0.dtype
        lo = jnp.asarray(lower, dtype)
        hi = jnp.asarray(upper, dtype)

        def evaluate(q):
            r, J, errors = problem.evaluate(q, fixed_rotations, translation, params, sqrt_weights, jnp)
            return r, J, errors, jnp.dot(r, r)

        def satisfied(errors):
            return jnp.all(errors <= tolerances[tolerance_index])

        def damped_step(J, r, free, lam):
            Jf = J * free.astype(dtype)[None, :]
            if task_space:
                A = Jf @ Jf.T + lam * jnp.eye(m, dtype=dtype)
                return -Jf.T @ jnp.linalg.solve(A, r)
            A = Jf.T @ Jf + lam * jnp.eye(n, dtype=dtype)
            return -jnp.linalg.solve(A, Jf.T @ r)

        def step(q, r, J, cost, nu):
            lam = nu * cost + options.lambda_min
            g = J.T @ r
            # Pass 1: variables at a bound that the gradient pushes outward are held.
            held = ((q <= lo + eps_bound) & (g > 0)) | ((q >= hi - eps_bound) & (g < 0))
            dq = damped_step(J, r, ~held, lam)
            # Pass 2: variables the step carries past a bound stop at it; the others are
            # re-solved for what remains of the residual (a projected, not just clipped, step).
            q_clipped = jnp.clip(q + dq, lo, hi)
            hit = (q_clipped != q + dq) | held
            dq_hit = jnp.where(hit, q_clipped - q, 0.0)
            dq_free = damped_step(J, r + J @ dq_hit, ~hit, lam)
            return jnp.clip(q + dq_hit + jnp.where(hit, 0.0, dq_free), lo, hi)

        q0 = jnp.clip(q0, lo, hi)
        zeros_r = jnp.zeros((m,), dtype)
        # The loop evaluates one candidate per iteration: the initial pose first, then either
        # a damped step or, after a stall, a restart seed. Tracing the residual once keeps
        # compilation short.
        state = dict(
            it=jnp.asarray(0, jnp.int32),
            q=q0, r=zeros_r, J=jnp.zeros((m, n), dtype), cost=jnp.asarray(jnp.inf, dtype),
            errors=jnp.zeros((len(tolerance_index),), dtype),
            nu=jnp.asarray(1.0, dtype),
            stall=jnp.asarray(0, jnp.int32),
            restarts=jnp.asarray(0, jnp.int32),
            restart_pending=jnp.asarray(False),
            key=jax.random.PRNGKey(seed),
            best_q=q0, best_cost=jnp.asarray(jnp.inf, dtype),
            best_errors=jnp.full((len(tolerance_index),), jnp.inf, dtype), best_ok=jnp.asarray(False),
        )

        def cond(s):
            return (s["it"] <= max_iterations) & ~s["best_ok"]

        def body(s):
            first = s["it"] == 0
            key, subkey = jax.random.split(s["key"])
            u = jax.random.uniform(subkey, (n,), dtype)
            q_seed = jnp.where(bounded, sample_lower + u * (sample_upper - sample_lower), s["q"])
            finite_cost = jnp.where(first, jnp.ones((), dtype), s["cost"])
            q_step = step(s["q"], s["r"], s["J"], finite_cost, s["nu"])
            fresh = first | s["restart_pending"]
            candidate = jnp.where(first, q0, jnp.where(s["restart_pending"], q_seed, q_step))
            r_new, J_new, e_new, c_new = evaluate(candidate)
            # A fresh start is always taken; a step only if it lowers the cost.
            accept = fresh | (jnp.isfinite(c_new) & (c_new < s["cost"]))
            improved = fresh | (c_new < s["cost"] * (1.0 - options.min_decrease))
            pick = lambda new, old: jnp.where(accept, new, old)
            q, r, J, cost, errors = (pick(a, b) for a, b in
                                     zip((candidate, r_new, J_new, c_new, e_new),
                                         (s["q"], s["r"], s["J"], s["cost"], s["errors"])))
            nu = jnp.where(fresh, 1.0, jnp.where(accept, jnp.maximum(s["nu"] * 0.3, 1e-3), jnp.minimum(s["nu"] * 4.0, 1e8)))
            stall = jnp.where(improved, 0, s["stall"] + 1)
            ok = satisfied(errors) & jnp.isfinite(cost)
            better = (ok & ~s["best_ok"]) | ((ok == s["best_ok"]) & (cost < s["best_cost"]))
            restart = ~ok & (stall >= options.stall_iterations) & (s["restarts"] < options.restarts)
            return dict(
                it=s["it"] + 1, q=q, r=r, J=J, cost=cost, errors=errors, nu=nu.astype(dtype),
                stall=jnp.where(restart, 0, stall),
                restarts=s["restarts"] + restart.astype(jnp.int32),
                restart_pending=restart,
                key=key,
                best_q=jnp.where(better, q, s["best_q"]),
                best_cost=jnp.where(better, cost, s["best_cost"]),
                best_errors=jnp.where(better, errors, s["best_errors"]),
                best_ok=s["best_ok"] | ok,
            )

        s = jax.lax.while_loop(cond, body, state)
        # Iterations: candidates evaluated after the initial pose.
        return s["best_q"], s["best_errors"], s["it"] - 1, s["best_ok"], s["restarts"]

    return solve
