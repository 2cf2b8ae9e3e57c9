"""A first-order solver: Adam on the summed squared residual, the joint limits kept by clipping.

This is the kind of method the paper the project starts from uses (Voss et al. 2025: an
Adam variant with box clipping), written here on our own kinematics, constraints and
limits, so that the benchmarks can show what the choice of Levenberg-Marquardt buys.

One compiled loop (the backend's ``while_loop``, written against its namespace ``xp``); each
iteration:

* evaluates the weighted residual ``r(q)`` (m,) and its analytic Jacobian ``J`` (m, n)
  (``ResidualProblem.evaluate``) and the cost ``0.5 |r|^2``, whose gradient is ``J^T r``;
* stops once every counted target and inequality is within its tolerance;
* else takes an Adam step (Kingma & Ba 2014, "Adam: A Method for Stochastic
  Optimization", Algorithm 1): ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``,
  ``q -= lr * m_hat / (sqrt(v_hat) + eps)`` with the bias corrections
  ``m_hat = m / (1 - b1^t)``, ``v_hat = v / (1 - b2^t)``;
* clips ``q`` into the box ``[lower, upper]`` (a projection onto the limits, as in the
  paper), so no iterate ever leaves the limits.

The learning rate is constant: Adam's step ``m_hat / sqrt(v_hat)`` already shrinks as the
gradient falls below its running scale, and on the arm scenarios a decay (halving the rate
after 10 to 100 iterations without a new best cost; rates 0.05 to 0.2) gained nothing at 25
or more and lost at 10. The loop ends at the tolerances or at the budget (there is no
stall test); the best iterate is kept (meeting the tolerances first, then the lowest cost).

Differences from the Levenberg-Marquardt solver, by design of a first-order method:

* Priorities are treated as weights: the levels are flattened, and the step follows the
  gradient of the sum of every level's weighted squared residuals (regularisers included),
  so a lower level may trade off against a higher one. (There is no null-space cascade.)
* No restarts (``restarts`` is always 0).
* First-order methods need many more iterations: where Levenberg-Marquardt converges in
  about 5 to 15 on the benchmark scenarios, Adam needs hundreds; the solver's default budget
  of 100 is far too small for it: pass e.g. ``max_iterations=1000``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


@dataclass(frozen=True)
class GradientOptions:
    """Static settings of the first-order solver (changing them compiles a new program).

    Attributes:
        learning_rate: Adam's step size: roughly the largest change of each variable per
            iteration, radians (metres for the root translation). Measured on the benchmark
            scenarios (1000 iterations): 0.2 to 0.5 reach the same share within 1 mm; 0.1
            needs 1.7 times the iterations for an arm pose (and reaches fewer), 0.05 three
            times, 0.02 rarely gets there.
        beta1: decay rate of the running mean of the gradient (momentum), in [0, 1).
        beta2: decay rate of the running mean of the squared gradient, in [0, 1).
        eps: added to ``sqrt(v_hat)``; keeps the step finite where the gradient vanishes.
    """

    learning_rate: float = 0.2
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self) -> None:
        from ik_engine.errors import SolverError

        def positive(name):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not (np.isfinite(value) and value > 0):
                raise SolverError(f"{name} must be a finite number > 0, got {value!r}")

        for name in ("learning_rate", "eps"):
            positive(name)
        for name in ("beta1", "beta2"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not (0.0 <= value < 1.0):
                raise SolverError(f"{name} must be a number in [0, 1), got {value!r}")


def build_gradient_descent(problem: Any, options: GradientOptions, backend: Any = None) -> Callable:
    """The solve function of a problem, to be compiled by ``backend`` (default: JAX).

    Returns ``solve(q0, inputs, tolerances, max_iterations, seed, q_reference=None)`` ->
    ``(q, errors, iterations, converged, restarts)`` with q0 (n,), inputs a
    ``ProblemInputs`` without ``initial``, tolerances (2,) = (metres, radians),
    max_iterations () int, seed () uint32 (unused: the method draws nothing), q_reference
    (n,) the pose Pin-like constraints hold (default: q0); the same contract as
    ``build_levenberg_marquardt``. ``iterations`` counts the steps taken; ``restarts`` is 0.
    """
    from ik_engine.backends.backend import load_backend

    from .solve_start import start_solve

    backend = load_backend("jax") if backend is None else backend
    xp = backend.xp
    n = problem.num_variables
    C = len(problem.tolerance_index)

    def solve(q0, inputs, tolerances, max_iterations, seed, q_reference=None):
        del seed  # deterministic, nothing to draw
        dtype = q0.dtype
        q0, inputs, lo, hi, error_tolerance, counted = start_solve(problem, q0, inputs, tolerances, q_reference, xp)

        def all_met(errors):
            return xp.all((errors <= error_tolerance) | ~counted)

        state = dict(
            it=xp.asarray(0, xp.int32),
            q=q0,
            m=xp.zeros((n,), dtype),
            v=xp.zeros((n,), dtype),
            beta1_t=xp.asarray(1.0, dtype),  # beta1 ** steps taken
            beta2_t=xp.asarray(1.0, dtype),
            done=xp.asarray(False),
            best_q=q0,
            best_cost=xp.asarray(xp.inf, dtype),
            best_met=xp.asarray(False),
            best_errors=xp.full((C,), xp.inf, dtype),
        )

        def cond(s):
            return (s["it"] <= max_iterations) & ~s["done"]

        def body(s):
            r, J, errors = problem.evaluate(s["q"], inputs, xp)
            cost = 0.5 * xp.sum(r * r)
            met = all_met(errors)
            finite = xp.isfinite(cost)
            # Best: meeting the tolerances beats not meeting them; then the lower cost.
            better = finite & ((met & ~s["best_met"]) | ((met == s["best_met"]) & (cost < s["best_cost"])))
            g = J.T @ r
            g = xp.where(xp.isfinite(g), g, 0.0)
            m = options.beta1 * s["m"] + (1.0 - options.beta1) * g
            v = options.beta2 * s["v"] + (1.0 - options.beta2) * g * g
            beta1_t = s["beta1_t"] * options.beta1
            beta2_t = s["beta2_t"] * options.beta2
            m_hat = m / (1.0 - beta1_t)
            v_hat = v / (1.0 - beta2_t)
            q_next = problem.within_limits(xp.clip(s["q"] - options.learning_rate * m_hat / (xp.sqrt(v_hat) + options.eps), lo, hi), xp)
            return dict(
                it=s["it"] + 1,
                q=q_next,
                m=m,
                v=v,
                beta1_t=beta1_t,
                beta2_t=beta2_t,
                done=met,
                best_q=xp.where(better, s["q"], s["best_q"]),
                best_cost=xp.where(better, cost, s["best_cost"]),
                best_met=xp.where(better, met, s["best_met"]),
                best_errors=xp.where(better, errors, s["best_errors"]),
            )

        s = backend.while_loop(cond, body, state)
        # Iterations: steps whose result was evaluated (the first evaluation is of q0).
        return s["best_q"], s["best_errors"], s["it"] - 1, s["best_met"], xp.asarray(0, xp.int32)

    return solve
