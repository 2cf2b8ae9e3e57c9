"""The IPOPT baseline (baselines/ipopt.py): its CasADi kinematics against float64 FK and
finite differences, closed-form and edge cases, the arm benchmarks, errors and the NLP cache."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import ik_engine as ik
from conftest import planar_arm
from reference import swing_twist_y_coordinates, swing_twist_y_matrix
from ik_engine.baselines.common import prepare
from ik_engine.baselines.ipopt import (
    SUPPORTED,
    IPOPTOptions,
    clear_ipopt_cache,
    forward_kinematics_function,
    ipopt,
    ipopt_cache_info,
    nlp_parameters,
    objective_function,
)
from ik_engine.benchmarks import scenarios
from ik_engine.problem import ResidualProblem

casadi = pytest.importorskip("casadi")

ARM = list(scenarios.ARM_JOINTS)
HAND = scenarios.HAND_POINT


def _fk_arrays(fk, q, R_fixed, translation):
    """(R_world_joint (S, 3, 3), p_world_joint (S, 3)) from the CasADi FK function."""
    R, p = fk(q, R_fixed, translation)
    R = np.asarray(R).reshape(3, -1, 3).transpose(1, 0, 2)
    return R, np.asarray(p).T


def _whole_body_problem(skeleton):
    """Every joint moves and is read, the root translates: the subtree is the whole tree."""
    constraints = [ik.Position(name, np.zeros(3)) for name in skeleton.joint_names]
    problem = ResidualProblem(skeleton, range(skeleton.num_joints), True, constraints)
    assert list(problem.joints) == list(range(skeleton.num_joints))
    return problem


def euler_coordinates(R, order):
    """Euler coordinates (..., 3) stored by axis (c_x, c_y, c_z) of rotations R (..., 3, 3),
    from scipy's intrinsic Euler angles (upper-case sequence), independent of ik_engine."""
    angles = Rotation.from_matrix(R).as_euler(order.upper())
    c = np.empty_like(angles)
    c[..., ["xyz".index(a) for a in order]] = angles
    return c


def euler_rotation(c, order):
    """scipy Rotation of Euler coordinates (..., 3) stored by axis: R_i(c_i) R_j(c_j) R_k(c_k)."""
    return Rotation.from_euler(order.upper(), np.asarray(c)[..., ["xyz".index(a) for a in order]])


def _neutral(skeleton, j):
    return np.eye(3) if skeleton.neutral(j) is None else skeleton.neutral(j)


def _coordinates(skeleton, rotations):
    """(J, 3) joint coordinates of axis-angle rotations (J, 3), through scipy (Euler angles, or
    swing-twist about y for the shoulders and hips)."""
    c = np.array(rotations, dtype=np.float64)
    for j, kind in enumerate(skeleton.coordinates):
        if kind == "swing_twist_y":
            c[j] = swing_twist_y_coordinates(Rotation.from_rotvec(c[j]).as_matrix(), _neutral(skeleton, j))
        elif kind != "axis_angle":
            c[j] = euler_coordinates(Rotation.from_rotvec(c[j]).as_matrix(), kind)
    return c


def _rotations(skeleton, joints, coordinates):
    """(K, 3) axis-angle rotations of the joints' coordinates (K, 3), through scipy."""
    r = np.array(coordinates, dtype=np.float64)
    for row, j in enumerate(joints):
        kind = skeleton.coordinates[j]
        if kind == "swing_twist_y":
            r[row] = Rotation.from_matrix(swing_twist_y_matrix(r[row], _neutral(skeleton, j))).as_rotvec()
        elif kind != "axis_angle":
            r[row] = euler_rotation(r[row], kind).as_rotvec()
    return r


def _variables(skeleton, pose):
    return np.concatenate([_coordinates(skeleton, pose.rotations).reshape(-1), pose.translation])


def test_the_shipped_elbows_use_euler_coordinates(smplx):
    """The tests below run the Euler path through the shipped skeleton's elbows."""
    assert smplx.coordinates[smplx.index("left_elbow")] == "yzx"
    assert smplx.coordinates[smplx.index("right_elbow")] == "yzx"


def _test_poses(skeleton, rng):
    """Random in-limit poses, poses beyond the limits, near-zero and exactly-zero rotations."""
    J = skeleton.num_joints
    poses = [ik.Pose(skeleton.random_pose(rng).rotations, rng.normal(0, 0.3, 3)) for _ in range(3)]
    poses.append(ik.Pose(rng.normal(0, 1.2, (J, 3)), rng.normal(0, 0.3, 3)))
    tiny = rng.normal(0, 1e-3, (J, 3)) * (rng.random((J, 1)) < 0.7)  # some rows exactly zero
    poses.append(ik.Pose(tiny, np.zeros(3)))
    near_pi = rng.normal(size=(J, 3))
    near_pi *= (np.pi - 1e-3) / np.linalg.norm(near_pi, axis=1, keepdims=True)
    poses.append(ik.Pose(near_pi, np.zeros(3)))
    return poses


@pytest.mark.parametrize("limits", ["box", "swing_twist"])
def test_casadi_fk_equals_float64_fk_of_the_whole_skeleton(limits):
    smplx = ik.load_skeleton("smplx", limits=limits)  # swing_twist: the shoulders' and hips' coordinates too
    problem = _whole_body_problem(smplx)
    fk = forward_kinematics_function(problem)
    rng = np.random.default_rng(3)
    for pose in _test_poses(smplx, rng):
        R, p = _fk_arrays(fk, _variables(smplx, pose), np.zeros(0), np.zeros(3))
        R_truth, p_truth = smplx.world_transforms(pose)
        np.testing.assert_allclose(R, R_truth, rtol=0, atol=1e-9)
        np.testing.assert_allclose(p, p_truth, rtol=0, atol=1e-9)


def test_casadi_fk_with_rest_rotations_and_fixed_joints():
    # A branching tree whose bones have their own rest frames; joints 0 and 2 do not move
    # and keep rotations of the initial pose, which enter as parameters.
    rng = np.random.default_rng(5)
    rest = Rotation.random(5, random_state=7).as_matrix()
    skeleton = ik.Skeleton(
        ["root", "a", "b", "c", "d"], [-1, 0, 1, 1, 3], rng.normal(0, 0.2, (5, 3)), rest_rotations=rest, name="tree"
    )
    constraints = [ik.Position("b", np.zeros(3)), ik.Position("d", np.zeros(3))]
    problem = ResidualProblem(skeleton, [1, 3, 4], False, constraints)
    fk = forward_kinematics_function(problem)
    fixed_rows = [r for r in range(len(problem.joints)) if r not in set(problem.moving_rows.tolist())]
    for _ in range(3):
        pose = ik.Pose(rng.normal(0, 1.0, (5, 3)), rng.normal(0, 0.5, 3))
        fixed = problem.joints[fixed_rows]
        R_fixed = rest[fixed] @ Rotation.from_rotvec(pose.rotations[fixed]).as_matrix()
        q = pose.rotations[problem.moving_joints].reshape(-1)
        R, p = _fk_arrays(fk, q, R_fixed.reshape(-1), pose.translation)
        R_truth, p_truth = skeleton.world_transforms(pose)
        np.testing.assert_allclose(R, R_truth[problem.joints], rtol=0, atol=1e-9)
        np.testing.assert_allclose(p, p_truth[problem.joints], rtol=0, atol=1e-9)


def test_casadi_fk_of_euler_joints_in_every_order_equals_scipy_fk():
    """A chain whose joints use each Euler order, with rest rotations, coordinates anywhere
    (middle angles past 90 degrees too) and one Euler joint that does not move: the CasADi FK
    against a hand-written chain of scipy rotations."""
    orders = ["xyz", "xzy", "yxz", "yzx", "zxy", "zyx"]
    kinds = ["axis_angle"] + orders + ["yxz", "axis_angle"]
    J = len(kinds)
    names = [f"j{i}" for i in range(J)]
    rng = np.random.default_rng(6)
    rest = Rotation.random(J, random_state=8).as_matrix()
    offsets = rng.normal(0, 0.2, (J, 3))
    skeleton = ik.Skeleton(names, range(-1, J - 1), offsets, rest_rotations=rest, coordinates=kinds, name="euler_chain")
    moving = [j for j in range(J) if j != 3]  # j3 (yxz) keeps its initial rotation
    problem = ResidualProblem(skeleton, moving, True, [ik.Position(names[-1], np.zeros(3))])
    assert [kind for _, kind in problem.euler_moving] == ["xyz", "xzy", "yzx", "zxy", "zyx", "yxz"]
    fk = forward_kinematics_function(problem)
    for _ in range(4):
        c = rng.uniform(-np.pi, np.pi, (J, 3))
        translation = rng.normal(0, 0.3, 3)
        R_local = [
            rest[j] @ (Rotation.from_rotvec(c[j]) if kind == "axis_angle" else euler_rotation(c[j], kind)).as_matrix()
            for j, kind in enumerate(kinds)
        ]
        R_truth, p_truth = [R_local[0]], [offsets[0] + translation]
        for j in range(1, J):
            p_truth.append(p_truth[-1] + R_truth[-1] @ offsets[j])
            R_truth.append(R_truth[-1] @ R_local[j])
        q = np.concatenate([c[moving].reshape(-1), translation])
        R, p = _fk_arrays(fk, q, R_local[3].reshape(-1), np.zeros(3))
        np.testing.assert_allclose(R, R_truth, rtol=0, atol=1e-12)
        np.testing.assert_allclose(p, p_truth, rtol=0, atol=1e-12)


@pytest.mark.parametrize("limits", ["box", "swing_twist"])
@pytest.mark.parametrize("where", ["rest", "random"])
def test_casadi_fk_jacobian_matches_central_differences(where, limits):
    smplx = ik.load_skeleton("smplx", limits=limits)
    problem = _whole_body_problem(smplx)
    q_sym = casadi.SX.sym("q", problem.num_variables)
    R_sym, p_sym = forward_kinematics_function(problem)(q_sym, casadi.DM.zeros(0), casadi.DM.zeros(3))
    outputs = casadi.vertcat(casadi.vec(R_sym), casadi.vec(p_sym))
    jacobian = casadi.Function("J", [q_sym], [casadi.jacobian(outputs, q_sym)])
    rng = np.random.default_rng(11)
    if where == "rest":
        pose = smplx.rest_pose()
    else:
        pose = ik.Pose(smplx.random_pose(rng).rotations, rng.normal(0, 0.3, 3))
    q = _variables(smplx, pose)

    def flat_fk(x):  # the same layout as `outputs`, from the float64 FK
        J = smplx.num_joints
        rotations = _rotations(smplx, range(J), x[: 3 * J].reshape(J, 3))
        R, p = smplx.world_transforms(ik.Pose(rotations, x[3 * J :]))
        return np.concatenate([R.transpose(1, 0, 2).reshape(3, -1).reshape(-1, order="F"), p.T.reshape(-1, order="F")])

    h = 1e-6
    numeric = np.empty((len(flat_fk(q)), len(q)))
    for k in range(len(q)):
        step = np.zeros_like(q)
        step[k] = h
        numeric[:, k] = (flat_fk(q + step) - flat_fk(q - step)) / (2 * h)
    np.testing.assert_allclose(np.asarray(jacobian(q)), numeric, rtol=0, atol=1e-7)


def _numpy_objective(skeleton, scenario, i, joints, q):
    """The objective written out from float64 FK: sum of squared position errors and
    0.5 |R - R_target|_F^2 per orientation."""
    rotations = np.zeros((skeleton.num_joints, 3))
    rotations[skeleton.indices(joints)] = _rotations(skeleton, skeleton.indices(joints), q.reshape(-1, 3))
    R, p = skeleton.world_transforms(ik.Pose(rotations, np.zeros(3)))
    f = sum(np.sum((p[skeleton.index(j)] - t[i]) ** 2) for j, t in scenario.positions.items())
    return f + sum(0.5 * np.sum((R[skeleton.index(j)] - t[i]) ** 2) for j, t in scenario.rotations.items())


@pytest.mark.parametrize("where", ["rest", "random"])
def test_objective_value_gradient_and_hessian_match_finite_differences(smplx, where):
    scenario = scenarios.arm_pose(smplx, 1, seed=4)
    prepared = prepare("IPOPT", SUPPORTED, smplx, scenario.constraints(0), ARM, None, None, IPOPTOptions)
    f = objective_function(prepared.problem)
    q_sym = casadi.SX.sym("q", prepared.problem.num_variables)
    p = nlp_parameters(prepared)
    g_fn = casadi.Function("g", [q_sym], [casadi.gradient(f(q_sym, p), q_sym)])
    H_fn = casadi.Function("H", [q_sym], [casadi.hessian(f(q_sym, p), q_sym)[0]])
    rng = np.random.default_rng(2)
    if where == "rest":
        q = np.zeros(12)
    else:
        q = _coordinates(smplx, smplx.random_pose(rng, ARM).rotations)[smplx.indices(ARM)].reshape(-1)
    numpy_f = lambda x: _numpy_objective(smplx, scenario, 0, ARM, x)  # noqa: E731

    assert float(f(q, p)) == pytest.approx(numpy_f(q), abs=1e-12)
    h = 1e-6
    eye = np.eye(len(q))
    numeric_gradient = np.array([(numpy_f(q + h * e) - numpy_f(q - h * e)) / (2 * h) for e in eye])
    np.testing.assert_allclose(np.asarray(g_fn(q)).ravel(), numeric_gradient, rtol=0, atol=1e-8)
    h = 1e-4
    def second_difference(a, b):
        ha, hb = h * a, h * b
        return (numpy_f(q + ha + hb) - numpy_f(q + ha - hb) - numpy_f(q - ha + hb) + numpy_f(q - ha - hb)) / (4 * h * h)

    numeric_hessian = np.array([[second_difference(a, b) for b in eye] for a in eye])
    np.testing.assert_allclose(np.asarray(H_fn(q)), numeric_hessian, rtol=0, atol=1e-6)


@pytest.mark.parametrize("target", [(0.35, 0.2, 0.0), (-0.1, 0.3, 0.0), (0.12, -0.45, 0.0)])
def test_planar_two_link_arm_matches_the_law_of_cosines(target):
    l1, l2 = 0.3, 0.25
    arm = planar_arm(l1, l2)
    x, y, _ = target
    result = ipopt(arm, [ik.Position("hand", target)])
    shoulder, elbow = result.pose.rotations[0, 2], result.pose.rotations[1, 2]
    # Forward kinematics of the planar arm by hand: independent of the library.
    hand = l1 * np.array([np.cos(shoulder), np.sin(shoulder)])
    hand += l2 * np.array([np.cos(shoulder + elbow), np.sin(shoulder + elbow)])
    assert np.linalg.norm(hand - [x, y]) < 1e-5
    assert result.converged
    d2 = x * x + y * y
    expected_elbow = np.arccos((d2 - l1 * l1 - l2 * l2) / (2 * l1 * l2))  # the elbow bends one way only
    expected_shoulder = np.arctan2(y, x) - np.arctan2(l2 * np.sin(expected_elbow), l1 + l2 * np.cos(expected_elbow))
    assert elbow == pytest.approx(expected_elbow, abs=1e-4)
    assert np.angle(np.exp(1j * (shoulder - expected_shoulder))) == pytest.approx(0.0, abs=1e-4)
    assert arm.limit_violation(result.pose) == 0.0


def test_target_at_the_rest_pose_is_met_and_the_pose_stays_near_rest(smplx):
    hand = smplx.rest_positions()[smplx.index(HAND)]
    result = ipopt(smplx, [ik.Position(HAND, hand)], ARM)
    assert result.converged and result.position_error < 1e-6
    assert smplx.limit_violation(result.pose) == 0.0
    # The barrier pulls the redundant arm towards the middle of its ranges a little.
    assert np.abs(result.pose.rotations).max() < 0.25
    # Started with a tiny barrier parameter, IPOPT stays at the optimal start.
    result = ipopt(smplx, [ik.Position(HAND, hand)], ARM, options=IPOPTOptions(extra={"mu_init": 1e-9}))
    assert result.converged
    np.testing.assert_allclose(result.pose.rotations, 0.0, atol=1e-2)


def test_unreachable_target_points_the_arm_at_it_within_the_limits(smplx):
    rest = smplx.rest_positions()
    shoulder = rest[smplx.index("left_shoulder")]
    direction = np.array([0.3, 0.6, 0.7]) / np.linalg.norm([0.3, 0.6, 0.7])
    target = shoulder + 2.0 * direction
    result = ipopt(smplx, [ik.Position(HAND, target)], ARM)
    assert not result.converged
    assert smplx.limit_violation(result.pose) == 0.0
    p = smplx.world_positions(result.pose)
    reach = p[smplx.index(HAND)] - shoulder
    assert reach @ direction / np.linalg.norm(reach) > 0.99
    assert result.position_error == pytest.approx(np.linalg.norm(p[smplx.index(HAND)] - target), abs=1e-12)
    assert result.position_error < np.linalg.norm(rest[smplx.index(HAND)] - target)


def test_arm_reach_targets_are_met_within_the_limits(smplx):
    scenario = scenarios.arm_reach(smplx, 20, seed=1)
    met = 0
    for i in range(scenario.size):
        result = ipopt(smplx, scenario.constraints(i), scenario.moving)
        position_error, _ = scenario.errors(smplx, i, result.pose)
        assert result.position_error == pytest.approx(position_error, abs=1e-9)
        assert result.converged == (position_error <= 1e-4)
        assert smplx.limit_violation(result.pose) == 0.0
        assert result.iterations >= 1
        met += position_error <= 1e-3
    # Measured: 17 of 20 (the other three stop with the elbow straight on its extension limit;
    # the same three with the limits read as axis-angle). A margin of 2 for IPOPT or casadi
    # versions that end a local search differently.
    assert met >= 15


def test_arm_pose_targets_with_orientation(smplx):
    scenario = scenarios.arm_pose(smplx, 20, seed=1)
    met = 0
    for i in range(scenario.size):
        result = ipopt(smplx, scenario.constraints(i), scenario.moving)
        position_error, orientation_error = scenario.errors(smplx, i, result.pose)
        assert result.position_error == pytest.approx(position_error, abs=1e-9)
        assert result.orientation_error == pytest.approx(orientation_error, abs=1e-7)
        assert smplx.limit_violation(result.pose) == 0.0
        met += position_error <= 1e-3 and orientation_error <= np.radians(1.0)
    # Measured: 16 of 20 from the rest pose (the others stop in local minima on the limits);
    # 14 before the elbows' Euler limits. A margin of 5.
    assert met >= 11


def test_restarts_recover_local_minima(smplx):
    scenario = scenarios.arm_pose(smplx, 20, seed=1)
    options = IPOPTOptions(restarts=8, seed=0)
    results = [ipopt(smplx, scenario.constraints(i), scenario.moving, options=options) for i in range(scenario.size)]
    for i, result in enumerate(results):
        position_error, orientation_error = scenario.errors(smplx, i, result.pose)
        assert result.converged == (position_error <= 1e-4 and orientation_error <= 1e-3)
        assert smplx.limit_violation(result.pose) == 0.0
    assert sum(r.converged for r in results) >= 19  # measured: 20 of 20; a margin of 1 (5 %)
    assert any(r.restarts > 0 for r in results)


def _elbow_target(smplx, shoulder_degrees, elbow_degrees):
    """(wrist position (3,), wrist frame (3, 3)) of a pose given by the left shoulder's
    axis-angle and the left elbow's Euler coordinates (pronation x, flexion y, play z; yzx),
    in degrees, through scipy."""
    rotations = np.zeros((smplx.num_joints, 3))
    rotations[smplx.index("left_shoulder")] = np.radians(shoulder_degrees)
    rotations[smplx.index("left_elbow")] = euler_rotation(np.radians(elbow_degrees), "yzx").as_rotvec()
    R, p = smplx.world_transforms(ik.Pose(rotations, np.zeros(3)))
    return p[smplx.index("left_wrist")], R[smplx.index("left_wrist")]


def test_elbow_orientation_past_the_pronation_limit_stops_on_it(smplx):
    """The elbow alone turns the wrist frame toward 120 degrees of pronation and 60 of flexion:
    the nearest rotation its Euler box allows is (-85, -60, 0) degrees, 35 degrees short."""
    elbow = smplx.index("left_elbow")
    _, target = _elbow_target(smplx, [0.0, 0.0, 0.0], [-120.0, -60.0, 0.0])
    result = ipopt(smplx, [ik.Orientation("left_wrist", target)], ["left_elbow"])
    c = euler_coordinates(Rotation.from_rotvec(np.array(result.pose.rotations[elbow])).as_matrix(), "yzx")
    np.testing.assert_allclose(c, np.radians([-85.0, -60.0, 0.0]), atol=1e-6)
    assert smplx.limit_violation(result.pose) == 0.0
    R = smplx.world_transforms(result.pose)[0][smplx.index("left_wrist")]
    angle = Rotation.from_matrix(R @ target.T).magnitude()
    assert result.orientation_error == pytest.approx(angle, abs=1e-9)
    assert angle == pytest.approx(np.radians(35.0), abs=1e-6)


def test_flexed_and_pronated_elbow_is_reached_inside_its_euler_box(smplx):
    """The wrist's position and frame with the wrist held still: the elbow must flex 100 and
    pronate 50 degrees, a rotation outside the +-5 degrees its limits give the z coordinate
    if read as axis-angle, inside them as Euler angles."""
    elbow = smplx.index("left_elbow")
    position, frame = _elbow_target(smplx, [20.0, -30.0, 10.0], [-50.0, -100.0, 0.0])
    constraints = [ik.Position("left_wrist", position), ik.Orientation("left_wrist", frame)]
    result = ipopt(smplx, constraints, ["left_collar", "left_shoulder", "left_elbow"])
    assert result.converged
    assert smplx.limit_violation(result.pose) == 0.0
    R, p = smplx.world_transforms(result.pose)
    wrist = smplx.index("left_wrist")
    errors = [np.linalg.norm(p[wrist] - position), Rotation.from_matrix(R[wrist] @ frame.T).magnitude()]
    np.testing.assert_allclose(result.errors, errors, atol=1e-9)
    r = np.array(result.pose.rotations[elbow])
    c = euler_coordinates(Rotation.from_rotvec(r).as_matrix(), "yzx")
    assert np.all((smplx.lower[elbow] - 1e-12 <= c) & (c <= smplx.upper[elbow] + 1e-12))
    assert not np.all((smplx.lower[elbow] <= r) & (r <= smplx.upper[elbow]))


def test_joints_that_do_not_move_keep_their_initial_rotation(smplx):
    rng = np.random.default_rng(8)
    init = smplx.random_pose(rng, ["spine1", "spine3", "left_collar", "left_shoulder"])
    goal = smplx.random_pose(rng, ARM)
    rotations = goal.rotations.copy()
    rotations[smplx.indices(["spine1", "spine3"])] = init.rotations[smplx.indices(["spine1", "spine3"])]
    target = smplx.world_positions(ik.Pose(rotations, np.zeros(3)))[smplx.index(HAND)]
    result = ipopt(smplx, [ik.Position(HAND, target)], ARM, init=init)
    assert result.converged
    assert np.linalg.norm(smplx.world_positions(result.pose)[smplx.index(HAND)] - target) < 1e-4
    others = [j for j in range(smplx.num_joints) if j not in smplx.indices(ARM)]
    np.testing.assert_array_equal(result.pose.rotations[others], init.rotations[others])


def test_root_translation_moves_when_asked(smplx):
    rest_pelvis = smplx.rest_positions()[0]
    target = rest_pelvis + [0.2, -0.1, 0.3]
    result = ipopt(smplx, [ik.Position("pelvis", target)], joints=[], options=IPOPTOptions(move_root=True))
    assert result.converged
    np.testing.assert_allclose(result.pose.translation, [0.2, -0.1, 0.3], atol=1e-6)


def test_bad_input_gets_clear_errors(smplx):
    with pytest.raises(ik.UnknownJointError, match="no_such_joint"):
        ipopt(smplx, [ik.Position("no_such_joint", [0.0, 1.0, 0.0])], ARM)
    with pytest.raises(ik.UnknownJointError, match="left_elbw"):
        ipopt(smplx, [ik.Position(HAND, [0.5, 1.3, 0.3])], ["left_elbw"])
    with pytest.raises(ik.ConstraintError):
        ipopt(smplx, [ik.Position(HAND, [np.nan, 1.3, 0.3])], ARM)
    with pytest.raises(ik.SolverError, match="not supported by IPOPT"):
        ipopt(smplx, [ik.Position(HAND, [0.5, 1.3, 0.3]), ik.LookAt("head", [0.0, 1.6, 1.0])], ARM)
    with pytest.raises(ik.SolverError, match="hessian"):
        ipopt(smplx, [ik.Position(HAND, [0.5, 1.3, 0.3])], ARM, options=IPOPTOptions(hessian="newton"))
    with pytest.raises(ik.SolverError, match="rejected its options"):
        ipopt(smplx, [ik.Position(HAND, [0.5, 1.3, 0.3])], ARM, options=IPOPTOptions(extra={"no_such_option": 1.0}))
    with pytest.raises(ik.SolverError, match="IPOPTOptions"):
        ipopt(smplx, [ik.Position(HAND, [0.5, 1.3, 0.3])], ARM, options=ik.IKSolver)


def test_repeated_solves_reuse_the_compiled_nlp(smplx):
    clear_ipopt_cache()
    reach = scenarios.arm_reach(smplx, 3, seed=2)
    for i in range(3):
        result = ipopt(smplx, reach.constraints(i), reach.moving)
        position_error, _ = reach.errors(smplx, i, result.pose)
        assert result.position_error == pytest.approx(position_error, abs=1e-9)
    info = ipopt_cache_info()
    assert info.builds == 1 and info.entries == 1 and info.last_build_seconds > 0
    # A new structure, or new IPOPT settings, builds another NLP; the old ones stay cached.
    pose = scenarios.arm_pose(smplx, 1, seed=2)
    ipopt(smplx, pose.constraints(0), pose.moving)
    ipopt(smplx, reach.constraints(0), reach.moving, options=IPOPTOptions(max_iterations=50))
    ipopt(smplx, reach.constraints(1), reach.moving)
    assert ipopt_cache_info().builds == 3 and ipopt_cache_info().entries == 3
