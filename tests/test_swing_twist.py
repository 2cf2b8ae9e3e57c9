"""Swing-twist joint coordinates: the maps against scipy, closed forms and finite differences;
the ellipse limit in the skeleton, the solver (every iterate inside) and the baselines."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import ik_engine as ik
from ik_engine.errors import SkeletonError
from ik_engine.joint_coordinates import (
    MAX_SWING,
    SWING_TWIST_KINDS,
    body_jacobian,
    coordinates_to_axis_angle,
    coordinates_to_matrix,
    matrix_to_swing_twist,
    project_swing,
    swing_axes,
    twist_axis,
)
from ik_engine.numpy_namespace import is_numpy
from ik_engine.problem import ResidualProblem

from reference import reference_world

D = np.radians
# Shoulder limits by axis, degrees: twist about x (the bone), swings about y and z.
SHOULDER_LOWER, SHOULDER_UPPER = (-60, -80, -70), (90, 60, 40)


def swing_of(R: np.ndarray, t: int) -> tuple[float, np.ndarray]:
    """(twist, swing quaternion (w, x, y, z), w >= 0) of R by the definition, via scipy."""
    x, y, z, w = Rotation.from_matrix(R).as_quat()
    q = np.array([w, x, y, z]) * (1 if w >= 0 else -1)
    tau = 2 * np.arctan2(q[1 + t], q[0])
    S = R @ Rotation.from_rotvec(-tau * np.eye(3)[t]).as_matrix()
    x, y, z, w = Rotation.from_matrix(S).as_quat()
    return tau, np.array([w, x, y, z]) * (1 if w >= 0 else -1)


def level(c: np.ndarray, t: int, lower, upper) -> float:
    """The ellipse's level (1 on its boundary) of coordinates c, per quadrant, in (s_b, s_d)."""
    b, d = swing_axes(t)
    out = 0.0
    for a in (b, d):
        s = np.sin(c[a] / 2)
        semi = np.sin((upper[a] if s >= 0 else -lower[a]) / 2)
        out += (s / semi) ** 2
    return out


def shoulder_arm(elliptic=True) -> ik.Skeleton:
    lower = np.array([[0, 0, 0], D(SHOULDER_LOWER), [0, 0, 0], [0, 0, 0]], dtype=float)
    upper = np.array([[0, 0, 0], D(SHOULDER_UPPER), [0, 0, D(150)], [0, 0, 0]], dtype=float)
    if not elliptic:  # the swing about z unlimited: a box on the swing about y only
        lower[1, 2], upper[1, 2] = -np.pi, np.pi
    return ik.Skeleton(
        ["root", "shoulder", "elbow", "hand"], [-1, 0, 1, 2],
        [[0, 1.4, 0], [0.2, 0, 0], [0.3, 0, 0], [0.25, 0, 0]], lower, upper,
        coordinates=["axis_angle", "swing_twist_x", "axis_angle", "axis_angle"], name="shoulder_arm",
    )


@pytest.mark.parametrize("kind", SWING_TWIST_KINDS)
def test_coordinates_are_blenders_twist_and_swing_components_and_round_trip(kind):
    t = twist_axis(kind)
    b, d = swing_axes(t)
    rng = np.random.default_rng(0)
    for c in rng.uniform(-1.5, 1.5, (200, 3)):  # swings within 172 degrees: a valid quaternion
        c[t] *= 2  # twists up to 172 degrees
        R = coordinates_to_matrix(c, kind, np)
        tau, swing = swing_of(R, t)
        # The definition: twist 2 atan2(q_t, q_w); swing quaternion components sin(c / 2).
        assert tau == pytest.approx(c[t], abs=1e-9)
        np.testing.assert_allclose(swing[1 + np.array([b, d])], np.sin(c[[b, d]] / 2), atol=1e-9)
        assert abs(swing[1 + t]) <= 1e-9
        np.testing.assert_allclose(matrix_to_swing_twist(R, t), c, atol=1e-9)
    # A rotation about one axis has the angle on that axis, as in every kind.
    for a in range(3):
        c = np.zeros(3)
        c[a] = 0.7
        np.testing.assert_allclose(coordinates_to_axis_angle(c, kind), c, atol=1e-12)


@pytest.mark.parametrize("kind", SWING_TWIST_KINDS)
def test_body_jacobian_matches_finite_differences(kind):
    rng = np.random.default_rng(1)
    for c in list(rng.uniform(-1.5, 1.5, (30, 3))) + [np.zeros(3)]:
        E = body_jacobian(c, kind, np)
        R = coordinates_to_matrix(c, kind, np)
        for i in range(3):
            step = np.zeros(3)
            step[i] = 1e-6
            dR = (coordinates_to_matrix(c + step, kind, np) - coordinates_to_matrix(c - step, kind, np)) / 2e-6
            W = R.T @ dR
            np.testing.assert_allclose([W[2, 1], W[0, 2], W[1, 0]], E[:, i], atol=1e-6)


def test_projection_moves_outside_swings_onto_the_ellipse_along_their_ray():
    t, lower, upper = 0, D(SHOULDER_LOWER), D(SHOULDER_UPPER)
    b, d = swing_axes(t)
    rng = np.random.default_rng(2)
    moved = 0
    for c in rng.uniform(lower, upper, (500, 3)):
        p = project_swing(c, t, lower, upper, np.asarray(True), np)
        assert p[t] == c[t]
        if level(c, t, lower, upper) <= 1.0:
            np.testing.assert_array_equal(p, c)
            continue
        moved += 1
        assert level(p, t, lower, upper) == pytest.approx(1.0, abs=1e-9)
        s_c, s_p = np.sin(c[[b, d]] / 2), np.sin(p[[b, d]] / 2)
        assert s_p @ s_c / np.linalg.norm(s_p) / np.linalg.norm(s_c) == pytest.approx(1.0, abs=1e-12)
    assert moved > 100  # a box's corners lie outside its ellipse
    # Without the ellipse, only swings beyond MAX_SWING are brought back.
    c = np.array([0.0, 3.0, 3.0])
    p = project_swing(c, t, np.full(3, -np.pi), np.full(3, np.pi), np.asarray(False), np)
    assert 2 * np.arcsin(np.hypot(*np.sin(p[[b, d]] / 2))) == pytest.approx(MAX_SWING)


def test_skeleton_counts_clamps_and_draws_within_the_ellipse():
    skel = shoulder_arm()
    j = skel.index("shoulder")
    corner = np.zeros((4, 3))
    corner[j] = D([0, 55, 35])  # inside the box, outside the ellipse
    assert level(corner[j], 0, D(SHOULDER_LOWER), D(SHOULDER_UPPER)) > 1
    rotations = skel.from_coordinates(corner)
    excess = skel.joint_limit_excess(ik.Pose(rotations, np.zeros(3)))
    assert excess[j] > D(5)
    clamped = skel.clamp(ik.Pose(rotations, np.zeros(3)))
    assert skel.limit_violation(clamped) == 0.0
    assert level(skel.to_coordinates(clamped.rotations)[j], 0, D(SHOULDER_LOWER), D(SHOULDER_UPPER)) == pytest.approx(1.0)
    # The same rotation on a skeleton whose swing only a box limits is inside.
    assert shoulder_arm(elliptic=False).limit_violation(ik.Pose(rotations, np.zeros(3))) == 0.0
    rng = np.random.default_rng(3)
    draws = [skel.to_coordinates(skel.random_pose(rng).rotations)[j] for _ in range(300)]
    assert max(level(c, 0, D(SHOULDER_LOWER), D(SHOULDER_UPPER)) for c in draws) <= 1.0 + 1e-9
    assert skel.elliptic_swing.tolist() == [False, True, False, False]


def test_skeleton_refuses_an_elliptic_range_without_the_rest_pose():
    lower = np.array([[0, 0, 0], [0, D(10), -1.0]])
    upper = np.array([[0, 0, 0], [1.0, D(40), 1.0]])
    with pytest.raises(SkeletonError, match="'b'.*swing range about y must contain 0"):
        ik.Skeleton(["a", "b"], [-1, 0], [[0, 0, 0], [1, 0, 0]], lower, upper, coordinates=["axis_angle", "swing_twist_x"])


def test_solver_reaches_inside_and_every_iterate_stays_in_the_ellipse(monkeypatch):
    skel = shoulder_arm()
    j = skel.index("shoulder")
    seen = []
    evaluate = ResidualProblem.evaluate

    def recording(self, q, inputs, xp):
        if is_numpy(xp):
            seen.append(np.array(q))
        return evaluate(self, q, inputs, xp)

    monkeypatch.setattr(ResidualProblem, "evaluate", recording)
    solver = ik.IKSolver(skel, joints=["shoulder", "elbow"], compilation="never")
    rng = np.random.default_rng(4)
    for _ in range(10):
        truth = skel.random_pose(rng)
        target = reference_world(skel, truth.rotations, truth.translation)[1][skel.index("hand")]
        result = solver.solve([ik.Position("hand", target)])
        assert result.converged
        hand = reference_world(skel, result.pose.rotations, result.pose.translation)[1][skel.index("hand")]
        assert np.linalg.norm(hand - target) <= 1e-4
        assert skel.limit_violation(result.pose) == 0.0
    assert len(seen) > 50
    for q in seen:  # the shoulder is the first moving joint: q[0:3]
        assert level(q[0:3], 0, D(SHOULDER_LOWER), D(SHOULDER_UPPER)) <= 1.0 + 1e-9
    assert j == 1


def test_out_of_reach_the_compromise_lies_on_the_ellipse_and_matches_ipopt():
    pytest.importorskip("casadi")
    from ik_engine.baselines import ipopt

    skel = shoulder_arm()
    # Straight up and back: beyond both swing limits at once.
    target = np.array([-0.3, 2.3, -0.4])
    constraints = [ik.Position("hand", target)]
    result = ik.IKSolver(skel, joints=["shoulder", "elbow"], compilation="never").solve(constraints)
    assert not result.converged
    assert skel.limit_violation(result.pose) == 0.0
    c = skel.to_coordinates(result.pose.rotations)[skel.index("shoulder")]
    assert level(c, 0, D(SHOULDER_LOWER), D(SHOULDER_UPPER)) == pytest.approx(1.0, abs=1e-6)
    best = ipopt(skel, constraints, joints=["shoulder", "elbow"])
    assert skel.limit_violation(best.pose) <= 1e-6
    assert result.position_error <= best.position_error * 1.01 + 1e-6


@pytest.mark.parametrize("method", ["ccd", "fabrik", "ipopt"])
def test_baselines_return_poses_inside_the_ellipse(method):
    if method == "ipopt":
        pytest.importorskip("casadi")
    from ik_engine import baselines

    skel = shoulder_arm()
    rng = np.random.default_rng(5)
    for _ in range(5):
        truth = skel.random_pose(rng)
        target = reference_world(skel, truth.rotations, truth.translation)[1][skel.index("hand")]
        result = getattr(baselines, method)(skel, [ik.Position("hand", target)], joints=["shoulder", "elbow"])
        assert skel.limit_violation(result.pose) == 0.0


def test_compiled_and_interpreted_solves_agree():
    skel = shoulder_arm()
    rng = np.random.default_rng(6)
    truth = skel.random_pose(rng)
    target = reference_world(skel, truth.rotations, truth.translation)[1][skel.index("hand")]
    constraints = [ik.Position("hand", target)]
    interpreted = ik.IKSolver(skel, joints=["shoulder", "elbow"], compilation="never").solve(constraints)
    compiled_solver = ik.IKSolver(skel, joints=["shoulder", "elbow"], compilation="blocking")
    compiled = compiled_solver.solve(constraints)
    assert compiled_solver.compilations == 1
    assert compiled.converged and interpreted.converged
    assert skel.limit_violation(compiled.pose) == 0.0
    np.testing.assert_allclose(compiled.pose.rotations, interpreted.pose.rotations, atol=2e-3)


def hanging_arm_skeleton() -> ik.Skeleton:
    """The shoulder's cone centred on the hanging arm: neutral rotation Rz(-90 degrees), twist
    about y (the hanging bone), flexion / extension about x, abduction / adduction about z."""
    skel = shoulder_arm()
    neutral = np.broadcast_to(np.eye(3), (4, 3, 3)).copy()
    neutral[1] = Rotation.from_rotvec([0, 0, -np.pi / 2]).as_matrix()
    lower, upper = skel.lower.copy(), skel.upper.copy()
    lower[1], upper[1] = D([-170, -90, -20]), D([60, 90, 170])
    kinds = list(skel.coordinates)
    kinds[1] = "swing_twist_y"
    return ik.Skeleton(skel.joint_names, skel.parents, skel.rest_offsets, lower, upper, coordinates=kinds,
                       neutral_rotations=neutral)


def test_a_neutral_rotation_centres_the_limits_and_round_trips():
    skel = hanging_arm_skeleton()
    j = skel.index("shoulder")
    # At the rest pose (T-pose) the arm is 90 degrees of abduction from the hanging centre.
    np.testing.assert_allclose(skel.to_coordinates(np.zeros((4, 3)))[j], D([0, 0, 90]), atol=1e-12)
    c = np.zeros((4, 3))
    c[j] = D([40, 0, 0])  # from hanging: 40 degrees of extension (the arm swings back)
    rotations = skel.from_coordinates(c)
    _, p_world = reference_world(skel, rotations, np.zeros(3))
    elbow = p_world[skel.index("elbow")] - p_world[j]
    np.testing.assert_allclose(elbow / np.linalg.norm(elbow), [0, -np.cos(D(40)), -np.sin(D(40))], atol=1e-12)
    np.testing.assert_allclose(skel.to_coordinates(rotations), c, atol=1e-12)
    with pytest.raises(SkeletonError, match="neutral rotation but no swing-twist"):
        ik.Skeleton(skel.joint_names, skel.parents, skel.rest_offsets, neutral_rotations=skel.neutral_rotations)


def test_solver_and_baselines_keep_a_centred_cone():
    pytest.importorskip("casadi")
    from ik_engine import baselines

    skel = hanging_arm_skeleton()
    lower, upper = skel.lower[1], skel.upper[1]
    rng = np.random.default_rng(7)
    solver = ik.IKSolver(skel, joints=["shoulder", "elbow"], compilation="never")
    targets = []
    for _ in range(6):
        truth = skel.random_pose(rng)
        targets.append(reference_world(skel, truth.rotations, truth.translation)[1][skel.index("hand")])
    targets.append(np.array([0.2, 1.95, 0.0]))  # the straight arm straight up: beyond the 170 degree cone
    for target in targets:
        for result in (solver.solve([ik.Position("hand", target)]),
                       baselines.ipopt(skel, [ik.Position("hand", target)], joints=["shoulder", "elbow"]),
                       baselines.ccd(skel, [ik.Position("hand", target)], joints=["shoulder", "elbow"]),
                       baselines.fabrik(skel, [ik.Position("hand", target)], joints=["shoulder", "elbow"])):
            c = skel.to_coordinates(result.pose.rotations)[1]
            assert level(c, 1, lower, upper) <= 1.0 + 1e-6
            assert skel.limit_violation(result.pose) <= 1e-6
    assert solver.solve([ik.Position("hand", targets[0])]).converged
    assert not solver.solve([ik.Position("hand", targets[-1])]).converged


# ------------------------------------------------------------------ RestPose on swing-twist joints


def rest_pose_rows(problem, q, fixed, translation, params, sqrt_weights):
    from ik_engine.problem import ProblemInputs

    r, J, errors = problem.evaluate(q, ProblemInputs(fixed, translation, params, sqrt_weights), np)
    return r, J, errors


@pytest.mark.parametrize("move_root", [False, True])
def test_rest_pose_measures_a_swing_twist_joint_by_its_rotation_from_the_reference(move_root):
    """RestPose's residual of a swing-twist joint is the rotation vector from the reference's
    rotation to the joint's (scipy: rotvec of R_ref^T R), of the other joints their coordinate
    difference; its Jacobian matches central finite differences; its error is the RMS."""
    skel = ik.load_skeleton("smplx", limits="swing_twist")
    rng = np.random.default_rng(4)
    names = ["spine3", "left_collar", "left_shoulder", "left_elbow", "right_hip", "right_knee"]
    moving = skel.indices(names)
    reference = skel.random_pose(rng, names)
    constraint = ik.RestPose(reference=reference)
    problem = ResidualProblem(skel, moving, move_root, [constraint])
    params, sqrt_weights = problem.pack_parameters([constraint])
    pose = skel.random_pose(rng, names)
    fixed = pose.rotations[problem.joints]
    q = problem.initial_variables(pose.rotations, np.array([0.1, 0.9, -0.2]))
    r, J, errors = rest_pose_rows(problem, q, fixed, np.zeros(3), params, sqrt_weights)
    coordinates, reference_coordinates = skel.to_coordinates(pose.rotations), skel.to_coordinates(reference.rotations)
    expected = []
    for j in problem.moving_joints:  # the variables' order
        if skel.coordinates[j] in SWING_TWIST_KINDS:
            R, R_ref = (Rotation.from_rotvec(np.array(p.rotations[j])) for p in (pose, reference))
            expected.append((R_ref.inv() * R).as_rotvec())
        else:
            expected.append(coordinates[j] - reference_coordinates[j])
    expected = np.array(expected)
    assert sum(skel.coordinates[j] in SWING_TWIST_KINDS for j in moving) == 2  # the shoulder and the hip
    np.testing.assert_allclose(r, expected.ravel(), atol=1e-9)
    np.testing.assert_allclose(errors[0], np.sqrt(np.mean(np.sum(expected ** 2, axis=1))), atol=1e-9)

    def residual(x):
        return rest_pose_rows(problem, x, fixed, np.zeros(3), params, sqrt_weights)[0]

    h = 1e-6
    J_fd = np.stack([(residual(q + h * e) - residual(q - h * e)) / (2 * h) for e in np.eye(len(q))], axis=1)
    np.testing.assert_allclose(J, J_fd, atol=1e-6)


def test_rest_pose_jax_float32_agrees_on_swing_twist_joints():
    """The compiled evaluation (JAX, float32) of the same residual and Jacobian agrees with numpy."""
    jax = pytest.importorskip("jax")
    from ik_engine.problem import ProblemInputs

    skel = ik.load_skeleton("smplx", limits="swing_twist")
    rng = np.random.default_rng(5)
    names = ["left_collar", "left_shoulder", "left_elbow", "left_hip"]
    moving = skel.indices(names)
    constraint = ik.RestPose(reference=skel.random_pose(rng, names))
    problem = ResidualProblem(skel, moving, False, [constraint])
    params, sqrt_weights = problem.pack_parameters([constraint])
    pose = skel.random_pose(rng, names)
    fixed = pose.rotations[problem.joints]
    q = problem.initial_variables(pose.rotations, np.zeros(3)).astype(np.float32).astype(np.float64)
    evaluate = jax.jit(lambda q, f, t, p, w: problem.evaluate(q, ProblemInputs(f, t, p, w), jax.numpy))
    f32 = lambda a: jax.numpy.asarray(a, dtype=jax.numpy.float32)  # noqa: E731
    out32 = evaluate(f32(q), f32(fixed), f32(np.zeros(3)), f32(params), f32(sqrt_weights))
    out64 = problem.evaluate(q, ProblemInputs(fixed, np.zeros(3), params, sqrt_weights), np)
    for name, a, b in zip(("residual", "jacobian", "errors"), out32, out64):
        np.testing.assert_allclose(np.asarray(a, dtype=np.float64), b, atol=2e-4, err_msg=name)


def test_rest_pose_with_swing_twist_shoulders_ends_at_its_optimum():
    """A hand target the spine and the arm share, with the swing-twist shoulder, warm-started at
    rest: with even, heavy-spine and heavy-arm weights the pull ends within 5 % of the smallest
    weighted sum of squared rotations (rotation angles for the swing-twist joints, coordinates
    for the others) that meets the target within the limits (scipy SLSQP on float64 FK, the
    limits as an inequality). Measuring the shoulder by its coordinates (centred on the hanging
    arm) ended 8 % above it with heavy spine weights and ran out of its 500 iterations with heavy
    arm weights. Also from a cold start and from the answer without the RestPose (the arm far
    from rest): there the cheaper diagonal step of an even pull, exact only for an identity
    Jacobian, had stopped after one step, 1.63 rad from rest where the optimum is 0.25."""
    from scipy.optimize import minimize

    skel = ik.load_skeleton("smplx", limits="swing_twist")
    spine, arm = ["spine1", "spine2", "spine3"], ["left_collar", "left_shoulder", "left_elbow", "left_wrist"]
    joints, index, hand = spine + arm, skel.indices(spine + arm), skel.index("left_middle1")
    target = reference_world(skel, np.zeros((skel.num_joints, 3)), np.zeros(3))[1][hand] + np.array([-0.25, -0.2, 0.35])
    rest = skel.to_coordinates(np.zeros((skel.num_joints, 3)))

    def rotations_of(x):
        c = rest.copy()
        c[index] = x.reshape(-1, 3)
        return skel.from_coordinates(c)

    def cost(rotations, weights):
        c = skel.to_coordinates(rotations)
        pulls = [rotations[j] if skel.coordinates[j] in SWING_TWIST_KINDS else c[j] - rest[j] for j in index]
        return float(sum(weights.get(n, 1.0) * p @ p for n, p in zip(joints, pulls)))

    def optimum(weights):
        hand_at = lambda x: reference_world(skel, rotations_of(x), np.zeros(3))[1][hand]  # noqa: E731
        inside = lambda x: -skel.joint_limit_excess(ik.Pose(rotations_of(x), np.zeros(3)))[index]  # noqa: E731
        bounds = list(zip(skel.lower[index].ravel(), skel.upper[index].ravel()))
        runs = [minimize(lambda x: cost(rotations_of(x), weights), np.clip(x0, *np.array(bounds).T), method="SLSQP",
                         bounds=bounds, constraints=[{"type": "eq", "fun": lambda x: hand_at(x) - target},
                                                     {"type": "ineq", "fun": inside}], options=dict(maxiter=500, ftol=1e-12))
                for x0 in (rest[index].ravel(), rest[index].ravel() + np.random.default_rng(0).normal(scale=0.3, size=3 * len(index)))]
        good = [run.fun for run in runs if run.success and np.linalg.norm(hand_at(run.x) - target) < 1e-6 and inside(run.x).min() > -1e-6]
        assert good, "SLSQP found no optimum"
        return min(good)

    solver = ik.IKSolver(skel, joints=joints, compilation="never")
    plain = solver.solve([ik.Position("left_middle1", target)])  # cold: the chain from the middle of its ranges
    starts = (("even", {}, skel.rest_pose()), ("heavy spine", {j: 100.0 for j in spine}, skel.rest_pose()),
              ("heavy arm", {j: 100.0 for j in arm}, skel.rest_pose()), ("even, cold", {}, None),
              ("even, from the plain answer", {}, plain.pose))
    for name, weights, init in starts:
        result = solver.solve([ik.Position("left_middle1", target), ik.RestPose(weights=weights or None)], init=init)
        reached = reference_world(skel, result.pose.rotations, result.pose.translation)[1][hand]
        assert result.converged and np.linalg.norm(reached - target) <= 1e-4 + 1e-6, name
        assert skel.limit_violation(result.pose) == 0.0, name
        best = optimum(weights)
        assert cost(result.pose.rotations, weights) <= 1.05 * best, (name, cost(result.pose.rotations, weights), best)
