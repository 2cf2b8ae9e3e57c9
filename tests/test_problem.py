"""Tests of ik_engine/problem.py: residuals and the Jacobians the solver uses.

Truths: central finite differences of the residual in q (float64), a plain float64 forward
kinematics loop with scipy rotations written here, and scipy's rotation angles. The 55-joint
tree is read straight from skeletons/data/smplx_default.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import ik_engine
from ik_engine import Orientation, Position
from ik_engine.problem import ProblemInputs, ResidualProblem
from reference import reference_world

DATA_FILE = Path(__file__).resolve().parent.parent / "skeletons" / "data" / "smplx_default.json"

LEFT_ARM = ["left_collar", "left_shoulder", "left_elbow", "left_wrist"]
SPINE = ["spine1", "spine2", "spine3"]
# Joints that cannot affect a left-arm / head constraint.
UNRELATED = ["right_shoulder", "right_elbow", "left_knee", "right_hip", "jaw", "left_middle2"]


@pytest.fixture(scope="module")
def skel() -> ik_engine.Skeleton:
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    parents = np.array(data["parents"], dtype=np.int64)
    positions = np.array(data["rest_positions"], dtype=np.float64)
    offsets = positions.copy()
    offsets[1:] -= positions[parents[1:]]
    return ik_engine.Skeleton(data["joint_names"], parents, offsets, name="smplx-test")


def full_pose(problem, q, rotations, translation):
    """The full-skeleton pose that variables q stand for (moving joints replaced, root moved)."""
    rotations = rotations.copy()
    M = len(problem.moving_joints)
    rotations[problem.moving_joints] = q[: 3 * M].reshape(M, 3)
    if problem.move_root:
        translation = q[3 * M : 3 * M + 3]
    return rotations, translation


def make_case(skel, moving_names, move_root, seed, weights=(1.0, 1.0, 1.0, 1.0)):
    """A problem with Position (plain and with an offset) and Orientation constraints, and a random pose."""
    rng = np.random.default_rng(seed)
    rotations = rng.uniform(-0.8, 0.8, size=(skel.num_joints, 3))
    translation = rng.uniform(-1.0, 1.0, size=3)
    R_world, p_world = reference_world(skel, rotations, translation)
    wrist, index3, head = skel.indices(["left_wrist", "left_index3", "head"])
    constraints = [
        Position("left_wrist", p_world[wrist] + rng.normal(scale=0.1, size=3), weight=weights[0]),
        Position("left_index3", p_world[index3] + rng.normal(scale=0.1, size=3), weight=weights[1], offset=rng.normal(scale=0.05, size=3)),
        # Targets a known rotation vector away from the current frame, well inside |e| < pi.
        Orientation("left_wrist", Rotation.from_rotvec(rng.normal(scale=0.5, size=3)).as_matrix().T @ R_world[wrist], weight=weights[2]),
        Orientation("head", Rotation.from_rotvec(rng.normal(scale=0.5, size=3)).as_matrix().T @ R_world[head], weight=weights[3]),
    ]
    moving = skel.indices(moving_names)
    problem = ResidualProblem(skel, moving, move_root, constraints)
    params, sqrt_weights = problem.pack_parameters(constraints)
    fixed = rotations[problem.joints]
    return problem, constraints, rotations, translation, fixed, params, sqrt_weights, rng


def finite_difference_jacobian(f, q, h=1e-6):
    cols = []
    for k in range(len(q)):
        step = np.zeros_like(q)
        step[k] = h
        cols.append((f(q + step) - f(q - step)) / (2 * h))
    return np.stack(cols, axis=1)


CASES = [
    pytest.param(LEFT_ARM + SPINE, False, id="arm+spine"),
    pytest.param(["pelvis"] + LEFT_ARM + SPINE + ["neck", "head"], True, id="arm+spine+root"),
    pytest.param(LEFT_ARM + SPINE + UNRELATED, True, id="with-unrelated-joints"),
]


# ------------------------------------------------------------------ structure


def test_subtree_is_constrained_joints_and_ancestors(skel):
    problem, *_ = make_case(skel, LEFT_ARM + SPINE, False, seed=0)
    expected = set()
    for name in ["left_wrist", "left_index3", "head"]:
        j = skel.index(name)
        while j >= 0:
            expected.add(j)
            j = int(skel.parents[j])
    assert problem.joints.tolist() == sorted(expected)


def test_joints_outside_the_constrained_subtree_are_not_variables(skel):
    problem, *_ = make_case(skel, LEFT_ARM + SPINE + UNRELATED, True, seed=1)
    assert sorted(problem.moving_joints.tolist()) == sorted(skel.indices(LEFT_ARM + SPINE))
    assert not set(skel.indices(UNRELATED)) & set(problem.moving_joints.tolist())
    assert problem.num_variables == 3 * len(LEFT_ARM + SPINE) + 3
    assert problem.lower.shape == problem.upper.shape == (problem.num_variables,)


def test_no_moving_joint_in_the_subtree_is_an_error(skel):
    with pytest.raises(ik_engine.SolverError):
        ResidualProblem(skel, skel.indices(UNRELATED), False, [Position("left_wrist", [0.0, 1.0, 0.0])])


# ------------------------------------------------------------------ residual values


@pytest.mark.parametrize("moving, move_root", CASES)
def test_residuals_and_errors_match_reference(skel, moving, move_root):
    problem, constraints, rotations, translation, fixed, params, sqrt_weights, rng = make_case(skel, moving, move_root, seed=2)
    q = rng.uniform(-1.0, 1.0, size=problem.num_variables)
    residual, _, errors = problem.evaluate(q, ProblemInputs(fixed, translation, params, sqrt_weights), np)
    assert residual.shape == (problem.num_residuals,) == (12,)
    assert errors.shape == (4,)
    R_world, p_world = reference_world(skel, *full_pose(problem, q, rotations, translation))
    for i, (c, slot) in enumerate(zip(constraints, problem.slots)):
        j = skel.index(c.joint)
        rows = residual[slot.residual_slice]
        if isinstance(c, Position):
            point = p_world[j] + R_world[j] @ c.offset
            np.testing.assert_allclose(rows, point - c.target, atol=1e-12)
            np.testing.assert_allclose(errors[i], np.linalg.norm(point - c.target), atol=1e-12)
        else:
            angle = Rotation.from_matrix(R_world[j] @ c.target_rotation.T).magnitude()
            np.testing.assert_allclose(errors[i], angle, atol=1e-12)
            np.testing.assert_allclose(np.linalg.norm(rows), angle, atol=1e-12)
            # The residual is the world-frame rotation vector taking the target onto the joint's frame.
            np.testing.assert_allclose(
                Rotation.from_rotvec(rows).as_matrix() @ c.target_rotation, R_world[j], atol=1e-12
            )


def test_orientation_error_is_the_known_rotation_vector(skel):
    rng = np.random.default_rng(3)
    rotations = rng.uniform(-0.8, 0.8, size=(skel.num_joints, 3))
    R_world, _ = reference_world(skel, rotations, np.zeros(3))
    wrist = skel.index("left_wrist")
    e_true = np.array([0.4, -1.1, 2.0])  # |e| ~ 2.3 rad
    c = Orientation("left_wrist", Rotation.from_rotvec(e_true).as_matrix().T @ R_world[wrist])
    problem = ResidualProblem(skel, skel.indices(LEFT_ARM), False, [c])
    params, sw = problem.pack_parameters([c])
    q = rotations[problem.moving_joints].reshape(-1)
    residual, _, errors = problem.evaluate(q, ProblemInputs(rotations[problem.joints], np.zeros(3), params, sw), np)
    np.testing.assert_allclose(residual, e_true, atol=1e-12)
    np.testing.assert_allclose(errors, [np.linalg.norm(e_true)], atol=1e-12)


def test_orientation_accepts_a_wxyz_quaternion():
    q_xyzw = Rotation.random(random_state=4).as_quat()
    c = Orientation("head", np.concatenate([q_xyzw[3:], q_xyzw[:3]]))
    np.testing.assert_allclose(c.target_rotation, Rotation.from_quat(q_xyzw).as_matrix(), atol=1e-14)


def test_weights_scale_residual_rows_by_their_square_root(skel):
    weights = (4.0, 0.25, 9.0, 0.0)
    unit = make_case(skel, LEFT_ARM + SPINE, True, seed=5)
    weighted = make_case(skel, LEFT_ARM + SPINE, True, seed=5, weights=weights)
    rng = np.random.default_rng(6)
    q = rng.uniform(-1, 1, size=unit[0].num_variables)
    r1, J1, e1 = unit[0].evaluate(q, ProblemInputs(unit[4], unit[3], unit[5], unit[6]), np)
    rw, Jw, ew = weighted[0].evaluate(q, ProblemInputs(weighted[4], weighted[3], weighted[5], weighted[6]), np)
    # As the solver uses them: divided by the largest (one priority level here).
    used = np.array(weights) / max(weights)
    np.testing.assert_allclose(weighted[6], np.sqrt(used))
    scale = np.repeat(np.sqrt(used), 3)
    np.testing.assert_allclose(rw, scale * r1, atol=1e-14)
    np.testing.assert_allclose(Jw, scale[:, None] * J1, atol=1e-14)
    # The errors the user sees are not weighted.
    np.testing.assert_allclose(ew, e1, atol=1e-14)


def test_changing_targets_needs_no_new_problem(skel):
    # Same structure, new targets: the first problem evaluated with the second set's parameters
    # equals the second problem.
    a = make_case(skel, LEFT_ARM + SPINE, False, seed=7)
    b = make_case(skel, LEFT_ARM + SPINE, False, seed=8)
    assert ResidualProblem.structure_key(skel, a[1]) == ResidualProblem.structure_key(skel, b[1])
    q = np.random.default_rng(9).uniform(-1, 1, size=a[0].num_variables)
    ra = a[0].evaluate(q, ProblemInputs(b[4], b[3], b[5], b[6]), np)
    rb = b[0].evaluate(q, ProblemInputs(b[4], b[3], b[5], b[6]), np)
    for x, y in zip(ra, rb):
        np.testing.assert_array_equal(x, y)


# ------------------------------------------------------------------ Jacobians vs finite differences


@pytest.mark.parametrize("moving, move_root", CASES)
@pytest.mark.parametrize("where", ["random", "near-zero", "zero"])
def test_jacobian_matches_finite_differences(skel, moving, move_root, where):
    problem, _, _, translation, fixed, params, sqrt_weights, rng = make_case(
        skel, moving, move_root, seed=10, weights=(2.0, 0.5, 1.5, 3.0)
    )
    n = problem.num_variables
    if where == "random":
        q = rng.uniform(-1.0, 1.0, size=n)
    elif where == "near-zero":
        q = rng.normal(scale=1e-5, size=n)
    else:
        q = np.zeros(n)
    if move_root:
        q[-3:] = rng.uniform(-1.0, 1.0, size=3)

    def residual(x):
        return problem.evaluate(x, ProblemInputs(fixed, translation, params, sqrt_weights), np)[0]

    _, J, _ = problem.evaluate(q, ProblemInputs(fixed, translation, params, sqrt_weights), np)
    assert J.shape == (problem.num_residuals, n)
    J_fd = finite_difference_jacobian(residual, q)
    scale = max(1.0, np.abs(J_fd).max())
    np.testing.assert_allclose(J, J_fd, atol=1e-6 * scale, rtol=1e-6)


# ------------------------------------------------------------------ JAX, float32


@pytest.mark.parametrize("moving, move_root", CASES[:2])
def test_jax_float32_evaluation_agrees_with_numpy(skel, moving, move_root):
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    problem, _, _, translation, fixed, params, sqrt_weights, rng = make_case(skel, moving, move_root, seed=11)
    evaluate = jax.jit(lambda q, f, t, p, w: problem.evaluate(q, ProblemInputs(f, t, p, w), jnp))
    f32 = lambda a: jnp.asarray(a, dtype=jnp.float32)  # noqa: E731
    n = problem.num_variables
    for q in (rng.uniform(-1.0, 1.0, size=n), rng.uniform(-1.0, 1.0, size=n), np.zeros(n)):
        q = q.astype(np.float32).astype(np.float64)
        out32 = evaluate(f32(q), f32(fixed), f32(translation), f32(params), f32(sqrt_weights))
        out64 = problem.evaluate(q, ProblemInputs(fixed, translation, params, sqrt_weights), np)
        for name, a, b in zip(("residual", "jacobian", "errors"), out32, out64):
            assert a.dtype == jnp.float32, name
            np.testing.assert_allclose(np.asarray(a, dtype=np.float64), b, atol=1e-4, rtol=0, err_msg=name)


def test_jax_float32_jacobian_is_accurate_for_small_joint_angles(skel):
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    problem, _, _, translation, fixed, params, sqrt_weights, rng = make_case(skel, LEFT_ARM + SPINE, False, seed=11)
    evaluate = jax.jit(lambda q, f, t, p, w: problem.evaluate(q, ProblemInputs(f, t, p, w), jnp))
    f32 = lambda a: jnp.asarray(a, dtype=jnp.float32)  # noqa: E731
    directions = rng.normal(size=(len(problem.moving_joints), 3))
    q = (2e-4 * directions / np.linalg.norm(directions, axis=-1, keepdims=True)).reshape(-1)
    q = q.astype(np.float32).astype(np.float64)
    _, J32, _ = evaluate(f32(q), f32(fixed), f32(translation), f32(params), f32(sqrt_weights))
    _, J64, _ = problem.evaluate(q, ProblemInputs(fixed, translation, params, sqrt_weights), np)
    np.testing.assert_allclose(np.asarray(J32, dtype=np.float64), J64, atol=1e-5, rtol=0)


def test_declared_residual_sizes_match_the_evaluated_ones(smplx):
    """Every kind that declares its residual's rows (``Constraint.residual_size``, which spares a
    new structure one evaluation) declares what an evaluation gives: moving sets with and
    without the root, Pins with and without rotation, RestPose and Smoothness with and without
    move_root, Floors of several joints."""
    rng = np.random.default_rng(3)
    pose = smplx.random_pose(rng)
    R, p = smplx.world_transforms(pose)
    wrist, elbow = smplx.index("left_wrist"), smplx.index("left_elbow")
    constraints = [
        ik_engine.Position("left_wrist", p[wrist]), ik_engine.Orientation("left_wrist", R[wrist]),
        ik_engine.LookAt("head", p[wrist] + [0.0, 0.0, 1.0]), ik_engine.PoleVector("left_elbow", p[elbow] + [0.0, 0.0, -0.5]),
        ik_engine.BoneDirection("left_elbow", [0.0, -1.0, 0.0]), ik_engine.Pin("right_wrist"), ik_engine.Pin("right_ankle", rotation=True),
        ik_engine.RestPose(weight=0.1), ik_engine.Smoothness(pose, weight=0.1, priority=2), ik_engine.Floor(height=-1.0, priority=1),
        ik_engine.Floor(height=-1.0, joints=("left_foot", "right_foot"), priority=1),
    ]
    joint_sets = [("left_collar", "left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_hip", "neck"), None]
    checked = 0
    for joints in joint_sets:
        for move_root in (False, True):
            problem = ik_engine.IKSolver(smplx, joints=joints, move_root=move_root).residual_problem(constraints)
            declared = [s.kind.residual_size(s.static, s.joint_rows, problem) for s in problem.slots]
            assert None not in declared
            assert declared == problem.evaluated_residual_sizes()
            assert problem.num_residuals == sum(declared)
            checked += 1
    assert checked == 4
    # And their parameters: the declared size (part of the structure) is what they pack.
    for c in constraints:
        assert c.parameter_size(smplx) == c.parameters(smplx).shape[-1] == c.shifted_parameters(smplx, np.ones(3)).shape[-1], c
