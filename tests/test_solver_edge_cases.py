"""Edge cases found in review: each one once crashed, returned NaN or silently misbehaved."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest

import ik_engine as ik
from ik_engine.benchmarks.scenarios import BODY_JOINTS, full_body

ARM = ["left_collar", "left_shoulder", "left_elbow", "left_wrist"]


def test_jax_64_bit_mode_solves_in_float64():
    code = (
        "import numpy as np, ik_engine as ik\n"
        "s = ik.load_skeleton('smplx')\n"
        "from ik_engine.backends.jax_backend import JaxBackend\n"
        "target = s.world_positions(s.random_pose(np.random.default_rng(2), ['left_shoulder', 'left_elbow']))[s.index('left_wrist')]\n"
        "r = ik.IKSolver(s, joints=['left_shoulder', 'left_elbow'], compilation='blocking').solve([ik.Position('left_wrist', target)])\n"
        "err = np.linalg.norm(s.world_positions(r.pose)[s.index('left_wrist')] - target)\n"
        "print(JaxBackend.float_dtype(), r.converged, err)\n"
    )
    env = dict(os.environ, JAX_ENABLE_X64="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    dtype, converged, error = out.stdout.split()[-3:]
    # The compiled program runs in float64 and meets the target by float64 FK (float32 programs
    # stop near 1e-7 m; float64 ones reach well below the tolerance).
    assert dtype == "float64" and converged == "True" and float(error) <= 1e-4


def test_a_zero_weight_constraint_does_not_hold_up_convergence(smplx):
    solver = ik.IKSolver(smplx, joints=ARM)
    target = smplx.rest_positions()[smplx.index("left_middle1")] + [-0.1, -0.1, 0.3]
    res = solver.solve([ik.Position("left_middle1", target), ik.Position("left_wrist", [0, 0, 0], weight=0.0)])
    assert res.converged and res.restarts == 0
    assert res.errors[0] <= solver.position_tolerance and res.errors[1] > 1.0  # reported, not required


def test_an_empty_priority_level_is_skipped(smplx):
    solver = ik.IKSolver(smplx, joints=[], move_root=True)
    res = solver.solve([ik.Position("pelvis", [0.1, 1.0, 0.2]), ik.RestPose()])
    assert res.converged


def test_constraints_nothing_can_move_are_refused(smplx):
    with pytest.raises(ik.SolverError, match="nothing that may move"):
        ik.IKSolver(smplx, joints=ARM).solve([ik.Position("pelvis", [0, 1, 0]), ik.Position("left_wrist", [0.5, 1.3, 0.3])])


def test_huge_initial_rotations_are_refused_and_large_ones_give_no_nan(smplx):
    solver = ik.IKSolver(smplx, joints=ARM)
    init = smplx.rest_pose().with_rotation(smplx.index("spine3"), [1e20, 0.0, 0.0])
    with pytest.raises(ik.PoseError, match=r"'spine3' has an angle of 1e\+20 rad; at most 1000 rad"):
        solver.solve([ik.Position("left_middle1", [0.5, 1.3, 0.3])], init=init)
    init = smplx.rest_pose().with_rotation(smplx.index("spine3"), [900.0, 0.0, 0.0])  # many turns: accepted
    res = solver.solve([ik.Position("left_middle1", [0.5, 1.3, 0.3])], init=init)
    assert np.isfinite(res.errors).all() and np.isfinite(res.pose.rotations).all()


def test_moving_joints_outside_the_problem_are_clipped_too(smplx):
    elbow = smplx.index("right_elbow")
    init = smplx.rest_pose().with_rotation(elbow, [0.0, -1.0, 0.0])  # 1 rad past the right elbow's limit
    res = ik.IKSolver(smplx).solve([ik.Position("left_middle1", [0.6, 1.4, 0.2])], init=init)
    assert smplx.limit_violation(res.pose) == 0.0


def test_solver_settings_are_validated_and_read_only(smplx):
    for bad in (-1, 2**40, True, 1.5):
        with pytest.raises(ik.SolverError, match="seed"):
            ik.IKSolver(smplx, seed=bad)
    with pytest.raises(ik.SolverError, match="max_iterations"):
        ik.IKSolver(smplx, max_iterations=True)
    solver = ik.IKSolver(smplx, joints=ARM)
    with pytest.raises(AttributeError):
        solver.move_root = True
    with pytest.raises(AttributeError):
        solver.max_iterations = 0
    with pytest.raises(ik.ConstraintError, match="empty batch"):
        ik.Orientation("left_wrist", np.zeros((0, 3, 3)))
    ik.solve(smplx, [ik.Position("left_middle1", [0.6, 1.4, 0.2])], joints=np.array(ARM))  # arrays as options


def test_large_batches_give_every_problem_its_whole_budget(smplx):
    """More stragglers than the compact second round holds: all continue, none is cut off."""
    scenario = full_body(smplx, 40, seed=3)
    solver = ik.IKSolver(smplx, joints=BODY_JOINTS, move_root=True, max_iterations=300, restarts=20)
    constraints = [ik.Position(j, p) for j, p in scenario.positions.items()]
    constraints += [ik.Orientation(j, R) for j, R in scenario.rotations.items()]
    # Started from the T-pose itself (init given: no cold start in the middle of the ranges),
    # many full-body problems need restarts beyond the first round's 20 iterations.
    solver.options = dataclasses.replace(solver.options, warm_restarts=20)
    batch = solver.solve_batch(constraints, init=smplx.rest_pose())
    assert (batch.iterations > 20).sum() > len(batch) // 8
    assert batch.converged.mean() >= 0.95


def test_pins_in_a_warm_round_still_hold_the_callers_pose(smplx):
    rng = np.random.default_rng(0)
    B = 24
    shoulder = smplx.rest_positions()[smplx.index("right_shoulder")]
    targets = shoulder + rng.normal(size=(B, 3)) * 0.3 + [-2.0, 0.0, 0.0]  # unreachable: stragglers
    feet = ("left_foot", "right_foot")
    solver = ik.IKSolver(smplx, joints=BODY_JOINTS, move_root=True, max_iterations=60)
    batch = solver.solve_batch([ik.Pin(j) for j in feet] + [ik.Position("right_middle1", targets, priority=1)])
    rest = smplx.rest_positions()
    for b in range(B):
        p = smplx.world_positions(batch[b].pose)
        drift = max(np.linalg.norm(p[smplx.index(j)] - rest[smplx.index(j)]) for j in feet)
        assert drift <= 1e-3
        assert batch.errors[b, :2].max() == pytest.approx(drift, abs=2e-5)  # reported against the caller's pose


def test_changed_options_compile_a_new_program_and_take_effect(smplx):
    """``solver.options`` may be replaced after solves: the next solve compiles with the new
    settings (it once kept running the program compiled with the old ones)."""
    import dataclasses

    solver = ik.IKSolver(smplx, joints=ARM, compilation="blocking")
    far = [ik.Position("left_middle1", [3.0, 1.5, 0.0])]  # out of reach: stalls, so it restarts
    assert solver.solve(far).restarts > 0
    solver.options = dataclasses.replace(solver.options)  # equal settings: nothing to recompile
    solver.solve(far)
    assert solver.compilations == 1
    solver.options = dataclasses.replace(solver.options, restarts=0)
    res = solver.solve(far)
    assert res.restarts == 0 and not res.converged
    assert solver.compilations == 2


def test_options_of_the_wrong_kind_or_range_are_refused(smplx):
    from ik_engine.solvers import GradientOptions, LMOptions

    with pytest.raises(ik.SolverError, match="'lm' method must be an LMOptions, got GradientOptions"):
        ik.IKSolver(smplx, joints=ARM).options = GradientOptions()
    with pytest.raises(ik.SolverError, match="'gradient' method must be a GradientOptions, got LMOptions"):
        ik.IKSolver(smplx, joints=ARM, method="gradient").options = LMOptions()
    for bad in (dict(creep_iterations=0), dict(creep_iterations=True), dict(stall_iterations=2.5)):
        with pytest.raises(ik.SolverError, match=next(iter(bad))):
            LMOptions(**bad)
