"""The TensorFlow backend: the same kinematics, residuals and solver as JAX, compiled by XLA
through tf.function(jit_compile=True).

Truths: numpy (the namespace's operations, and the float64 evaluation of every constraint
kind), float64 forward kinematics of the skeleton (tests/reference.py: whether the solved
poses reach their targets), jax.random (the restart draws), and the JAX backend, whose
solutions the TensorFlow backend must reproduce (parity).
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import ik_engine as ik
from ik_engine.benchmarks.scenarios import BODY_JOINTS, arm_pose, arm_reach, full_body
from reference import reference_world

PARITY_POSITION_M = 1e-4
PARITY_ANGLE_RAD = np.radians(0.05)


def test_missing_tensorflow_says_how_to_install_it(monkeypatch, smplx):
    import ik_engine.backends.backend as backend

    monkeypatch.setattr(backend, "_loaded", {})
    for module in ("ik_engine.backends.tensorflow_backend", "ik_engine.backends.tensorflow_namespace"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # makes `import tensorflow` fail
    with pytest.raises(ik.SolverError, match=r"needs TensorFlow.*pip install \"tensorflow-cpu.*extra 'tensorflow'"):
        ik.IKSolver(smplx, joints=["left_elbow"], backend="tensorflow")
    with pytest.raises(ik.SolverError, match=r"extra 'tensorflow'"):
        ik.solve(smplx, [ik.Position("left_middle1", [0.5, 1.2, 0.2])], backend="tensorflow")
    # The default backend does not need TensorFlow.
    ik.IKSolver(smplx, joints=["left_elbow"])


@pytest.fixture(scope="module")
def tf():
    """TensorFlow, or a skip where it is not installed (the tests above still run)."""
    return pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def tnp(tf):
    from ik_engine.backends import tensorflow_namespace

    return tensorflow_namespace


# ------------------------------------------------------------------ the namespace
def test_namespace_follows_numpy_semantics(tf, tnp):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 3, 3)).astype(np.float32)
    v = rng.normal(size=3).astype(np.float32)
    rows = np.array([2, 0, 3])
    a = tnp.asarray(A)
    cases = [
        (a[rows], A[rows]),
        (a[:, 1, rows[:2]], A[:, 1, rows[:2]]),
        (a[..., 0, None], A[..., 0, None]),
        (a[-1].T, A[-1].T),
        (a[0] @ v, A[0] @ v),  # matrix @ vector
        (v @ a[1], v @ A[1]),  # vector @ matrix
        (a @ A[0], A @ A[0]),  # batch broadcast
        (tnp.asarray(v) * np.arange(3.0), v * np.arange(3.0)),  # float64 numpy constant meets float32
        (np.ones(3) - tnp.asarray(v), np.ones(3) - v),  # numpy on the left defers
        (tnp.linalg.det(a), np.linalg.det(A)),
        (tnp.where(a > 0, a, -1.0), np.where(A > 0, A, -1.0)),
        (tnp.take(a, rows, axis=-3), np.take(A, rows, axis=-3)),
        (tnp.cross(a[0], v), np.cross(A[0], v)),
        (tnp.cumprod(tnp.asarray([1, 2, 3])), np.cumprod([1, 2, 3])),
        (tnp.asarray(v) ** 2, v**2),
    ]
    for ours, expected in cases:
        assert ours.shape == np.shape(expected)
        np.testing.assert_allclose(ours.tensor.numpy(), expected, rtol=1e-5, atol=1e-5)
    assert a.dtype == tf.float32 and (tnp.asarray(v) * np.float64(2.0)).dtype == tf.float32
    U, S, Vt = tnp.linalg.svd(a[0])
    np.testing.assert_allclose((U.tensor.numpy() * S.tensor.numpy()) @ Vt.tensor.numpy(), A[0], atol=1e-5)
    with pytest.raises(TypeError, match="truth value"):
        bool(a[0, 0, 0] > 0)


def test_forward_kinematics_on_tensorflow_matches_the_float64_reference(smplx, tnp):
    from ik_engine.kinematics import TreeLevels, forward_kinematics, local_rotations

    pose = smplx.random_pose(np.random.default_rng(1))
    R_ref, p_ref = reference_world(smplx, pose.rotations, pose.translation)
    levels = TreeLevels.from_parents(smplx.parents)
    R_local = local_rotations(tnp.asarray(pose.rotations), None, tnp)
    R, p = forward_kinematics(levels, smplx.rest_offsets, R_local, tnp.asarray(smplx.rest_offsets[0] + pose.translation), tnp)
    np.testing.assert_allclose(R.tensor.numpy(), R_ref, atol=2e-5)
    np.testing.assert_allclose(p.tensor.numpy(), p_ref, atol=2e-5)


def test_restart_draws_are_jax_randoms_on_every_backend(tf, tnp):
    import jax

    from ik_engine.solvers.random_draws import uniform_draws

    for seed, data in [(0, 0), (7, 2**31 + 5), (2**32 - 1, 12345)]:
        expected = np.asarray(jax.random.uniform(jax.random.fold_in(jax.random.PRNGKey(np.uint32(seed)), np.uint32(data)), (5, 7)))
        draw = tf.function(lambda s, d: tnp.tensor(uniform_draws(tnp.asarray(s), tnp.asarray(d), (5, 7), tf.float32, tnp)),
                           jit_compile=True)
        np.testing.assert_array_equal(draw(tf.constant(seed, tf.uint32), tf.constant(data, tf.uint32)).numpy(), expected)
        with np.errstate(over="ignore"):
            np.testing.assert_array_equal(uniform_draws(np.uint32(seed), np.uint32(data), (5, 7), np.float32, np), expected)


def test_every_constraint_kind_evaluates_under_xla_as_in_float64_numpy(smplx, tf, tnp):
    """Residuals, Jacobians and errors of a problem with every constraint kind, compiled for
    TensorFlow (float32), against the same problem evaluated with numpy in float64."""
    from ik_engine.problem import ProblemInputs, ResidualProblem

    p = smplx.world_positions(smplx.rest_pose())

    def at(joint):
        return p[smplx.index(joint)]

    constraints = [
        ik.Position("left_middle1", at("left_middle1") + [0.1, 0.2, 0.3]),
        ik.Orientation("right_wrist", np.eye(3)),
        ik.Pin("left_foot"), ik.Pin("right_foot", rotation=True),
        ik.LookAt("head", [0.0, 1.6, 2.0]), ik.BoneDirection("right_elbow", [0.0, -1.0, 0.2]),
        ik.PoleVector("left_knee", at("left_knee") + [0.0, 0.0, 1.0]),
        ik.Floor(height=0.5), ik.Balance(support="left_foot", margin=0.3),
        ik.Avoid([ik.Sphere(at("pelvis"), 0.05), ik.Capsule(at("spine1"), at("spine3"), 0.03)]),
        ik.SelfCollision(margin=0.7, pairs=[("left_hand", "left_thigh"), ("left_forearm", "chest"), ("right_hand", "head")]),
        ik.RestPose(), ik.Smoothness(smplx.rest_pose(), priority=2),
    ]
    kinds = {type(c) for c in constraints}
    exported = [getattr(ik.constraints, name) for name in ik.constraints.__all__]
    assert kinds == {k for k in exported if isinstance(k, type) and issubclass(k, ik.Constraint) and k is not ik.Constraint}
    problem = ResidualProblem(smplx, smplx.indices(BODY_JOINTS), True, constraints)
    params, sqrt_weights = problem.pack_parameters(constraints)
    pose = smplx.random_pose(np.random.default_rng(2), BODY_JOINTS)
    fixed = smplx.rest_pose().rotations[problem.joints]
    q_reference = problem.initial_variables(smplx.rest_pose().rotations, np.zeros(3))
    q = 0.5 * problem.initial_variables(pose.rotations, np.array([0.05, -0.02, 0.1]))

    def evaluate(q, params, sqrt_weights, xp):
        inputs = ProblemInputs(xp.asarray(fixed), xp.asarray(np.zeros(3)), params, sqrt_weights)
        inputs = inputs._replace(initial=problem.state(xp.asarray(q_reference), inputs, xp))
        return problem.evaluate(q, inputs, xp)

    expected = evaluate(q, params, sqrt_weights, np)
    compiled = tf.function(
        lambda *a: tuple(tnp.tensor(x) for x in evaluate(*(tnp.TensorFlowArray(t) for t in a), tnp)), jit_compile=True
    )
    ours = compiled(*(tf.constant(a, tf.float32) for a in (q, params, sqrt_weights)))
    for got, want in zip(ours, expected):
        np.testing.assert_allclose(got.numpy(), want, atol=2e-4, rtol=1e-3)
    # Every constraint pulls at this pose (inequalities violated), so every residual and
    # Jacobian formula is compared, not just zeros.
    for slot in problem.slots:
        assert np.abs(expected[0][slot.residual_slice]).max() > 1e-3, slot.kind.__name__


# ------------------------------------------------------------------ solves
def effector_differences(skeleton, scenario, a, b):
    """(largest effector point distance m, largest effector frame angle rad) between two poses."""
    R_a, p_a = reference_world(skeleton, a.rotations, a.translation)
    R_b, p_b = reference_world(skeleton, b.rotations, b.translation)
    points = [skeleton.index(j) for j in scenario.positions]
    distance = np.linalg.norm(p_a[points] - p_b[points], axis=-1).max()
    angles = [np.arccos(np.clip((np.trace(R_a[k] @ R_b[k].T) - 1) / 2, -1, 1)) for k in map(skeleton.index, scenario.rotations)]
    return distance, max(angles, default=0.0)


def reaches(skeleton, scenario, i, pose):
    """Success as the benchmark protocol measures it: 1 mm and 1 degree, float64 FK."""
    R, p = reference_world(skeleton, pose.rotations, pose.translation)
    position = max(np.linalg.norm(p[skeleton.index(j)] - t[i]) for j, t in scenario.positions.items())
    angle = max((np.arccos(np.clip((np.trace(R[skeleton.index(j)] @ t[i].T) - 1) / 2, -1, 1))
                 for j, t in scenario.rotations.items()), default=0.0)
    return position <= 1e-3 and angle <= np.radians(1.0)


@pytest.mark.usefixtures("tf")
@pytest.mark.parametrize("make, n", [(arm_pose, 20), (full_body, 5)], ids=["arm_pose", "full_body"])
def test_tensorflow_and_jax_reach_the_same_poses(smplx, make, n):
    """Parity, and no recompilation when targets, weights or the initial pose change."""
    scenario = make(smplx, n, seed=0)
    solvers = {
        # Blocking: both compiled (float32), so that the backends are compared, not the interpreter.
        backend: ik.IKSolver(smplx, joints=scenario.moving, move_root=scenario.move_root, backend=backend,
                             compilation="blocking", **scenario.solver_options)
        for backend in ("jax", "tensorflow")
    }
    rng = np.random.default_rng(3)
    for i in range(n):
        # Every third problem starts from a random in-limit pose, every other has new weights.
        init = smplx.random_pose(rng, scenario.moving) if i % 3 == 2 else None
        weights = {j: 0.5 + i % 4 for j in scenario.positions} if i % 2 else None
        results = {b: s.solve(scenario.constraints(i, weights), init=init) for b, s in solvers.items()}
        tf_pose, jax_pose = results["tensorflow"].pose, results["jax"].pose
        assert smplx.limit_violation(tf_pose) == 0.0
        distance, angle = effector_differences(smplx, scenario, tf_pose, jax_pose)
        assert distance <= PARITY_POSITION_M and angle <= PARITY_ANGLE_RAD, (i, distance, angle)
        assert reaches(smplx, scenario, i, tf_pose) == reaches(smplx, scenario, i, jax_pose)
        assert results["tensorflow"].converged == results["jax"].converged
    assert solvers["tensorflow"].compilations == 1


@pytest.mark.usefixtures("tf")
def test_batch_clip_and_gradient_method_on_tensorflow(smplx):
    scenario = arm_reach(smplx, 4, seed=6)
    targets = scenario.positions["left_middle1"]
    solver = ik.IKSolver(smplx, joints=scenario.moving, backend="tensorflow", compilation="blocking")
    # A batch: the problems solved one by one inside one program, as by solve().
    batch = solver.solve_batch([ik.Position("left_middle1", targets)])
    for i, result in enumerate(batch):
        single = solver.solve(scenario.constraints(i))
        np.testing.assert_allclose(result.pose.rotations, single.pose.rotations, atol=1e-6)
        assert result.iterations == single.iterations and reaches(smplx, scenario, i, result.pose)
    # A clip: frames in order, each warm-started.
    clip = solver.solve_clip([ik.Position("left_middle1", targets)])
    assert all(reaches(smplx, scenario, i, r.pose) for i, r in enumerate(clip))
    assert solver.compilations == 3  # one program each: single, batch of 4, clip of 4 frames
    # The first-order method (through ik.solve): the same iterations as on JAX (it draws nothing).
    results = {
        b: ik.solve(smplx, scenario.constraints(0), joints=scenario.moving, backend=b, method="gradient", max_iterations=1000)
        for b in ("jax", "tensorflow")
    }
    assert reaches(smplx, scenario, 0, results["tensorflow"].pose)
    assert results["tensorflow"].iterations == results["jax"].iterations
    distance, _ = effector_differences(smplx, scenario, results["tensorflow"].pose, results["jax"].pose)
    assert distance <= PARITY_POSITION_M


def test_loading_the_backend_and_compiling_print_no_tensorflow_log_lines(tf):
    code = ("import ik_engine as ik\n"
            "s = ik.load_skeleton('smplx')\n"
            "r = ik.IKSolver(s, joints=['left_shoulder', 'left_elbow'], backend='tensorflow', compilation='blocking')"
            ".solve([ik.Position('left_middle1', [0.4, 1.3, 0.3])])\n"
            "print(r.converged)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                         env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"})
    assert out.returncode == 0 and out.stdout.strip() == "True", out.stderr[-2000:]
    assert out.stderr.strip() == "", out.stderr[-2000:]
