"""Tests of the direction-like constraints: LookAt, BoneDirection, PoleVector, Pin.

Truths: central finite differences of the residual in q (float64), a plain float64 forward
kinematics loop with scipy rotations written here (for residual values and for measuring
solved poses), and the geometry of each kind stated directly (angles between vectors,
distances to a line).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import ik_engine as ik
from ik_engine.constraints.bone_direction import BoneDirection
from ik_engine.constraints.look_at import LookAt
from ik_engine.constraints.pin import PIN_RADIUS, Pin
from ik_engine.constraints.pole_vector import PoleVector
from ik_engine.problem import ProblemInputs, ResidualProblem
from reference import reference_world

NECK_HEAD = ["neck", "head"]
LEFT_ARM = ["left_collar", "left_shoulder", "left_elbow"]
LEFT_LEG = ["left_hip", "left_knee"]
BODY = [
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
    "right_ankle", "spine3", "left_collar", "left_shoulder", "left_elbow", "left_wrist",
]  # fmt: skip
Z = np.array([0.0, 0.0, 1.0])
# A met position: within the solver's 0.1 mm tolerance (README), plus 1 micrometre of float32 rounding.
TOLERANCE = 1e-4 + 1e-6


def world_of(skel, pose):
    return reference_world(skel, pose.rotations, pose.translation)


def angle(x, y):
    x, y = x / np.linalg.norm(x), y / np.linalg.norm(y)
    return float(np.arccos(np.clip(x @ y, -1.0, 1.0)))


def perpendicular(v, line):
    l = line / np.linalg.norm(line)
    return v - l * (v @ l)


LIMBS = {  # middle joint -> (upper joint, middle joint, end joint), written out by hand
    "left_knee": ("left_hip", "left_knee", "left_ankle"),
    "right_elbow": ("right_shoulder", "right_elbow", "right_wrist"),
}


def limb(skel, p_world, middle="left_knee"):
    """World positions of the limb's upper (a), middle (b) and end (c) joints."""
    a, b, c = skel.indices(LIMBS[middle])
    return p_world[a], p_world[b], p_world[c]


def finite_difference_jacobian(f, q, h=1e-6):
    cols = []
    for k in range(len(q)):
        step = np.zeros_like(q)
        step[k] = h
        cols.append((f(q + step) - f(q - step)) / (2 * h))
    return np.stack(cols, axis=1)


def make_problem(skel, constraints, moving, move_root, seed):
    """A problem at a random pose: (problem, inputs (with the initial state), q, rotations, translation)."""
    rng = np.random.default_rng(seed)
    problem = ResidualProblem(skel, skel.indices(moving), move_root, constraints)
    params, sqrt_weights = problem.pack_parameters(constraints)
    rotations = rng.uniform(-0.6, 0.6, size=(skel.num_joints, 3))
    translation = rng.uniform(-0.5, 0.5, size=3)
    inputs = ProblemInputs(rotations[problem.joints], translation, params, sqrt_weights)
    q0 = problem.initial_variables(rotations, translation)
    inputs = inputs._replace(initial=problem.state(q0, inputs, np))
    q = q0 + rng.normal(scale=0.3, size=q0.shape)
    return problem, inputs, q, rotations, translation


def full_pose(problem, q, rotations, translation):
    """The axis-angle pose that variables q stand for (q holds joint coordinates: Euler
    angles for the shipped skeleton's elbows)."""
    coordinates = problem.skeleton.to_coordinates(rotations)
    M = len(problem.moving_joints)
    coordinates[problem.moving_joints] = q[: 3 * M].reshape(M, 3)
    rotations = problem.skeleton.from_coordinates(coordinates)
    if problem.move_root:
        translation = q[3 * M : 3 * M + 3]
    return rotations, translation


def kinds():
    """One constraint of each kind (two for Pin), targets chosen off their goal."""
    return [
        LookAt("head", [0.3, 1.7, 1.0], axis=(0.1, 0.2, 1.0), weight=2.0),
        BoneDirection("left_elbow", [0.2, -1.0, 0.3], weight=0.5),
        BoneDirection("right_wrist", [0.0, 1.0, 0.0], axis=(0.0, 0.0, 1.0)),
        PoleVector("left_knee", [0.5, 0.4, 1.0], weight=3.0),
        PoleVector("right_elbow", [-0.4, 1.2, -0.5]),
        Pin("left_ankle"),
        Pin("right_wrist", rotation=True, weight=1.5),
    ]


# ------------------------------------------------------------------ residuals and Jacobians


@pytest.mark.parametrize("index", range(7), ids=lambda i: repr(kinds()[i]).split("(")[0] + str(i))
@pytest.mark.parametrize("seed", [0, 1])
def test_jacobian_matches_finite_differences(smplx, index, seed):
    c = kinds()[index]
    problem, inputs, q, _, _ = make_problem(smplx, [c], smplx.joint_names, True, seed)
    r, J, _ = problem.evaluate(q, inputs, np)
    J_fd = finite_difference_jacobian(lambda x: problem.evaluate(x, inputs, np)[0], q)
    assert J.shape == (len(r), problem.num_variables)
    np.testing.assert_allclose(J, J_fd, atol=1e-7 * max(1.0, np.abs(J_fd).max()), rtol=1e-6)


def test_jacobians_with_some_joints_fixed_and_no_root(smplx):
    constraints = kinds()
    problem, inputs, q, _, _ = make_problem(smplx, constraints, ["spine1", "spine3", "neck", "left_shoulder", "left_hip", "left_knee"], False, 2)
    _, J, _ = problem.evaluate(q, inputs, np)
    J_fd = finite_difference_jacobian(lambda x: problem.evaluate(x, inputs, np)[0], q)
    np.testing.assert_allclose(J, J_fd, atol=1e-7 * max(1.0, np.abs(J_fd).max()), rtol=1e-6)


def test_residuals_and_errors_match_the_geometry(smplx):
    constraints = kinds()
    problem, inputs, q, rotations, translation = make_problem(smplx, constraints, smplx.joint_names, True, 3)
    residual, _, errors = problem.evaluate(q, inputs, np)
    R, p = reference_world(smplx, *full_pose(problem, q, rotations, translation))
    q0 = problem.initial_variables(rotations, translation)
    R0, p0 = reference_world(smplx, *full_pose(problem, q0, rotations, translation))
    sqrt_w = inputs.sqrt_weights
    for i, (c, slot) in enumerate(zip(constraints, problem.slots)):
        rows = residual[slot.residual_slice] / sqrt_w[i]
        j = smplx.index(c.joint)
        if isinstance(c, LookAt):
            axis = R[j] @ c.axis
            to_target = c.target - p[j]
            np.testing.assert_allclose(rows, axis - to_target / np.linalg.norm(to_target), atol=1e-12)
            assert errors[i] == pytest.approx(angle(axis, to_target), abs=1e-9)
        elif isinstance(c, BoneDirection):
            if c.axis is None:  # the forearm: elbow -> wrist
                axis = p[smplx.index("left_wrist")] - p[j]
                axis = axis / np.linalg.norm(axis)
            else:
                axis = R[j] @ c.axis
            np.testing.assert_allclose(rows, axis - c.direction, atol=1e-12)
            assert errors[i] == pytest.approx(angle(axis, c.direction), abs=1e-9)
        elif isinstance(c, PoleVector):
            a, b, end = limb(smplx, p, c.joint)
            line = end - a
            bend, toward = perpendicular(b - a, line), perpendicular(c.pole - a, line)
            np.testing.assert_allclose(rows, bend / np.linalg.norm(bend) - toward / np.linalg.norm(toward), atol=1e-12)
            assert errors[i] == pytest.approx(angle(bend, toward), abs=1e-9)
        else:
            moved = np.linalg.norm(p[j] - p0[j])
            np.testing.assert_allclose(rows[:3], p[j] - p0[j], atol=1e-12)
            if c.rotation:
                turned = Rotation.from_matrix(R[j] @ R0[j].T)
                np.testing.assert_allclose(rows[3:], PIN_RADIUS * turned.as_rotvec(), atol=1e-12)
                assert errors[i] == pytest.approx(moved + PIN_RADIUS * turned.magnitude(), abs=1e-9)
            else:
                assert len(rows) == 3
                assert errors[i] == pytest.approx(moved, abs=1e-12)


def test_pin_has_no_parameters_and_problems_accept_it(smplx):
    pins = [Pin("left_ankle"), Pin("right_ankle", rotation=True)]
    assert pins[0].parameters(smplx).shape == (0,)
    problem = ResidualProblem(smplx, smplx.indices(BODY), True, pins)
    assert problem.num_parameters == 0 and problem.num_residuals == 9
    params, _ = problem.pack_parameters(pins)
    assert params.shape == (0,)
    # Changing the rotation choice changes the structure (residual size); a new joint too.
    key = ResidualProblem.structure_key
    assert key(smplx, [Pin("left_ankle")]) != key(smplx, [Pin("left_ankle", rotation=True)])


def test_a_straight_limb_has_a_finite_residual_and_reads_a_quarter_turn():
    # A three-joint leg, straight at rest: the bend direction is undefined there.
    leg = ik.Skeleton(["hip", "knee", "ankle"], [-1, 0, 1], [[0.0, 1.0, 0.0], [0.0, -0.4, 0.0], [0.0, -0.4, 0.0]])
    c = PoleVector("knee", [0.0, 0.6, 1.0])
    problem = ResidualProblem(leg, [0, 1], False, [c])
    params, sw = problem.pack_parameters([c])
    inputs = ProblemInputs(np.zeros((len(problem.joints), 3)), np.zeros(3), params, sw)
    r, J, errors = problem.evaluate(np.zeros(6), inputs, np)
    np.testing.assert_allclose(r, [0.0, 0.0, -1.0], atol=1e-12)  # minus the unit pole direction
    assert np.isfinite(J).all() and np.abs(J).max() > 0
    assert errors[0] == pytest.approx(np.pi / 2)
    # Bending the knee forward (about +X) by a little meets the pole exactly.
    r, _, errors = problem.evaluate(np.array([0.0, 0.0, 0.0, 0.05, 0.0, 0.0]), inputs, np)
    np.testing.assert_allclose(r, 0.0, atol=1e-12)
    assert errors[0] == pytest.approx(0.0, abs=1e-7)


def test_degenerate_points_stay_finite(smplx):
    rest = smplx.rest_positions()
    constraints = [
        LookAt("head", rest[smplx.index("head")]),  # target at the joint
        PoleVector("left_knee", rest[smplx.index("left_knee")]),  # pole at the middle joint
        BoneDirection("left_elbow", [1.0, 0.0, 0.0]),
    ]
    problem = ResidualProblem(smplx, smplx.indices(NECK_HEAD + LEFT_LEG + LEFT_ARM), False, constraints)
    params, sw = problem.pack_parameters(constraints)
    inputs = ProblemInputs(np.zeros((len(problem.joints), 3)), np.zeros(3), params, sw)
    r, J, errors = problem.evaluate(problem.initial_variables(np.zeros((smplx.num_joints, 3)), np.zeros(3)), inputs, np)  # the rest pose
    assert np.isfinite(r).all() and np.isfinite(J).all() and np.isfinite(errors).all()
    forearm = rest[smplx.index("left_wrist")] - rest[smplx.index("left_elbow")]
    assert errors[2] == pytest.approx(angle(forearm, [1, 0, 0]), abs=1e-7)


def test_jax_float32_evaluation_agrees_with_numpy(smplx):
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    constraints = kinds()
    problem, inputs, q, _, _ = make_problem(smplx, constraints, smplx.joint_names, True, 4)
    f32 = lambda a: jnp.asarray(a, dtype=jnp.float32)  # noqa: E731

    @jax.jit
    def evaluate(q, fixed, translation, params, sqrt_weights, q0):
        ins = ProblemInputs(fixed, translation, params, sqrt_weights)
        ins = ins._replace(initial=problem.state(q0, ins, jnp))
        return problem.evaluate(q, ins, jnp)

    q0 = np.asarray(inputs.initial.q)
    out32 = evaluate(f32(q), f32(inputs.fixed_rotations), f32(inputs.translation), f32(inputs.params), f32(inputs.sqrt_weights), f32(q0))
    out64 = problem.evaluate(q, inputs, np)
    for name, a, b in zip(("residual", "jacobian", "errors"), out32, out64):
        assert a.dtype == jnp.float32, name
        np.testing.assert_allclose(np.asarray(a, dtype=np.float64), b, atol=2e-4, rtol=0, err_msg=name)


# ------------------------------------------------------------------ solves


@pytest.fixture(scope="module")
def head_solver(smplx):
    # Blocking: the tests count compilations (no new one for new targets).
    return ik.IKSolver(smplx, joints=NECK_HEAD, compilation="blocking")


@pytest.fixture(scope="module")
def arm_solver(smplx):
    return ik.IKSolver(smplx, joints=LEFT_ARM)


@pytest.fixture(scope="module")
def leg_solver(smplx):
    return ik.IKSolver(smplx, joints=LEFT_LEG)


def test_look_at_points_the_head_at_reachable_targets(smplx, head_solver):
    rng = np.random.default_rng(10)
    head = smplx.index("head")
    for _ in range(8):
        R, p = world_of(smplx, smplx.random_pose(rng, NECK_HEAD))
        target = p[head] + rng.uniform(0.3, 3.0) * (R[head] @ Z)
        res = head_solver.solve([LookAt("head", target)])
        assert np.isfinite(res.pose.rotations).all()
        assert smplx.limit_violation(res.pose) == 0.0
        R2, p2 = smplx.world_transforms(res.pose)
        measured = angle(R2[head] @ Z, target - p2[head])
        assert measured < np.radians(1.0)
        assert res.converged
        assert res.errors[0] == pytest.approx(measured, abs=2e-3)
        assert res.orientation_error == pytest.approx(res.errors[0])
    assert head_solver.compilations == 1


def test_look_at_with_another_axis_and_a_batch_of_targets(smplx, head_solver):
    rng = np.random.default_rng(11)
    head = smplx.index("head")
    axis = np.array([0.0, 0.3, 1.0])  # looking slightly up
    axis = axis / np.linalg.norm(axis)
    targets = []
    for _ in range(4):
        R, p = world_of(smplx, smplx.random_pose(rng, NECK_HEAD))
        targets.append(p[head] + rng.uniform(0.5, 2.0) * (R[head] @ axis))
    results = head_solver.solve_batch([LookAt("head", np.array(targets), axis=axis)])
    for res, target in zip(results, targets):
        R2, p2 = smplx.world_transforms(res.pose)
        assert angle(R2[head] @ axis, target - p2[head]) < np.radians(1.0)
        assert smplx.limit_violation(res.pose) == 0.0


def test_bone_direction_aligns_the_forearm(smplx, arm_solver):
    rng = np.random.default_rng(12)
    elbow, wrist = smplx.indices(["left_elbow", "left_wrist"])
    for _ in range(8):
        _, p = world_of(smplx, smplx.random_pose(rng, LEFT_ARM))
        direction = p[wrist] - p[elbow]
        res = arm_solver.solve([BoneDirection("left_elbow", 2.5 * direction)])  # length does not matter
        assert smplx.limit_violation(res.pose) == 0.0
        p2 = smplx.world_positions(res.pose)
        measured = angle(p2[wrist] - p2[elbow], direction)
        assert measured < np.radians(1.0)
        assert res.converged
        assert res.errors[0] == pytest.approx(measured, abs=2e-3)


def test_bone_direction_with_an_explicit_axis(smplx, arm_solver):
    # The elbow's local +Z (the forearm's "up" side at rest) points along a direction it can take.
    rng = np.random.default_rng(13)
    elbow = smplx.index("left_elbow")
    for _ in range(3):
        R, _ = world_of(smplx, smplx.random_pose(rng, LEFT_ARM))
        res = arm_solver.solve([BoneDirection("left_elbow", R[elbow] @ Z, axis=Z)])
        R2 = smplx.world_rotations(res.pose)
        assert angle(R2[elbow] @ Z, R[elbow] @ Z) < np.radians(1.0)
        assert smplx.limit_violation(res.pose) == 0.0


def test_pole_vector_bends_the_knee_toward_the_pole_while_the_ankle_reaches(smplx, leg_solver):
    rng = np.random.default_rng(14)
    knee = smplx.index("left_knee")
    solved = 0
    while solved < 6:
        pose = smplx.random_pose(rng, LEFT_LEG)
        if pose.rotations[knee, 0] < 0.5:  # a clearly bent knee, so the bend direction is well defined
            continue
        _, p = world_of(smplx, pose)
        a, b, c = limb(smplx, p)
        bend = perpendicular(b - a, c - a)
        # The pole: in the bend's direction, 0.4 m out, somewhere along the limb.
        pole = a + rng.uniform(0.2, 0.8) * (c - a) + 0.4 * bend / np.linalg.norm(bend)
        res = leg_solver.solve([ik.Position("left_ankle", c), PoleVector("left_knee", pole)])
        assert smplx.limit_violation(res.pose) == 0.0
        _, p2 = world_of(smplx, res.pose)
        a2, b2, c2 = limb(smplx, p2)
        assert np.linalg.norm(c2 - c) < 1e-3
        measured = angle(perpendicular(b2 - a2, c2 - a2), perpendicular(pole - a2, c2 - a2))
        assert measured < np.radians(1.0)
        assert res.errors[1] == pytest.approx(measured, abs=2e-3)
        solved += 1


def test_pole_in_front_or_to_the_side_decides_which_way_the_knee_points(smplx, leg_solver):
    # A raised foot bends the knee; poles straight ahead and ahead-outward (+X is the
    # character's left) turn the knee that way, with the foot target met both times.
    rest = smplx.rest_positions()
    hip, ankle = smplx.index("left_hip"), smplx.index("left_ankle")
    target = rest[ankle] + np.array([0.0, 0.25, 0.0])
    for pole_offset in ([0.0, 0.0, 1.0], [0.4, 0.0, 1.0]):
        pole = rest[hip] + np.array([0.0, -0.3, 0.0]) + np.array(pole_offset)
        res = leg_solver.solve([ik.Position("left_ankle", target), PoleVector("left_knee", pole)])
        _, p = world_of(smplx, res.pose)
        a, b, c = limb(smplx, p)
        assert np.linalg.norm(c - target) < 1e-3
        bend, toward = perpendicular(b - a, c - a), perpendicular(pole - a, c - a)
        assert angle(bend, toward) < np.radians(1.0)
        assert np.linalg.norm(bend) > 0.05  # genuinely bent, not a straight leg
        assert smplx.limit_violation(res.pose) == 0.0


def test_pinned_feet_stay_while_the_hand_reaches(smplx):
    solver = ik.IKSolver(smplx, joints=BODY, move_root=True, compilation="blocking")
    rng = np.random.default_rng(15)
    left, right, hand = smplx.indices(["left_ankle", "right_ankle", "left_wrist"])
    for _ in range(3):
        init = smplx.clamp(ik.Pose(0.3 * smplx.random_pose(rng, BODY).rotations, rng.uniform(-0.2, 0.2, size=3)))
        R0, p0 = world_of(smplx, init)
        target = p0[hand] + rng.uniform([-0.2, -0.2, 0.1], [0.2, 0.2, 0.3])
        constraints = [Pin("left_ankle", rotation=True), Pin("right_ankle"), ik.Position("left_wrist", target)]
        res = solver.solve(constraints, init=init)
        assert np.isfinite(res.pose.rotations).all() and np.isfinite(res.pose.translation).all()
        assert smplx.limit_violation(res.pose) == 0.0
        R, p = world_of(smplx, res.pose)
        # Pins and the hand within the solver's 0.1 mm tolerance (README), plus float32 rounding.
        assert res.converged
        assert np.linalg.norm(p[left] - p0[left]) <= TOLERANCE
        assert np.linalg.norm(p[right] - p0[right]) <= TOLERANCE
        assert Rotation.from_matrix(R[left] @ R0[left].T).magnitude() < 1e-2
        assert np.linalg.norm(p[hand] - target) <= TOLERANCE
        assert res.errors[0] == pytest.approx(
            np.linalg.norm(p[left] - p0[left]) + PIN_RADIUS * Rotation.from_matrix(R[left] @ R0[left].T).magnitude(), abs=1e-4
        )
    assert solver.compilations == 1


def test_pins_of_a_batch_hold_each_problem_at_its_own_initial_pose(smplx):
    solver = ik.IKSolver(smplx, joints=BODY, move_root=True)
    rng = np.random.default_rng(16)
    ankle, hand = smplx.indices(["left_ankle", "left_wrist"])
    inits = [smplx.clamp(ik.Pose(0.3 * smplx.random_pose(rng, BODY).rotations, rng.uniform(-0.2, 0.2, size=3))) for _ in range(2)]
    before = [world_of(smplx, pose)[1] for pose in inits]
    targets = np.array([p[hand] + [0.1, 0.2, 0.2] for p in before])
    results = solver.solve_batch([Pin("left_ankle"), ik.Position("left_wrist", targets)], init=inits)
    for res, p0, target in zip(results, before, targets):
        p = smplx.world_positions(res.pose)
        assert res.converged
        assert np.linalg.norm(p[ankle] - p0[ankle]) <= TOLERANCE
        assert np.linalg.norm(p[hand] - target) <= TOLERANCE
        assert smplx.limit_violation(res.pose) == 0.0


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: LookAt("head", [0, 1, 1], axis=(0, 0, 0)), r"LookAt axis of joint 'head' must not have zero length"),
        (lambda: LookAt("head", [0, np.nan, 1]), r"LookAt target of joint 'head' must be finite"),
        (lambda: LookAt("head", [0, np.inf, 1]), r"LookAt target of joint 'head' must be finite"),
        (lambda: LookAt("head", [0, 1]), r"LookAt target of joint 'head' must have shape \(3,\)"),
        (lambda: LookAt("head", [0, 1, 1], axis=(0, 1)), r"axis of joint 'head' must have shape \(3,\)"),
        (lambda: LookAt("head", [0, 1, 1], axis=(0, np.nan, 1)), r"axis of joint 'head' must be finite"),
        (lambda: LookAt("head", [0, 1, 1], weight=-1.0), "weight"),
        (lambda: LookAt("head", [0, 1, 1], priority=-1), "priority"),
        (lambda: LookAt(None, [0, 1, 1]), "joint name"),
        (lambda: BoneDirection("left_elbow", [0, 0, 0]), r"direction of joint 'left_elbow' must not have zero length"),
        (lambda: BoneDirection("left_elbow", [[1, 0, 0], [0, 0, 0]]), r"'left_elbow' \(batch entry 1\) must not have zero length"),
        (lambda: BoneDirection("left_elbow", [1, 0, 0], axis=(0, 0, 0)), r"axis of joint 'left_elbow' must not have zero length"),
        (lambda: BoneDirection("left_elbow", [1, np.nan, 0]), r"direction of joint 'left_elbow' must be finite"),
        (lambda: BoneDirection("left_elbow", np.ones((2, 2))), r"'left_elbow' must have shape \(3,\) or \(B, 3\)"),
        (lambda: BoneDirection("left_elbow", [1, 0, 0], weight=np.inf), "weight"),
        (lambda: PoleVector("left_knee", [0, np.inf, 1]), r"pole of joint 'left_knee' must be finite"),
        (lambda: PoleVector("left_knee", np.ones((2, 3, 3))), r"pole of joint 'left_knee' must have shape"),
        (lambda: PoleVector("left_knee", "front"), r"pole of joint 'left_knee' must be 3 numbers"),
        (lambda: Pin("left_ankle", rotation="yes"), r"Pin rotation of joint 'left_ankle' must be True or False"),
        (lambda: Pin("left_ankle", weight=-2), "weight"),
    ],
)
def test_bad_constraints_raise_clear_errors(make, message):
    with pytest.raises(ik.ConstraintError, match=message):
        make()


def test_bad_constraints_for_the_pose_or_skeleton_raise_before_compiling(smplx, leg_solver, head_solver, arm_solver):
    rest = smplx.rest_positions()
    hip, ankle, head = smplx.indices(["left_hip", "left_ankle", "head"])
    compiled = leg_solver.compilations, head_solver.compilations, arm_solver.compilations
    on_line = rest[hip] + 0.3 * (rest[ankle] - rest[hip])
    with pytest.raises(ik.ConstraintError, match=r"pole of joint 'left_knee' lies on the line of the limb"):
        leg_solver.solve([ik.Position("left_ankle", rest[ankle]), PoleVector("left_knee", on_line)])
    beyond = rest[hip] + 1.7 * (rest[ankle] - rest[hip]) + [0.0, 0.0, 5e-5]  # on the line's extension, 50 um off
    with pytest.raises(ik.ConstraintError, match=r"\(batch entry 1\) lies on the line of the limb"):
        leg_solver.solve_batch([PoleVector("left_knee", [rest[hip] + [0.0, 0.0, 0.5], beyond])])
    with pytest.raises(ik.ConstraintError, match=r"'pelvis' is the root"):
        leg_solver.solve([PoleVector("pelvis", [0.0, 1.0, 1.0])])
    with pytest.raises(ik.ConstraintError, match=r"'jaw' has no child"):
        head_solver.solve([PoleVector("jaw", [0.0, 1.0, 1.0])])
    with pytest.raises(ik.ConstraintError, match=r"LookAt target of joint 'head' coincides with the joint"):
        head_solver.solve([LookAt("head", rest[head])])
    with pytest.raises(ik.ConstraintError, match=r"joint 'left_eye_smplhf' has no child.*axis="):
        head_solver.solve([BoneDirection("left_eye_smplhf", [0.0, 0.0, 1.0])])
    with pytest.raises(ik.UnknownJointError, match="left_elbo"):
        arm_solver.solve([BoneDirection("left_elbo", [1.0, 0.0, 0.0])])
    assert (leg_solver.compilations, head_solver.compilations, arm_solver.compilations) == compiled
    # With an explicit axis a leaf joint is fine: the eye looks ahead.
    res = head_solver.solve([BoneDirection("left_eye_smplhf", [0.0, 0.0, 1.0], axis=Z)])
    assert res.converged


# ------------------------------------------------------------------ never NaN, always in limits


def test_hard_targets_never_give_nan_or_break_limits(smplx, head_solver, arm_solver, leg_solver):
    rest = smplx.rest_positions()
    hip, ankle, head = smplx.indices(["left_hip", "left_ankle", "head"])
    results = [
        head_solver.solve([LookAt("head", [1e4, -1e4, -1e4])]),  # far, and behind the head
        head_solver.solve([LookAt("head", rest[head] - [0.0, 0.0, 1.0])]),  # straight behind: antiparallel start
        head_solver.solve([LookAt("head", rest[head] + [0.0, 1e-5, 0.0])]),  # 10 um above the joint
        arm_solver.solve([BoneDirection("left_elbow", [-1.0, 0.0, 0.0])]),  # antiparallel to the forearm
        arm_solver.solve([BoneDirection("left_elbow", [0.0, 0.0, -1.0])]),
        # A foot target at full stretch: the leg goes straight, the pole cannot be honoured.
        leg_solver.solve([ik.Position("left_ankle", rest[hip] + [0.0, -2.0, 0.0]), PoleVector("left_knee", rest[hip] + [0.0, -0.4, 1.0])]),
        # A pole behind the knee asks for a twist beyond the hip's limits.
        leg_solver.solve([ik.Position("left_ankle", rest[ankle] + [0.0, 0.3, 0.0]), PoleVector("left_knee", rest[hip] + [0.0, -0.4, -1.0])]),
    ]
    for res in results:
        assert np.isfinite(res.pose.rotations).all() and np.isfinite(res.errors).all()
        assert smplx.limit_violation(res.pose) == 0.0
        assert (res.errors >= 0).all()
    assert not results[5].converged
