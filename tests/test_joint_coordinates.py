"""Euler joint coordinates: the maps against scipy and finite differences, the skeleton's
limits in them, and the solver on a skeleton whose elbows use them.

The case they exist for: an elbow flexed 90 degrees and pronated 40 (a bent forearm turned
palm-back) is the axis-angle vector (31, -86, 31) degrees, which an axis-angle box with
+-5 degrees of z rejects; in Euler coordinates "yzx" it is (40, -90, 0), inside the box.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import ik_engine as ik
from ik_engine.errors import SkeletonError
from ik_engine.joint_coordinates import (
    EULER_ORDERS,
    axis_angle_to_coordinates,
    body_jacobian,
    coordinates_to_axis_angle,
    euler_to_matrix,
    matrix_to_euler,
)
from ik_engine.problem import ProblemInputs, ResidualProblem
from reference import reference_world


def _scipy_matrix(c: np.ndarray, order: str) -> np.ndarray:
    """scipy's intrinsic Euler rotation; scipy takes the angles in the order they apply."""
    angles = np.stack([c[..., "xyz".index(a)] for a in order], axis=-1)
    return Rotation.from_euler(order.upper(), angles).as_matrix()


@pytest.mark.parametrize("order", EULER_ORDERS)
def test_euler_maps_match_scipy_and_invert(order):
    rng = np.random.default_rng(1)
    c = rng.uniform(-1.5, 1.5, size=(200, 3))
    R = euler_to_matrix(c, order, np)
    np.testing.assert_allclose(R, _scipy_matrix(c, order), atol=1e-14)
    # The middle angle is within +-90 degrees here, so the principal set comes back.
    np.testing.assert_allclose(matrix_to_euler(R, order), c, atol=1e-12)
    # Random rotations (any middle angle) round-trip as matrices.
    R_any = Rotation.random(200, random_state=2).as_matrix()
    np.testing.assert_allclose(euler_to_matrix(matrix_to_euler(R_any, order), order, np), R_any, atol=1e-12)


@pytest.mark.parametrize("order", EULER_ORDERS)
def test_euler_singular_middle_angle_still_round_trips(order):
    middle = "xyz".index(order[1])
    for sign in (1.0, -1.0):
        c = np.array([0.4, -0.7, 0.25])
        c[middle] = sign * np.pi / 2
        R = euler_to_matrix(c, order, np)
        back = matrix_to_euler(R, order)
        assert np.isfinite(back).all()
        np.testing.assert_allclose(euler_to_matrix(back, order, np), R, atol=1e-12)


@pytest.mark.parametrize("kind", ("axis_angle",) + EULER_ORDERS)
def test_body_jacobian_matches_finite_differences(kind):
    """omega = E dc, with [omega]x = R^T dR/dc (the angular velocity in the joint's frame)."""
    from ik_engine.joint_coordinates import coordinates_to_matrix

    rng = np.random.default_rng(3)
    c = rng.uniform(-1.2, 1.2, size=(20, 3))
    E = body_jacobian(c, kind, np)
    R = coordinates_to_matrix(c, kind, np)
    h = 1e-6
    for a in range(3):
        step = np.zeros(3)
        step[a] = h
        dR = (coordinates_to_matrix(c + step, kind, np) - coordinates_to_matrix(c - step, kind, np)) / (2 * h)
        W = np.swapaxes(R, -1, -2) @ dR
        omega = np.stack([W[:, 2, 1], W[:, 0, 2], W[:, 1, 0]], axis=-1)
        np.testing.assert_allclose(E[..., a], omega, atol=1e-8)


@pytest.mark.parametrize("kind", EULER_ORDERS)
def test_euler_matrices_and_body_jacobians_are_the_same_in_numpy_and_jax(kind):
    """numpy runs its own in-place construction (the interpreter's speed), JAX the stacked one
    (the compiled solver's): one map."""
    import jax.numpy as jnp

    from ik_engine.joint_coordinates import coordinates_to_matrix

    c = np.random.default_rng(4).uniform(-3.0, 3.0, size=(2, 5, 3))
    for function in (body_jacobian, coordinates_to_matrix):
        numpy_result = function(c, kind, np)
        jax_result = np.asarray(function(jnp.asarray(c, dtype=jnp.float32), kind, jnp))
        assert numpy_result.shape == jax_result.shape == (2, 5, 3, 3)
        np.testing.assert_allclose(jax_result, numpy_result, atol=2e-6)


def test_a_rotation_about_one_axis_has_the_same_coordinates_in_every_kind():
    for axis in range(3):
        r = np.zeros(3)
        r[axis] = 0.7
        for order in EULER_ORDERS:
            np.testing.assert_allclose(axis_angle_to_coordinates(r, order), r, atol=1e-14)
            np.testing.assert_allclose(coordinates_to_axis_angle(r, order), r, atol=1e-14)


# ------------------------------------------------------------------ the shipped elbows
@pytest.fixture(scope="module")
def smplx():
    return ik.load_skeleton("smplx")


def _flexed_pronated(side: str, flexion_deg: float, pronation_deg: float) -> np.ndarray:
    """Axis-angle of an elbow flexed then pronated about the forearm (the anatomical motion)."""
    sign = -1.0 if side == "left" else 1.0  # left flexion is -y, right +y (mirror)
    R = Rotation.from_rotvec([0, sign * np.radians(flexion_deg), 0]).as_matrix()
    forearm_axis = np.array([1.0, 0.0, 0.0])  # the forearm's own x axis, turned with it
    R = R @ Rotation.from_rotvec(forearm_axis * np.radians(pronation_deg)).as_matrix()
    return Rotation.from_matrix(R).as_rotvec()


def test_shipped_elbows_use_euler_coordinates_that_admit_flexion_with_pronation(smplx):
    assert smplx.coordinates[smplx.index("left_elbow")] == "yzx"
    assert smplx.coordinates[smplx.index("right_elbow")] == "yzx"
    assert smplx.coordinates.count("axis_angle") == smplx.num_joints - 2
    r = _flexed_pronated("left", 90, 40)
    np.testing.assert_allclose(np.degrees(r), [31.0, -86.0, 31.0], atol=1.0)  # the doc's example
    pose = smplx.rest_pose()
    rotations = pose.rotations.copy()
    rotations[smplx.index("left_elbow")] = r
    rotations[smplx.index("right_elbow")] = _flexed_pronated("right", 120, -70)
    bent = ik.Pose(rotations, pose.translation)
    assert smplx.limit_violation(bent) == 0.0
    c = smplx.to_coordinates(rotations)[smplx.index("left_elbow")]
    np.testing.assert_allclose(np.degrees(c), [40.0, -90.0, 0.0], atol=1e-9)
    # The same limits as an axis-angle box (the former model) reject the pose.
    boxed = ik.Skeleton(smplx.joint_names, smplx.parents, smplx.rest_offsets, smplx.lower, smplx.upper)
    assert boxed.limit_violation(bent) > np.radians(20)


def test_an_elbow_bent_sideways_is_still_rejected(smplx):
    rotations = smplx.rest_pose().rotations.copy()
    rotations[smplx.index("left_elbow")] = [0.0, 0.0, np.radians(30)]  # forearm up 30 degrees
    assert smplx.limit_violation(ik.Pose(rotations, np.zeros(3))) == pytest.approx(np.radians(25))


def test_clamp_and_random_pose_work_in_the_joints_coordinates(smplx):
    rng = np.random.default_rng(4)
    elbow = smplx.index("left_elbow")
    for _ in range(20):
        pose = smplx.random_pose(rng)
        assert smplx.limit_violation(pose) == 0.0
    rotations = smplx.rest_pose().rotations.copy()
    rotations[elbow] = _flexed_pronated("left", 160, 100)  # past flexion 150 and pronation 80
    clamped = smplx.clamp(ik.Pose(rotations, np.zeros(3)))
    assert smplx.limit_violation(clamped) == 0.0
    np.testing.assert_allclose(np.degrees(smplx.to_coordinates(clamped.rotations)[elbow]), [80, -150, 0], atol=1e-9)


def test_skeleton_rejects_bad_coordinates(smplx):
    names, parents, offsets = smplx.joint_names, smplx.parents, smplx.rest_offsets
    with pytest.raises(SkeletonError, match="unknown joint coordinates 'xyx'"):
        ik.Skeleton(names, parents, offsets, coordinates=["axis_angle"] * 3 + ["xyx"] + ["axis_angle"] * 51)
    with pytest.raises(SkeletonError, match="one kind per joint"):
        ik.Skeleton(names, parents, offsets, coordinates=["axis_angle"] * 3)
    with pytest.raises(SkeletonError, match="root joint 'pelvis' must use axis_angle"):
        ik.Skeleton(names, parents, offsets, coordinates=["yzx"] + ["axis_angle"] * 54)


# ------------------------------------------------------------------ the problem and the solver
def test_problem_jacobian_with_euler_elbows_matches_finite_differences(smplx):
    rng = np.random.default_rng(5)
    moving = smplx.indices(["spine3", "left_collar", "left_shoulder", "left_elbow", "left_wrist"])
    rotations = smplx.random_pose(rng).rotations
    _, p = reference_world(smplx, rotations, np.zeros(3))
    constraints = [ik.Position("left_wrist", p[smplx.index("left_wrist")] + 0.1),
                   ik.Orientation("left_wrist", Rotation.random(random_state=6).as_matrix()),
                   ik.RestPose(weight=0.3)]
    problem = ResidualProblem(smplx, moving, False, constraints)
    params, sqrt_weights = problem.pack_parameters(constraints)
    inputs = ProblemInputs(rotations[problem.joints], np.zeros(3), params, sqrt_weights)
    q = problem.initial_variables(rotations, np.zeros(3))
    # q holds the elbow's Euler coordinates, and the state's FK matches the float64 reference.
    elbow_row = 3 * list(problem.moving_joints).index(smplx.index("left_elbow"))
    np.testing.assert_allclose(q[elbow_row : elbow_row + 3], smplx.to_coordinates(rotations)[smplx.index("left_elbow")])
    state = problem.state(q, inputs, np)
    R_ref, p_ref = reference_world(smplx, rotations, np.zeros(3))
    np.testing.assert_allclose(state.p_world_joint, p_ref[problem.joints], atol=1e-12)
    np.testing.assert_allclose(state.R_world_joint, R_ref[problem.joints], atol=1e-12)
    _, J, _ = problem.evaluate(q, inputs, np)
    h = 1e-6
    J_fd = np.stack([(problem.evaluate(q + h * e, inputs, np)[0] - problem.evaluate(q - h * e, inputs, np)[0]) / (2 * h)
                     for e in np.eye(len(q))], axis=1)
    np.testing.assert_allclose(J, J_fd, atol=1e-6 * max(1.0, np.abs(J_fd).max()))


def test_solver_reaches_a_hand_that_needs_a_flexed_pronated_elbow(smplx):
    """The target is the hand frame of a pose with the elbow flexed 100 and pronated 60:
    reachable only with both motions; the solution stays inside the Euler box."""
    elbow = smplx.index("left_elbow")
    rotations = smplx.rest_pose().rotations.copy()
    rotations[elbow] = _flexed_pronated("left", 100, 60)
    goal = ik.Pose(rotations, np.zeros(3))
    R, p = reference_world(smplx, goal.rotations, goal.translation)
    wrist = smplx.index("left_wrist")
    solver = ik.IKSolver(smplx, joints=["left_elbow"])
    result = solver.solve([ik.Position("left_wrist", p[wrist]), ik.Orientation("left_wrist", R[wrist])])
    assert result.converged
    assert smplx.limit_violation(result.pose) == 0.0
    np.testing.assert_allclose(smplx.to_coordinates(result.pose.rotations)[elbow], np.radians([60, -100, 0]), atol=2e-3)
    # A RestPose reference with that elbow is met exactly: the regulariser compares coordinates.
    pulled = ik.IKSolver(smplx, joints=["left_elbow"]).solve([ik.RestPose(reference=goal)])
    np.testing.assert_allclose(smplx.to_coordinates(pulled.pose.rotations)[elbow], np.radians([60, -100, 0]), atol=2e-3)


@pytest.mark.parametrize("order", EULER_ORDERS)
def test_one_rotation_converts_as_a_batch_does(order):
    """A single (3,) vector takes the plain-float path (every single solve does); it must give
    what the batched path and scipy give."""
    rng = np.random.default_rng(7)
    c = rng.uniform(-1.5, 1.5, size=(50, 3))
    r = coordinates_to_axis_angle(c, order)  # batched
    np.testing.assert_allclose(r, Rotation.from_matrix(_scipy_matrix(c, order)).as_rotvec(), atol=1e-12)
    for k in range(len(c)):
        np.testing.assert_allclose(coordinates_to_axis_angle(c[k], order), r[k], atol=1e-13)
        np.testing.assert_allclose(axis_angle_to_coordinates(r[k], order), c[k], atol=1e-12)
    # A half turn and no turn at all.
    np.testing.assert_allclose(coordinates_to_axis_angle(np.zeros(3), order), np.zeros(3), atol=0)
    half = np.zeros(3)
    half["xyz".index(order[0])] = np.pi
    np.testing.assert_allclose(np.abs(coordinates_to_axis_angle(half, order)), np.abs(half), atol=1e-12)


def test_skeleton_rejects_an_euler_middle_axis_range_that_reaches_90_degrees(smplx):
    names, parents, offsets = smplx.joint_names, smplx.parents, smplx.rest_offsets
    lower, upper = smplx.lower.copy(), smplx.upper.copy()
    elbow = smplx.index("left_elbow")
    upper[elbow, 2] = np.radians(120)  # "yzx": z is the middle axis
    with pytest.raises(SkeletonError, match=r"'left_elbow' uses Euler coordinates 'yzx': its middle axis \(z\)"):
        ik.Skeleton(names, parents, offsets, lower, upper, coordinates=smplx.coordinates)
