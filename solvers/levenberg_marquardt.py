"""Damped least squares (Levenberg-Marquardt) with priorities and the joint limits as hard bounds.

One compiled loop (the backend's ``while_loop``: ``jax.lax.while_loop`` or ``tf.while_loop``;
the method is written once against the backend's array namespace ``xp``):

* damping ``lambda = nu * cost + lambda_min`` (Sugihara 2011: damping that scales with the
  squared error converges well even for unreachable targets), with ``nu`` raised after a
  rejected step and lowered after an accepted one;
* priorities: the step is built level by level, each level solved in the null space that
  the levels above leave (``dq += P J_k^T (J_k P J_k^T + lambda I)^-1 e_k``, then ``P`` loses
  ``J_k``'s row space, found by an eigen-decomposition of the smaller Gram matrix); a level
  moves only while the levels above are near (within ``step_slack`` tolerances; in the same
  step they repair what the last step disturbed), regularisers only once everything above
  is met, and strictly-met gating takes over when progress slows or the budget ends; steps
  are compared level by level (a lower level never buys progress with a higher level's error
  beyond tolerance); regulariser levels take a diagonal (Jacobi) step, except uneven pulls
  below other levels, solved exactly in the freedom left, with their own trust radius;
* bounds by an active set: a variable at a bound whose gradient pushes it outward is frozen,
  the others are solved for; variables the step carries past a bound stop there and the rest
  is solved again; the result is projected into the box: no iterate leaves the limits;
* the loop stops once every target and inequality is within tolerance (and regularisers stop
  improving or reach their reference), keeps the best iterate, and restarts from a random
  in-limit pose when progress stalls.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .lm_options import LMOptions
from .small_systems import SMALL_SYSTEM, rows_as_slice, unrolled_cholesky_solve


# Once the targets are met, a regulariser's step that keeps this fraction of its cost or more
# (or a pose that keeps it since the last one that met every target: a cycle) ends the solve:
# 0.9 for even pulls, 0.97 for uneven ones (per-joint RestPose weights), which converge slower.
SOFT_GAIN, UNEVEN_SOFT_GAIN = 0.9, 0.97
# An uneven regulariser's trust radius grows by this factor after an accepted step.
SOFT_GROWTH = 1.25
# A warm start tries the whole-body alignment candidate only when a position target is farther
# than this from its start (metres) or an orientation target turned by more (radians), or when
# its budget is this many iterations or fewer (tracking's frames); docs/defaults.md measures both.
WARM_ALIGN_ERRORS, WARM_ALIGN_BUDGET = (0.25, 0.5), 10


def build_levenberg_marquardt(problem: Any, options: LMOptions, backend: Any = None) -> Callable:
    """The solve function of a problem, to be compiled by ``backend`` (default: JAX).

    Returns ``solve(q0, inputs, tolerances, max_iterations, seed, q_reference=None)`` ->
    ``(q, errors, iterations, converged, restarts)`` with q0 (n,), inputs a
    ``ProblemInputs`` without ``initial``, tolerances (2,) = (metres, radians) or (3,) with
    a warm-start flag (1: the caller's pose; keep its basin's compromise),
    max_iterations () int32, seed () uint32, q_reference (n,) the pose Pin-like
    constraints hold (default: q0); arrays of the backend's namespace.
    """
    from ik_engine.backends.backend import load_backend
    from ik_engine.root_alignment import can_align_root, root_aligned

    from .random_draws import draw_key, fingerprint, uniform_run
    from .solve_start import start_solve

    backend = load_backend("jax") if backend is None else backend
    xp = backend.xp  # jax.numpy or the TensorFlow namespace

    bounded = np.isfinite(problem.sample_lower) & np.isfinite(problem.sample_upper)  # else: keep at restarts
    sample_lower = np.where(bounded, problem.sample_lower, 0.0)
    sample_upper = np.where(bounded, problem.sample_upper, 0.0)
    n, m = problem.num_variables, problem.num_residuals
    tolerance_index = problem.tolerance_index
    hard = tolerance_index >= 0
    level_rows = [rows_as_slice(np.flatnonzero(problem.row_levels == k)) for k in range(len(problem.priorities))]
    # Levels whose constraints add no rows (e.g. a regulariser when no joint rotates).
    level_empty = [np.size(np.arange(problem.num_residuals)[rows]) == 0 for rows in level_rows]
    level_constraints = [np.flatnonzero((problem.constraint_levels == k) & hard) for k in range(len(problem.priorities))]
    num_levels = len(level_rows)
    can_align = can_align_root(problem)
    level_is_soft = [not np.any(hard[problem.constraint_levels == k]) for k in range(num_levels)]
    # Regularisers whose pull weighs variables unevenly (RestPose with per-joint weights): below
    # other levels they are solved exactly in the freedom left (see ``cascade``), with their
    # own trust radius and stopping rules; even pulls keep the cheap diagonal step, which
    # reaches the same optimum for them.
    level_is_uneven = np.array([level_is_soft[k] and problem.uneven_levels[k] for k in range(num_levels)], dtype=bool)
    uneven = bool(level_is_uneven.any())
    # Regularisers that step only once every level above is met (uneven ones step while those
    # are near, repairing them in the same step).
    soft_waits = np.array(level_is_soft, dtype=bool) & ~level_is_uneven
    soft_gain = UNEVEN_SOFT_GAIN if uneven else SOFT_GAIN
    soft_mask, soft_constraints = np.array(level_is_soft, dtype=np.float32), np.flatnonzero(~hard)
    progress_mask = soft_mask if soft_mask.all() else 1.0 - soft_mask
    eps_bound = 1e-6
    # (C,) the error of a target beyond which a warm start tries the whole-body alignment.
    warm_align_errors = np.select([tolerance_index == 0, tolerance_index == 1], list(WARM_ALIGN_ERRORS), np.inf)
    neutral_mask, neutral_values, held_mask = problem.neutral_mask, problem.neutral_values, problem.held_mask

    def solve(q0, inputs, tolerances, max_iterations, seed, q_reference=None):
        dtype = q0.dtype
        q0, inputs, lo, hi, error_tolerance, counted = start_solve(problem, q0, inputs, tolerances, q_reference, xp)
        warm = tolerances[2] > 0.5 if tolerances.shape[0] > 2 else xp.asarray(False)
        # A cold start (``ResidualProblem.cold_start``) hands in a search start q0 that differs
        # from the caller's pose: the caller's pose is evaluated first (a pose that already
        # meets everything is returned as it is), then the search starts at q0.
        q_caller = q0 if q_reference is None else problem.within_limits(xp.clip(q_reference, lo, hi), xp)
        cold = xp.any(q_caller != q0)

        def evaluate(q):
            r, J, errors = problem.evaluate(q, inputs, xp)
            return r, J, errors, xp.stack([xp.sum(r[rows] * r[rows]) for rows in level_rows])

        def levels_met(errors, slack=1.0):
            """(K,) bool: every target and inequality of each level within slack x tolerance."""
            met = (errors <= slack * error_tolerance) | ~counted
            return xp.stack([xp.all(met[idx]) for idx in level_constraints])

        def lexicographically_better(costs_a, met_a, costs_b, met_b):
            """Is state a better than state b, comparing levels from the highest down?

            At each level: meeting its tolerances beats not meeting them; if both meet them
            the level does not decide; else a clearly lower cost wins.
            """
            # All levels at once (K,), then the first that decides: a dozen operations whatever K.
            differs = xp.abs(costs_a - costs_b) > 1e-3 * xp.maximum(costs_a, costs_b) + 1e-20
            met_differs = met_a != met_b
            decides = met_differs | (differs & ~(met_a & met_b))
            better = xp.where(met_differs, met_a, costs_a < costs_b)
            first = xp.argmax(decides.astype(xp.int32))  # the first True (0 when none decides)
            return xp.where(xp.any(decides), xp.take(better, first), xp.sum(costs_a) < xp.sum(costs_b))

        def solve_spd(A, b):
            """Solve (A + floor I) x = b for a symmetric positive semi-definite A (Cholesky).

            The floor, relative to A's scale, keeps the factorisation finite in float32 when
            A is (nearly) singular: dependent rows, or rows a higher level already used up.
            """
            floor = 1e-5 * xp.trace(A) / A.shape[0] + 1e-12
            A = A + floor * xp.eye(A.shape[0], dtype=dtype)
            if A.shape[0] <= SMALL_SYSTEM and backend.name != "numpy":  # numpy: one LAPACK call is cheaper
                return unrolled_cholesky_solve(A, b, xp)
            return backend.cholesky_solve(A, b)

        def damped_least_squares(Jh, e, lam):
            """argmin |Jh dq - e|^2 + lam |dq|^2, in task space or joint space, whichever is smaller."""
            rows, cols = Jh.shape
            if rows <= cols:
                return Jh.T @ solve_spd(Jh @ Jh.T + lam * xp.eye(rows, dtype=dtype), e)
            return solve_spd(Jh.T @ Jh + lam * xp.eye(cols, dtype=dtype), Jh.T @ e)

        def row_space_projector(Jh):
            """(n, n) projector onto the row space of Jh (m, n), from an eigen-decomposition of
            Jh Jh^T: directions with eigenvalues below 1e-6 of the largest count as absent.

            (Products only, no triangular solves with many right-hand sides, which XLA's CPU
            backend runs slowly; and a sharper projector than a damped inverse.)
            """
            m_rows, n_cols = Jh.shape
            if m_rows > n_cols:  # more rows than variables: decompose the smaller J^T J
                d, V = xp.linalg.eigh(Jh.T @ Jh)
                keep = (d > 1e-6 * xp.max(d) + 1e-30).astype(dtype)
                return (V * keep[None, :]) @ V.T
            d, V = xp.linalg.eigh(Jh @ Jh.T)
            keep = d > 1e-6 * xp.max(d) + 1e-30
            inv_d = xp.where(keep, 1.0 / xp.where(keep, d, 1.0), 0.0)
            M = Jh.T @ V  # (n, m)
            return (M * inv_d[None, :]) @ M.T

        def cascade(J, r, costs, nu, free, dq_fixed, active, soft_bound):
            """Prioritised damped step for the free variables, given a fixed part of the step.

            Only the ``active`` levels (K,) ask for change; the others are skipped. A regulariser
            below other levels changes its residual by at most ``soft_bound``.
            """
            dq = dq_fixed
            P = None  # projector onto the freedom left; None means diag(free)
            for k, rows in enumerate(level_rows):
                if level_empty[k]:
                    continue
                Jk, rk = J[rows], r[rows]
                Jh = Jk * free.astype(dtype)[None, :] if P is None else Jk @ P
                e = -(rk + Jk @ dq)
                e = xp.where(active[k], e, 0.0)
                exact_soft = level_is_uneven[k] and P is not None  # see below
                if k > 0 and not exact_soft:
                    # Lower levels take bounded steps: their pull leaks into the levels above
                    # through the (regularised, hence inexact) projector in proportion to it.
                    norm_e = xp.sqrt(xp.sum(e * e))
                    e = e * xp.minimum(1.0, options.lower_level_step / xp.maximum(norm_e, 1e-30))
                lam = nu * costs[k] + options.lambda_min
                if level_is_soft[k] and not exact_soft:
                    # A regulariser's cost never vanishes: damping by it would only slow it.
                    lam = nu * options.lambda_min
                    # Solve unprojected, then project. Inverting the projected Jacobian would
                    # amplify the directions that the (regularised) projector removes only
                    # partly; a pull toward a pose needs no such precision. The solve is
                    # diagonal (Jacobi): exact for pulls on single variables (RestPose,
                    # Smoothness) and cheap, where a dense one would be (n x n).
                    step_k = (Jk.T @ e) / (xp.sum(Jk * Jk, axis=0) + lam + 1e-12)
                    dq = dq + (step_k * free.astype(dtype) if P is None else P @ step_k)
                elif level_is_soft[k]:
                    # An uneven pull below other levels: damped least squares of the projected
                    # Jacobian (a diagonal step projected afterwards stops where the *unweighted*
                    # projected pull vanishes: 12x the optimum's cost with heavy spine weights),
                    # bounded on the change it makes, not on the residual (which its optimum
                    # keeps large: a bounded residual made every step the same fraction).
                    lam = nu * options.lambda_min
                    step_k = damped_least_squares(Jh, e, lam)
                    change = xp.sqrt(xp.sum((Jh @ step_k) ** 2))
                    dq = dq + step_k * xp.minimum(1.0, soft_bound / xp.maximum(change, 1e-30))
                else:
                    dq = dq + damped_least_squares(Jh, e, lam)
                if k + 1 < num_levels:
                    if P is None:
                        P = xp.diag(free.astype(dtype))
                    P = P - row_space_projector(Jh)
            return dq

        def step(q, r, J, costs, nu, active, soft_bound):
            g = J.T @ r
            # Pass 1: variables at a bound that the gradient pushes outward are held.
            held = ((q <= lo + eps_bound) & (g > 0)) | ((q >= hi - eps_bound) & (g < 0))
            zero = xp.zeros_like(q)
            dq = cascade(J, r, costs, nu, ~held, zero, active, soft_bound)
            # Pass 2: variables the step carries past a bound stop at it; the others are
            # solved again for what remains (a projected, not just clipped, step).
            q_clipped = xp.clip(q + dq, lo, hi)
            crossed = q_clipped != q + dq

            def resolve(_):
                hit = crossed | held
                dq_hit = xp.where(hit, q_clipped - q, 0.0)
                return q + xp.where(hit, dq_hit, cascade(J, r, costs, nu, ~hit, dq_hit, active, soft_bound))

            # The second pass is needed only when the step crossed a bound. Swing-twist joints'
            # swings are then brought into their ellipses (a radial projection).
            return problem.within_limits(xp.clip(backend.cond(xp.any(crossed), resolve, lambda _: q + dq, None), lo, hi), xp)

        # Restart k draws row k of a (restarts + 1, n) uniform draw keyed by the seed and the
        # problem's own data (so problems differ in their restarts; the same numbers on every
        # backend), only when it restarts: most solves never do (the key too: 20 rounds of
        # Threefry, some 15-20 us of an interpreted solve that needs none).
        def restart_draw(row):
            key = draw_key(seed, fingerprint([inputs.params, q0], xp), xp)
            return uniform_run(key, row * np.uint32(n), n, dtype, xp)

        def no_draw(row):
            return xp.zeros((n,), dtype)
        K = num_levels
        inf_costs = xp.full((K,), xp.inf, dtype)
        no_costs = xp.zeros((K,), dtype)
        no_levels_met = xp.zeros((K,), bool)
        C = len(tolerance_index)
        # The loop evaluates one candidate per iteration: the initial pose first, then either
        # a damped step or, after a stall, a restart seed. Tracing the residual once keeps
        # compilation short.
        state = dict(
            it=xp.asarray(0, xp.int32),
            q=q0, r=xp.zeros((m,), dtype), J=xp.zeros((m, n), dtype), costs=inf_costs, met=no_levels_met,
            errors=xp.zeros((C,), dtype),
            nu=xp.asarray(1.0, dtype),
            stall=xp.asarray(0, xp.int32),
            creep=xp.asarray(0, xp.int32),
            reference_cost=xp.asarray(xp.inf, dtype),
            ok_soft=xp.asarray(xp.inf, dtype),
            near=no_levels_met,
            restarts=xp.asarray(0, xp.int32),
            restart_pending=xp.asarray(False),
            polished=xp.asarray(False),
            done=xp.asarray(False),
            best_q=q0, best_costs=inf_costs, best_met=no_levels_met, best_errors=xp.full((C,), xp.inf, dtype),
        )

        if uneven:  # only uneven regularisers carry a trust radius
            state["soft_bound"] = xp.asarray(options.lower_level_step, dtype)

        def cond(s):
            return (s["it"] <= max_iterations) & ~s["done"]

        def body(s):
            first = s["it"] == 0
            finite_costs = xp.where(first, xp.ones((K,), dtype), s["costs"])
            # A level moves only while every level above it is near (within step_slack x
            # tolerance; a higher level repairs in the same step what the last one disturbed),
            # and regularisers only once every level above them is met.
            above_near = xp.concatenate([xp.ones((1,), bool), xp.cumprod(s["near"][:-1].astype(xp.int32)) > 0])
            above_met = xp.concatenate([xp.ones((1,), bool), xp.cumprod(s["met"][:-1].astype(xp.int32)) > 0])
            # Near the end of the budget or when progress stalls, levels above must be met
            # (not just near), so that the iterates, and so the best pose, meet them exactly.
            # Not on a slow creep: a lower level still on its way would then wait for every
            # level above to be met exactly, and creep slower still (multi-constraint cold
            # starts: 75 % met with that rule, 84 % without; unreachable targets end closer).
            strict = (s["stall"] >= 2) | (s["it"] >= max_iterations - 3)
            active = xp.where(xp.asarray(soft_waits) | strict, above_met, above_near)
            search_start = (s["it"] == 1) & cold
            fresh = first | s["restart_pending"] | search_start
            # A fresh start after the polish began is the polish itself (no restart follows it).
            polish_start = s["restart_pending"] & s["polished"]

            def fresh_start(_):
                """The caller's pose, the search start, the best pose (polish) or a restart seed."""
                row = xp.asarray(xp.minimum(s["restarts"], options.restarts), xp.uint32)
                u = backend.cond(s["restart_pending"] & ~polish_start, restart_draw, no_draw, row)
                u_pose = sample_lower + u * (sample_upper - sample_lower)
                # Restart seeds per variable (``ResidualProblem._start_masks``; docs/defaults.md has the
                # rules and what each gained): odd restarts put the chains to the targets part of the
                # way from the middle of their ranges toward a uniform draw (other bounded variables at
                # the draw), even ones every bounded variable at the draw, every fourth near a corner of
                # the box (10 % or 90 % of its range); joints above a pose-holding constraint go part of
                # the way from the best pose toward the draw; unbounded ones stay at the best pose.
                perturbed = s["best_q"] + options.perturbation * (u_pose - s["best_q"])
                centred = neutral_values + options.perturbation * (u_pose - neutral_values)
                anywhere = (s["restarts"] % 2 == 0) | ~neutral_mask
                corner = sample_lower + xp.where(u > 0.5, 0.9, 0.1) * (sample_upper - sample_lower)
                anywhere_seed = xp.where(s["restarts"] % 4 == 3, corner, xp.where(anywhere, u_pose, centred))
                q_seed = problem.within_limits(xp.where(held_mask, perturbed, xp.where(bounded, anywhere_seed, s["best_q"])), xp)
                return xp.where(first, q_caller, xp.where(search_start, q0, xp.where(polish_start, s["best_q"], q_seed)))

            # An uneven regulariser's step has its own trust radius (its damping, tied to the
            # tiny lambda_min, would hardly shrink it): 4 times shorter after a rejected step it
            # took part in (a pull that disturbed a level above is retried shorter, not repeated),
            # SOFT_GROWTH times longer after an accepted one, at most lower_level_step.
            soft_bound = s["soft_bound"] if uneven else options.lower_level_step
            # Only the candidate this iteration needs is computed (a branch, not a select):
            # a fresh start takes no step.
            candidate = backend.cond(
                fresh,
                fresh_start,
                lambda _: step(s["q"], s["r"], s["J"], finite_costs, s["nu"], active, soft_bound),
                None,
            )
            if can_align:
                # Second candidate: the initial pose moved rigidly onto the targets (kept only if
                # better), so large changes of the whole body's heading or position need no slow
                # search by the root joint; a warm start only when a target is far or its budget short.
                far = xp.any(counted & (s["errors"] > xp.asarray(warm_align_errors, dtype)))
                align = (s["it"] == xp.where(cold, 2, 1)) & (cold | far | (max_iterations <= WARM_ALIGN_BUDGET))
                candidate = backend.cond(
                    align, lambda _: problem.within_limits(xp.clip(root_aligned(problem, q0, inputs, xp), lo, hi), xp),
                    lambda c: c, candidate
                )
            r_new, J_new, e_new, c_new = evaluate(candidate)
            met_new = levels_met(e_new)
            near_new = levels_met(e_new, options.step_slack)
            finite = xp.all(xp.isfinite(c_new))
            # A fresh start is always taken; a step only if it is better, level by level,
            # where a level within step_slack x tolerance counts as met: a lower level's
            # step may disturb a met level slightly (curvature), and the next step restores it.
            # Also taken: a step that is better by the strict tolerances (a repair).
            accept = fresh | (finite & (lexicographically_better(c_new, near_new, s["costs"], s["near"])
                                        | lexicographically_better(c_new, met_new, s["costs"], s["met"])))
            # Progress is judged on the targets and inequalities (regularisers, which never
            # vanish, would hide it), or on the regularisers when there is nothing else.
            total_new, total_old = xp.sum(c_new * progress_mask), xp.sum(s["costs"] * progress_mask)
            # While polishing, a real step is a finer one (the last digits of a compromise).
            min_decrease = xp.where(s["polished"], 1e-2 * options.min_decrease, options.min_decrease)
            stepped = accept & (total_new < total_old * (1.0 - min_decrease))
            # With regularisers, once the targets are met: stop when a step that included
            # them gains less than 1 - soft_gain on them.
            soft_new, soft_old = xp.sum(c_new * soft_mask), xp.sum(s["costs"] * soft_mask)
            if uneven:
                # (A rejected or shortened step does not end it: the next one is shorter or
                # longer, see soft_bound; a run of stall_iterations rejected ones does.)
                stepped_soft = ~xp.all(active) | ~accept | (soft_bound < options.lower_level_step) | (soft_new < soft_old * soft_gain)
            else:
                stepped_soft = ~xp.all(active) | (accept & (soft_new < soft_old * soft_gain))
            pick = lambda new, old: xp.where(accept, new, old)
            q, r, J, costs, met, near, errors = (pick(a, b) for a, b in
                                                 zip((candidate, r_new, J_new, c_new, met_new, near_new, e_new),
                                                     (s["q"], s["r"], s["J"], s["costs"], s["met"], s["near"], s["errors"])))
            nu = xp.where(fresh, 1.0, xp.where(accept, xp.maximum(s["nu"] * 0.3, 1e-3), xp.minimum(s["nu"] * 4.0, 1e8)))
            # Stalled: several steps in a row without a real decrease, or a slow creep that
            # has not halved the cost in many steps.
            # An uneven regulariser improving while every level above is near: progress too (a
            # restart would throw its work away; the levels above cannot halve forever).
            soft_progress = (accept & xp.all(near_new) & (soft_new < soft_old * (1.0 - min_decrease))) if uneven else False
            stall = xp.where(fresh | stepped | soft_progress, 0, s["stall"] + 1)
            progress_cost = xp.sum(costs * progress_mask)
            halved = fresh | (progress_cost < s["reference_cost"] * 0.5) | soft_progress
            reference_cost = xp.where(halved, progress_cost, s["reference_cost"])
            creep = xp.where(halved, 0, s["creep"] + 1)
            ok = xp.all(met)
            # A warm start keeps the compromise of its own basin: after a restart, a pose
            # replaces the best only if it meets more priority levels, not for a lower cost
            # (frame loops whose targets are out of reach would otherwise flip between
            # compromises of nearly equal cost). (The polish below descends from the best pose
            # itself: its steps count as usual.)
            better = xp.where(warm & (s["restarts"] > 0) & ~s["polished"],
                              lexicographically_better(no_costs, met, no_costs, s["best_met"]),
                              lexicographically_better(costs, met, s["best_costs"], s["best_met"])) | first
            stalled = (stall >= options.stall_iterations) | (creep >= options.creep_iterations)
            # A warm start restarts at most ``warm_restarts`` times: out of reach, its restarts
            # cannot win (they would need to meet more levels) and only cost time per frame.
            restarts_left = s["restarts"] < xp.where(warm, min(options.restarts, options.warm_restarts), options.restarts)
            # Polish: once the restarts are spent (or the budget nearly is), the best pose so far
            # is descended from again until that stalls at 0.01 % per step (a descent stalls at
            # 1 %; a compromise out of reach deserves the exact minimum of its basin). A warm start whose
            # best pose meets every level polishes at once: its restarts cannot replace it (``better``).
            best_met = xp.where(better, met, s["best_met"])
            warm_settled = warm & xp.all(best_met)
            polish = ~ok & ~s["polished"] & ((s["restarts"] > 0) | warm_settled) & (
                (stalled & (~restarts_left | warm_settled)) | (s["it"] >= max_iterations - options.polish_iterations))
            restart = ~ok & stalled & restarts_left & ~s["polished"] & ~polish
            if uneven:
                # Every level near and stalled: the pull has gone as far as it can (met and near
                # poses alternate as it and the repairs trade places); the best (met) pose is it.
                settled = xp.all(near) & stalled & xp.all(best_met)
                restart = restart & ~settled
            # Regularisers keep improving after the targets are met: stop when they stall,
            # or when they gained less than 10 % since the last iterate that met every target
            # (a regulariser step that disturbs a target, followed by its repair, would
            # otherwise cycle between the same two poses until the budget ends).
            soft_now = xp.sum(costs * soft_mask)
            soft_stalled = soft_now >= soft_gain * xp.where(fresh, xp.inf, s["ok_soft"])
            if uneven:
                # (Judged on accepted full-length steps only: a shortened one gains less.)
                soft_stalled = soft_stalled & accept & (soft_bound >= options.lower_level_step)
                soft_stalled = soft_stalled | (stall >= options.stall_iterations)
            # Or at their reference (orientation tolerance): a pull whose optimum is it gains a share a step forever.
            soft_reached = xp.all(xp.take(errors, soft_constraints) <= tolerances[1])
            done = ok & ((~stepped_soft | soft_stalled | soft_reached) if problem.has_soft else True)
            if uneven:
                done = done | settled
            done = done | (s["polished"] & ~polish_start & (stall >= options.stall_iterations))  # the polish is over
            ok_soft = xp.where(ok, soft_now, xp.where(fresh, xp.inf, s["ok_soft"]))
            new = dict(
                it=s["it"] + 1, q=q, r=r, J=J, costs=costs, met=met, errors=errors, nu=nu.astype(dtype),
                stall=xp.where(restart | polish, 0, stall),
                creep=xp.where(restart | polish, 0, creep),
                reference_cost=reference_cost,
                ok_soft=ok_soft.astype(dtype),
                near=near,
                restarts=s["restarts"] + restart.astype(xp.int32),
                restart_pending=restart | polish,
                polished=s["polished"] | polish,
                done=done,
                best_q=xp.where(better, q, s["best_q"]),
                best_costs=xp.where(better, costs, s["best_costs"]),
                best_met=best_met,
                best_errors=xp.where(better, errors, s["best_errors"]),
            )
            if uneven:
                new["soft_bound"] = xp.where(fresh, options.lower_level_step, xp.where(
                    accept, xp.minimum(SOFT_GROWTH * soft_bound, options.lower_level_step),
                    xp.where(xp.any(active & xp.asarray(level_is_uneven)), 0.25 * soft_bound, soft_bound))).astype(dtype)
            return new

        s = backend.while_loop(cond, body, state)
        # Iterations: candidates evaluated after the initial pose.
        return s["best_q"], s["best_errors"], s["it"] - 1, xp.all(s["best_met"]), s["restarts"]

    return solve
