"""The CCD baseline against closed-form answers, a step-by-step reference CCD and independent FK."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import ik_engine as ik
from ik_engine.baselines.ccd import CCDOptions, ccd
from ik_engine.scalar_rotations import euler_to_matrix as _euler_to_matrix
from ik_engine.scalar_rotations import matrix_to_euler as _matrix_to_euler
from ik_engine.baselines.common import BaselineOptions
from ik_engine.benchmarks import scenarios
from ik_engine.joint_coordinates import EULER_ORDERS, euler_to_matrix, matrix_to_euler
from reference import reference_fk, reference_world, swing_twist_y_coordinates, swing_twist_y_matrix

ARM = ["left_collar", "left_shoulder", "left_elbow", "left_wrist"]
HAND = "left_middle1"


def angle_between(u: np.ndarray, v: np.ndarray) -> float:
    return float(np.arctan2(np.linalg.norm(np.cross(u, v)), u @ v))


def two_link_arm(l1: float = 0.3, l2: float = 0.25, rest_rotations=None) -> ik.Skeleton:
    """base -> elbow -> tip, ball joints without limits; links along +X of the parent frame."""
    offsets = [[0, 0, 0], [l1, 0, 0], [l2, 0, 0]]
    return ik.Skeleton(["base", "elbow", "tip"], [-1, 0, 1], offsets, rest_rotations=rest_rotations, name="two_link")


@pytest.mark.parametrize("variant", ["plain", "rest_rotations", "offset_point"])
def test_two_link_arm_reaches_and_bends_its_elbow_by_the_law_of_cosines(variant):
    l1, l2 = 0.3, 0.25
    rest = None
    if variant == "rest_rotations":  # joint frames turned at rest: the geometry is unchanged
        rest = Rotation.from_rotvec(np.random.default_rng(7).normal(size=(3, 3))).as_matrix()
    skel = two_link_arm(l1, l2, rest)
    options = CCDOptions(position_tolerance=1e-8, max_iterations=2000)
    rng = np.random.default_rng(3)
    for _ in range(6):
        radius, heading, tilt = rng.uniform(0.1, 0.5), rng.uniform(-np.pi, np.pi), rng.uniform(-1.0, 1.0)
        target = radius * np.array([np.cos(heading) * np.cos(tilt), np.sin(heading) * np.cos(tilt), np.sin(tilt)])
        if variant == "offset_point":  # the tip as a point fixed in the elbow's frame
            constraint = ik.Position("elbow", target, offset=[l2, 0.0, 0.0])
        else:
            constraint = ik.Position("tip", target)
        result = ccd(skel, [constraint], joints=["base", "elbow"], options=options)
        R, p = reference_fk(skel.parents, skel.rest_offsets, result.pose.rotations, result.pose.translation, rest)
        tip = p[1] + R[1] @ [l2, 0.0, 0.0]
        assert result.converged
        assert np.linalg.norm(tip - target) < 1e-4
        # Bend = the angle between the two links; law of cosines on the triangle base-elbow-tip.
        bend = angle_between(p[1] - p[0], tip - p[1])
        expected = np.arccos((radius**2 - l1**2 - l2**2) / (2 * l1 * l2))
        assert bend == pytest.approx(expected, abs=1e-5)


def test_a_target_at_the_rest_pose_is_met_at_once(smplx):
    target = smplx.rest_positions()[smplx.index(HAND)]
    result = ccd(smplx, [ik.Position(HAND, target)], joints=ARM)
    assert result.converged
    assert result.iterations == 0
    np.testing.assert_allclose(result.pose.rotations, 0.0, atol=1e-12)
    assert result.position_error < 1e-12


def test_an_unreachable_target_gets_a_straight_arm_pointing_at_it(smplx):
    rest = smplx.rest_positions()
    shoulder, hand = smplx.index("left_shoulder"), smplx.index(HAND)
    arm_length = np.linalg.norm(rest[hand] - rest[shoulder])  # straight at rest
    direction = np.array([0.8, -0.4, 0.4]) / np.linalg.norm([0.8, -0.4, 0.4])  # out, down, forward
    target = rest[shoulder] + 2.0 * direction
    result = ccd(smplx, [ik.Position(HAND, target)], joints=ARM)
    _, p = reference_world(smplx, result.pose.rotations, result.pose.translation)
    assert not result.converged
    assert smplx.limit_violation(result.pose) == 0.0
    assert np.degrees(angle_between(p[hand] - p[shoulder], target - p[shoulder])) < 5.0
    assert np.linalg.norm(p[hand] - p[shoulder]) > arm_length - 1e-3
    assert result.position_error == pytest.approx(np.linalg.norm(p[hand] - target), abs=1e-9)


def test_arm_reach_targets_are_mostly_reached_within_limits_and_errors_are_measured(smplx):
    scenario = scenarios.arm_reach(smplx, 20, seed=1)
    hand = smplx.index(HAND)
    reached = 0
    for i in range(scenario.size):
        result = ccd(smplx, scenario.constraints(i), joints=scenario.moving)
        _, p = reference_world(smplx, result.pose.rotations, result.pose.translation)
        error = np.linalg.norm(p[hand] - scenario.positions[HAND][i])
        assert smplx.limit_violation(result.pose) == 0.0
        assert result.errors[0] == pytest.approx(error, abs=1e-9)
        assert result.position_error == pytest.approx(error, abs=1e-9)
        assert result.converged == (error <= 1e-4 + 1e-9)
        reached += error <= 1e-3
    assert reached >= 14  # measured: 16 of 20 (the rest stall on the straight-arm / limit traps of CCD)


def test_orientation_targets_are_reached_on_most_arm_poses(smplx):
    scenario = scenarios.arm_pose(smplx, 20, seed=1)
    hand, wrist = smplx.index(HAND), smplx.index("left_wrist")
    reached = 0
    for i in range(scenario.size):
        result = ccd(smplx, scenario.constraints(i), joints=scenario.moving)
        R, p = reference_world(smplx, result.pose.rotations, result.pose.translation)
        position_error = np.linalg.norm(p[hand] - scenario.positions[HAND][i])
        angle = Rotation.from_matrix(R[wrist] @ scenario.rotations["left_wrist"][i].T).magnitude()
        assert smplx.limit_violation(result.pose) == 0.0
        np.testing.assert_allclose(result.errors, [position_error, angle], atol=1e-8)
        reached += position_error <= 1e-3 and angle <= np.radians(1.0)
    assert reached >= 11  # measured: 14 of 20


def to_coordinates(R, kind):
    """A local rotation (3, 3) as the coordinates its joint's limits box, through scipy: its
    axis-angle, or its intrinsic Euler angles (upper-case sequence) stored by axis."""
    if kind == "axis_angle":
        return Rotation.from_matrix(R).as_rotvec()
    c = np.empty(3)
    c[["xyz".index(a) for a in kind]] = Rotation.from_matrix(R).as_euler(kind.upper())
    return c


def from_coordinates(c, kind):
    """The local rotation (3, 3) of one joint's coordinates (3,), through scipy."""
    if kind == "axis_angle":
        return Rotation.from_rotvec(c).as_matrix()
    return Rotation.from_euler(kind.upper(), c[["xyz".index(a) for a in kind]]).as_matrix()


def swing_twist_y_clamped(R_local, neutral, lower, upper, reach):
    """(wanted, clamped) swing-twist coordinates about y of a local rotation centred on
    ``neutral`` (3, 3) (through scipy: tests/reference.py), and the local rotation of the
    clamped ones: the box, then the swing scaled back along its ray to the reach table (R,)
    radians (directions from +z toward +x, linear in the angle: np.interp)."""
    wanted = swing_twist_y_coordinates(R_local, neutral)
    c = np.clip(wanted, lower, upper)
    sx, sz = np.sin(c[0] / 2), np.sin(c[2] / 2)
    nodes = 2 * np.pi * np.arange(len(reach) + 1) / len(reach)
    limit = np.sin(np.interp(np.arctan2(sx, sz) % (2 * np.pi), nodes, np.append(reach, reach[0])) / 2)
    if np.hypot(sx, sz) > limit:
        k = limit / np.hypot(sx, sz)
        c[0], c[2] = 2 * np.arcsin(k * sx), 2 * np.arcsin(k * sz)
    return wanted, c, swing_twist_y_matrix(c, neutral)


def reference_ccd(skel, joints, effector, target, sweeps):
    """Textbook CCD with limits, written plainly: full FK before every joint step, the smallest
    rotation taking (effector - joint) onto (target - joint), clamped coordinates (axis-angle,
    Euler angles or swing-twist with a reach table, as the joint's limits use), and a clamped
    step that would move the effector away skipped."""
    rotations = np.zeros((skel.num_joints, 3))
    order = sorted((skel.index(j) for j in joints), reverse=True)
    e = skel.index(effector)
    for _ in range(sweeps):
        for j in order:
            R, p = reference_world(skel, rotations, np.zeros(3))
            a, b = p[e] - p[j], target - p[j]
            axis = np.cross(a, b)
            turn = Rotation.from_rotvec(axis / np.linalg.norm(axis) * angle_between(a, b)).as_matrix()
            R_parent = R[skel.parents[j]]
            kind = skel.coordinates[j]
            if kind == "swing_twist_y":  # the SMPL-X shoulders and hips
                neutral = np.eye(3) if skel.neutral(j) is None else skel.neutral(j)
                wanted, clamped, R_local = swing_twist_y_clamped(R_parent.T @ turn @ R[j], neutral, skel.lower[j],
                                                                 skel.upper[j], skel.reach(j))
            else:
                wanted = to_coordinates(R_parent.T @ turn @ R[j], kind)
                clamped = np.clip(wanted, skel.lower[j], skel.upper[j])
                R_local = from_coordinates(clamped, kind)
            if not np.array_equal(clamped, wanted):
                turn = R_parent @ R_local @ R[j].T
                if b @ turn @ a <= b @ a:
                    continue
            rotations[j] = Rotation.from_matrix(R_local).as_rotvec()
    return rotations


@pytest.mark.parametrize("limits", ["box", "swing_twist"])
def test_sweeps_match_a_plain_step_by_step_ccd(limits):
    smplx = ik.load_skeleton("smplx", limits=limits)  # swing_twist: the shoulder's reach table too
    scenario = scenarios.arm_reach(smplx, 4, seed=5)
    options = CCDOptions(max_iterations=8, stall_tolerance=0.0, position_tolerance=1e-12)
    for i in range(scenario.size):
        target = scenario.positions[HAND][i]
        result = ccd(smplx, [ik.Position(HAND, target)], joints=ARM, options=options)
        expected = reference_ccd(smplx, ARM, HAND, target, result.iterations)
        if limits == "box":  # with the shoulder's reach table some targets stall before 8 sweeps
            assert result.iterations == 8
        # Equal to rounding, except where a clamped step changes the error by rounding only:
        # one may take it and the other skip it (seen: a 2e-8 rad step in sweep 7).
        np.testing.assert_allclose(result.pose.rotations, expected, atol=1e-7)


def test_a_rigidly_moved_body_is_matched_by_root_rotation_and_translation(smplx):
    """Several effectors on a tree with a free-floating root: targets of the rest pose turned
    and shifted as a whole are met by the root alone, the limbs staying at rest."""
    rotations = np.zeros((smplx.num_joints, 3))
    rotations[0] = [0.3, 2.0, -0.4]
    translation = np.array([0.2, -0.1, 0.3])
    R, p = reference_world(smplx, rotations, translation)
    constraints = [ik.Position(j, p[smplx.index(j)]) for j in scenarios.FULL_BODY_POINTS]
    constraints += [ik.Orientation(j, R[smplx.index(j)]) for j in scenarios.FULL_BODY_FRAMES]
    result = ccd(smplx, constraints, joints=scenarios.BODY_JOINTS, options=CCDOptions(move_root=True))
    R_got, p_got = reference_world(smplx, result.pose.rotations, result.pose.translation)
    assert result.converged
    for c in constraints:
        j = smplx.index(c.joint)
        if isinstance(c, ik.Position):
            assert np.linalg.norm(p_got[j] - c.target) < 1e-4
        else:
            assert Rotation.from_matrix(R_got[j] @ c.target_rotation.T).magnitude() < 1e-3
    np.testing.assert_allclose(result.pose.translation, translation, atol=1e-3)


def test_full_body_targets_are_approached_within_limits(smplx):
    scenario = scenarios.full_body(smplx, 2, seed=0)
    _, p_rest = reference_world(smplx, np.zeros((smplx.num_joints, 3)), np.zeros(3))
    for i in range(scenario.size):
        result = ccd(smplx, scenario.constraints(i), joints=scenario.moving, options=CCDOptions(move_root=True))
        _, p = reference_world(smplx, result.pose.rotations, result.pose.translation)
        errors = [np.linalg.norm(p[smplx.index(j)] - t[i]) for j, t in scenario.positions.items()]
        rest_errors = [np.linalg.norm(p_rest[smplx.index(j)] - t[i]) for j, t in scenario.positions.items()]
        assert smplx.limit_violation(result.pose) == 0.0
        np.testing.assert_allclose(result.errors[: len(errors)], errors, atol=1e-8)
        # Measured: the summed position error falls to 6 % and 0.1 % of the rest pose's
        # (CCD converges slowly on a whole body; 100 sweeps rarely reach 1 mm everywhere).
        assert sum(errors) < 0.1 * sum(rest_errors)


def test_bad_input_gets_clear_errors(smplx):
    target = smplx.rest_positions()[smplx.index(HAND)] + 0.1
    with pytest.raises(ik.UnknownJointError, match="left_elbw"):
        ccd(smplx, [ik.Position(HAND, target)], joints=["left_elbw"])
    with pytest.raises(ik.UnknownJointError, match="left_hnd"):
        ccd(smplx, [ik.Position("left_hnd", target)], joints=ARM)
    with pytest.raises(ik.ConstraintError, match="finite"):
        ccd(smplx, [ik.Position(HAND, [np.nan, 0.0, 0.0])], joints=ARM)
    with pytest.raises(ik.ConstraintError, match="batch"):
        ccd(smplx, [ik.Position(HAND, np.stack([target, target]))], joints=ARM)
    with pytest.raises(ik.SolverError, match="not supported by CCD"):
        ccd(smplx, [ik.Position(HAND, target), ik.LookAt("head", [0.0, 1.5, 2.0])], joints=ARM)
    with pytest.raises(ik.SolverError, match="CCDOptions"):
        ccd(smplx, [ik.Position(HAND, target)], joints=ARM, options=BaselineOptions())
    with pytest.raises(ik.SolverError, match="orientation_length"):
        ccd(smplx, [ik.Position(HAND, target)], joints=ARM, options=CCDOptions(orientation_length=-0.1))
    with pytest.raises(ik.SolverError):
        ccd(smplx, [], joints=ARM)


# ------------------------------------------------------------------ Euler joint coordinates
def test_an_elbow_turned_past_its_pronation_limit_stops_on_it_in_euler_coordinates(smplx):
    """The elbow alone turns the wrist frame toward a target pronated 120 and flexed 60 degrees.
    CCD's fit asks for exactly that local rotation; its Euler coordinates (pronation x, flexion
    y, play z; order yzx) clip to (-85, -60, 0) degrees, leaving 35 degrees of pronation."""
    elbow, wrist = smplx.index("left_elbow"), smplx.index("left_wrist")
    assert smplx.coordinates[elbow] == "yzx"
    rotations = np.zeros((smplx.num_joints, 3))
    rotations[elbow] = Rotation.from_matrix(from_coordinates(np.radians([-120.0, -60.0, 0.0]), "yzx")).as_rotvec()
    target = reference_world(smplx, rotations, np.zeros(3))[0][wrist]
    result = ccd(smplx, [ik.Orientation("left_wrist", target)], joints=["left_elbow"])
    expected = np.radians([-85.0, -60.0, 0.0])
    R_elbow = Rotation.from_rotvec(np.array(result.pose.rotations[elbow])).as_matrix()
    # (to about 1e-9 rad: the Kabsch fit's tie-breaking pull, see _best_rotation)
    np.testing.assert_allclose(to_coordinates(R_elbow, "yzx"), expected, atol=1e-8)
    np.testing.assert_allclose(smplx.to_coordinates(result.pose.rotations)[elbow], expected, atol=1e-8)
    assert smplx.limit_violation(result.pose) == 0.0
    angle = Rotation.from_matrix(reference_world(smplx, result.pose.rotations, result.pose.translation)[0][wrist] @ target.T).magnitude()
    assert result.orientation_error == pytest.approx(angle, abs=1e-9)
    assert angle == pytest.approx(np.radians(35.0), abs=1e-8)
    assert not result.converged


def test_a_flexed_and_pronated_elbow_is_reached_inside_its_euler_box(smplx):
    """The wrist's position and frame with the wrist held still: the elbow must flex and
    pronate, which only its Euler box allows (an axis-angle box with the same numbers would
    refuse the elbow's rotation: its z component is far beyond 5 degrees)."""
    moving = ["left_collar", "left_shoulder", "left_elbow"]
    elbow, wrist = smplx.index("left_elbow"), smplx.index("left_wrist")
    truth = np.zeros((smplx.num_joints, 3))
    truth[smplx.index("left_shoulder")] = np.radians([20.0, -30.0, 10.0])
    truth[elbow] = Rotation.from_matrix(from_coordinates(np.radians([-50.0, -100.0, 0.0]), "yzx")).as_rotvec()
    R, p = reference_world(smplx, truth, np.zeros(3))
    constraints = [ik.Position("left_wrist", p[wrist]), ik.Orientation("left_wrist", R[wrist])]
    result = ccd(smplx, constraints, joints=moving, options=CCDOptions(max_iterations=300))
    R_got, p_got = reference_world(smplx, result.pose.rotations, result.pose.translation)
    assert result.converged  # measured: after 166 sweeps
    assert smplx.limit_violation(result.pose) == 0.0
    expected_errors = [np.linalg.norm(p_got[wrist] - p[wrist]), Rotation.from_matrix(R_got[wrist] @ R[wrist].T).magnitude()]
    np.testing.assert_allclose(result.errors, expected_errors, atol=1e-9)
    r = np.array(result.pose.rotations[elbow])
    c = to_coordinates(Rotation.from_rotvec(r).as_matrix(), "yzx")
    assert np.all((smplx.lower[elbow] - 1e-9 <= c) & (c <= smplx.upper[elbow] + 1e-9))
    assert not np.all((smplx.lower[elbow] <= r) & (r <= smplx.upper[elbow]))


def test_scalar_euler_conversions_match_the_library_in_every_order():
    """CCD's scalar Euler helpers against ik_engine.joint_coordinates (batched) and scipy."""
    rng = np.random.default_rng(4)
    for order in EULER_ORDERS:
        axes = tuple("xyz".index(a) for a in order)
        c = rng.uniform(-3.0, 3.0, (20, 3))
        c[:, axes[1]] = rng.uniform(-1.5, 1.5, 20)  # the middle angle within +-90 degrees
        c[0, axes[1]] = np.pi / 2  # gimbal lock: only first +- last is defined
        for ci in c:
            R = _euler_to_matrix(tuple(ci), axes)
            np.testing.assert_allclose(R, from_coordinates(ci, order), atol=1e-14)
            np.testing.assert_allclose(R, euler_to_matrix(ci, order, np), atol=1e-14)
            np.testing.assert_allclose(_matrix_to_euler(R.tolist(), axes), matrix_to_euler(R, order), atol=1e-12)
            np.testing.assert_allclose(_euler_to_matrix(_matrix_to_euler(R.tolist(), axes), axes), R, atol=1e-12)
