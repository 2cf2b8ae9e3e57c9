"""FABRIK baseline (baselines/fabrik.py): closed-form arms, limits, rigid sub-chains, trees,
orientation targets and bad input, checked against independent float64 forward kinematics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import ik_engine as ik
from conftest import planar_arm
from ik_engine.baselines.fabrik import FABRIKOptions, fabrik
from ik_engine.benchmarks import scenarios
from reference import reference_fk, reference_world

L1, L2 = 0.3, 0.25  # planar_arm's links


def elbow_angle_for(distance: float) -> float:
    """Law of cosines: the elbow bend that puts the hand ``distance`` from the shoulder."""
    return float(np.arccos((distance**2 - L1**2 - L2**2) / (2 * L1 * L2)))


def reference_point(skel: ik.Skeleton, pose: ik.Pose, joint: str) -> np.ndarray:
    return reference_world(skel, pose.rotations, pose.translation)[1][skel.index(joint)]


def rotation_angle(R_a: np.ndarray, R_b: np.ndarray) -> float:
    return float(Rotation.from_matrix(R_a @ R_b.T).magnitude())


# ------------------------------------------------------------------ closed-form arms
@pytest.mark.parametrize("target", [(0.35, 0.2, 0.0), (0.1, -0.3, 0.0), (-0.2, 0.25, 0.0)])
def test_planar_arm_reaches_target_with_law_of_cosines_elbow(target):
    arm = planar_arm(L1, L2, elbow_range=(-np.pi, np.pi))
    options = FABRIKOptions(position_tolerance=1e-7, max_iterations=500)
    result = fabrik(arm, [ik.Position("hand", target)], options=options)
    hand = reference_point(arm, result.pose, "hand")
    assert np.linalg.norm(hand - target) <= 1e-7 < 1e-4
    assert result.converged
    bend = np.linalg.norm(result.pose.rotations[arm.index("elbow")])
    assert bend == pytest.approx(elbow_angle_for(np.linalg.norm(target)), abs=1e-5)
    # A planar answer: only the z components turn.
    assert np.abs(result.pose.rotations[:, :2]).max() == 0.0


def test_target_at_rest_pose_converges_at_once():
    arm = planar_arm(L1, L2)
    result = fabrik(arm, [ik.Position("hand", [L1 + L2, 0.0, 0.0])])
    assert result.converged
    assert result.iterations == 0
    np.testing.assert_array_equal(result.pose.rotations, np.zeros((3, 3)))
    np.testing.assert_array_equal(result.pose.translation, np.zeros(3))


def test_unreachable_target_stretches_the_arm_toward_it():
    arm = planar_arm(L1, L2)  # elbow limited to [0, 0.9 pi]: straight is on the boundary
    target = np.array([0.8, 0.6, 0.0])  # 1 m away, the arm is 0.55 m long
    result = fabrik(arm, [ik.Position("hand", target)])
    assert not result.converged
    assert arm.limit_violation(result.pose) == 0.0
    assert np.linalg.norm(result.pose.rotations[arm.index("elbow")]) < 1e-3
    hand = reference_point(arm, result.pose, "hand")
    cos = hand @ target / (np.linalg.norm(hand) * np.linalg.norm(target))
    assert np.arccos(np.clip(cos, -1, 1)) < 1e-3
    assert result.position_error == pytest.approx(1.0 - (L1 + L2), abs=1e-4)


def test_elbow_limit_holds_while_the_target_pulls_past_it():
    limit = 0.5
    arm = planar_arm(L1, L2, elbow_range=(0.0, limit))
    distance = np.sqrt(L1**2 + L2**2 + 2 * L1 * L2 * np.cos(1.2))  # needs a 1.2 rad bend
    target = distance * np.array([np.cos(0.7), np.sin(0.7), 0.0])
    result = fabrik(arm, [ik.Position("hand", target)])
    assert not result.converged
    assert arm.limit_violation(result.pose) == 0.0
    assert result.pose.rotations[arm.index("elbow"), 2] == pytest.approx(limit, abs=1e-9)
    error = np.linalg.norm(reference_point(arm, result.pose, "hand") - target)
    assert result.position_error == pytest.approx(error, abs=1e-9)
    closest = np.sqrt(L1**2 + L2**2 + 2 * L1 * L2 * np.cos(limit))  # the nearest reachable distance
    assert error >= closest - distance - 1e-9  # nothing within the limits does better
    assert error < np.linalg.norm(target - [L1 + L2, 0.0, 0.0])  # better than the straight rest arm


def test_move_root_carries_the_arm_to_a_far_target():
    arm = planar_arm(L1, L2)
    target = np.array([2.0, 1.0, 0.0])  # in the arm's plane, 2.2 m away
    result = fabrik(arm, [ik.Position("hand", target)], options=FABRIKOptions(move_root=True))
    assert result.converged
    assert np.linalg.norm(reference_point(arm, result.pose, "hand") - target) <= 1e-4
    assert arm.limit_violation(result.pose) == 0.0


def test_rest_rotations_chain_reaches_targets_of_random_poses():
    rng = np.random.default_rng(7)
    J = 4
    rest_rotations = Rotation.random(J, random_state=11).as_matrix()
    offsets = np.array([[0.0, 0.0, 0.0], [0.0, 0.3, 0.0], [0.1, 0.25, 0.0], [0.0, 0.2, 0.05]])
    names = [f"j{i}" for i in range(J)]
    chain = ik.Skeleton(names, [-1, 0, 1, 2], offsets, rest_rotations=rest_rotations, name="rotated_chain")
    joints = ["j0", "j1", "j2"]
    for _ in range(4):
        pose = chain.random_pose(rng, joints)
        target = reference_fk(chain.parents, offsets, pose.rotations, pose.translation, rest_rotations)[1][3]
        result = fabrik(chain, [ik.Position("j3", target)], joints=joints)
        p = reference_fk(chain.parents, offsets, result.pose.rotations, result.pose.translation, rest_rotations)[1][3]
        assert np.linalg.norm(p - target) == pytest.approx(result.position_error, abs=1e-9)
        assert result.converged


# ------------------------------------------------------------------ the SMPL-X body
def test_arm_reach_stays_in_limits_and_reports_true_errors(smplx):
    scenario = scenarios.arm_reach(smplx, 20, seed=1)
    errors = []
    for i in range(scenario.size):
        result = fabrik(smplx, scenario.constraints(i), joints=scenario.moving)
        assert smplx.limit_violation(result.pose) == 0.0
        error = np.linalg.norm(reference_point(smplx, result.pose, "left_middle1") - scenario.positions["left_middle1"][i])
        assert result.errors[0] == pytest.approx(error, abs=1e-9)
        assert result.converged == (error <= 1e-4)
        errors.append(error)
    errors = np.array(errors)
    # Measured: 80 % within 1 mm, 85 % within 5 mm (cold starts from the T-pose).
    assert np.mean(errors <= 1e-3) >= 0.65
    assert np.mean(errors <= 5e-3) >= 0.7


def test_arm_pose_orientation_targets(smplx):
    scenario = scenarios.arm_pose(smplx, 10, seed=1)
    reached = 0
    for i in range(scenario.size):
        result = fabrik(smplx, scenario.constraints(i), joints=scenario.moving)
        assert smplx.limit_violation(result.pose) == 0.0
        R, p = reference_world(smplx, result.pose.rotations, result.pose.translation)
        position = np.linalg.norm(p[smplx.index("left_middle1")] - scenario.positions["left_middle1"][i])
        angle = rotation_angle(R[smplx.index("left_wrist")], scenario.rotations["left_wrist"][i])
        np.testing.assert_allclose(result.errors, [position, angle], atol=1e-7)
        reached += position <= 1e-3 and angle <= np.radians(1)
    assert reached >= 6  # measured: 8 of these 10 (85 % of 20)


def test_orientation_alone_reaches_up_the_chain_through_the_limits(smplx):
    """An Orientation target on the hand with the wrist held still: the elbow alone cannot
    turn the hand there (its twist and side bend are limited), so its limits must hand the
    rest of the turn up to the shoulder and collar (the inward pass)."""
    rng = np.random.default_rng(9)
    moving = ["left_collar", "left_shoulder", "left_elbow"]
    hand = smplx.index("left_middle1")
    converged = 0
    for _ in range(6):
        truth = smplx.random_pose(rng, list(scenarios.ARM_JOINTS))
        target = reference_world(smplx, truth.rotations, truth.translation)[0][hand]
        result = fabrik(smplx, [ik.Orientation("left_middle1", target)], joints=moving)
        assert smplx.limit_violation(result.pose) == 0.0
        R = reference_world(smplx, result.pose.rotations, result.pose.translation)[0]
        assert result.orientation_error == pytest.approx(rotation_angle(R[hand], target), abs=1e-7)
        np.testing.assert_array_equal(result.pose.rotations[smplx.index("left_wrist")], np.zeros(3))
        converged += result.converged
    assert converged >= 4  # measured: all 6


def test_fixed_wrist_is_a_rigid_segment(smplx):
    """With left_wrist not moving, elbow -> left_middle1 is one rigid body: the wrist keeps
    its initial rotation and the finger point is still reached."""
    rng = np.random.default_rng(5)
    moving = ["left_collar", "left_shoulder", "left_elbow"]
    wrist = smplx.index("left_wrist")
    reached = 0
    for _ in range(10):
        init_rotations = np.zeros((smplx.num_joints, 3))
        init_rotations[wrist] = smplx.random_pose(rng, ["left_wrist"]).rotations[wrist]
        truth = smplx.random_pose(rng, moving).rotations.copy()
        truth[wrist] = init_rotations[wrist]
        target = reference_world(smplx, truth, np.zeros(3))[1][smplx.index("left_middle1")]
        init = ik.Pose(init_rotations, np.zeros(3))
        result = fabrik(smplx, [ik.Position("left_middle1", target)], joints=moving, init=init)
        np.testing.assert_array_equal(result.pose.rotations[wrist], init_rotations[wrist])
        assert smplx.limit_violation(result.pose) == 0.0
        error = np.linalg.norm(reference_point(smplx, result.pose, "left_middle1") - target)
        assert result.errors[0] == pytest.approx(error, abs=1e-9)
        reached += error <= 1e-3
    assert reached >= 6  # measured: 8 of these 10


def test_two_hands_on_a_tree_with_a_moving_spine(smplx):
    moving = ["spine3", "left_collar", "right_collar", "left_shoulder", "right_shoulder",
              "left_elbow", "right_elbow", "left_wrist", "right_wrist"]
    hands = ["left_middle1", "right_middle1"]
    rng = np.random.default_rng(3)
    rest = smplx.rest_positions()
    converged = 0
    for _ in range(3):
        truth = smplx.random_pose(rng, moving)
        targets = reference_world(smplx, truth.rotations, truth.translation)[1][smplx.indices(hands)]
        result = fabrik(smplx, [ik.Position(h, t) for h, t in zip(hands, targets)], joints=moving)
        assert smplx.limit_violation(result.pose) == 0.0
        reached = reference_world(smplx, result.pose.rotations, result.pose.translation)[1][smplx.indices(hands)]
        final = np.linalg.norm(reached - targets, axis=1)
        initial = np.linalg.norm(rest[smplx.indices(hands)] - targets, axis=1)
        np.testing.assert_allclose(result.errors, final, atol=1e-9)
        assert np.all(final < 0.1 * initial)
        assert np.abs(result.pose.rotations[smplx.index("spine3")]).max() > 0  # the sub-base turned
        converged += result.converged
    assert converged >= 2  # measured: all 3


# ------------------------------------------------------------------ Euler joint coordinates
def arm_pose_from_coordinates(skel: ik.Skeleton, degrees: dict) -> ik.Pose:
    """A pose from some joints' coordinates in degrees (the SMPL-X elbows': Euler yzx)."""
    coordinates = np.zeros((skel.num_joints, 3))
    for joint, value in degrees.items():
        coordinates[skel.index(joint)] = np.radians(value)
    return ik.Pose(skel.from_coordinates(coordinates), np.zeros(3))


def test_elbow_orientation_past_the_pronation_limit_is_clamped_in_euler_coordinates(smplx):
    """The outward pass solves the elbow's local rotation from the wrist's target frame
    (pronated 120, flexed 60 degrees) and clamps its Euler coordinates (pronation x, flexion
    y, play z) to (-85, -60, 0) degrees: 35 degrees of pronation stay missing."""
    elbow, wrist = smplx.index("left_elbow"), smplx.index("left_wrist")
    assert smplx.coordinates[elbow] == "yzx"
    truth = arm_pose_from_coordinates(smplx, {"left_elbow": [-120.0, -60.0, 0.0]})
    target = reference_world(smplx, truth.rotations, truth.translation)[0][wrist]
    result = fabrik(smplx, [ik.Orientation("left_wrist", target)], joints=["left_elbow"])
    np.testing.assert_allclose(smplx.to_coordinates(result.pose.rotations)[elbow], np.radians([-85.0, -60.0, 0.0]), atol=1e-9)
    assert smplx.limit_violation(result.pose) == 0.0
    angle = rotation_angle(reference_world(smplx, result.pose.rotations, result.pose.translation)[0][wrist], target)
    assert result.orientation_error == pytest.approx(angle, abs=1e-9)
    assert angle == pytest.approx(np.radians(35.0), abs=1e-9)
    assert not result.converged


def test_flexed_and_pronated_elbow_is_reached_inside_its_euler_box(smplx):
    """The wrist's position and frame with the wrist held still: the elbow must flex 100 and
    pronate 50 degrees. Its rotation lies outside the +-5 degrees its limits give the z
    coordinate if they were read as axis-angle, inside them as Euler angles."""
    moving = ["left_collar", "left_shoulder", "left_elbow"]
    elbow, wrist = smplx.index("left_elbow"), smplx.index("left_wrist")
    truth = arm_pose_from_coordinates(smplx, {"left_shoulder": [20.0, -30.0, 10.0], "left_elbow": [-50.0, -100.0, 0.0]})
    R, p = reference_world(smplx, truth.rotations, truth.translation)
    constraints = [ik.Position("left_wrist", p[wrist]), ik.Orientation("left_wrist", R[wrist])]
    result = fabrik(smplx, constraints, joints=moving)
    R_got, p_got = reference_world(smplx, result.pose.rotations, result.pose.translation)
    assert smplx.limit_violation(result.pose) == 0.0
    errors = [np.linalg.norm(p_got[wrist] - p[wrist]), rotation_angle(R_got[wrist], R[wrist])]
    np.testing.assert_allclose(result.errors, errors, atol=1e-9)
    c = smplx.to_coordinates(result.pose.rotations)[elbow]
    assert np.all((smplx.lower[elbow] - 1e-12 <= c) & (c <= smplx.upper[elbow] + 1e-12))
    r = result.pose.rotations[elbow]
    assert not np.all((smplx.lower[elbow] <= r) & (r <= smplx.upper[elbow]))
    # Measured: 10 iterations. The inward pass re-turns the shoulder so that the elbow's
    # Euler coordinates stay in their box (without it FABRIK stalls 6 cm short).
    assert result.converged


# ------------------------------------------------------------------ bad input
def test_bad_input_gets_clear_errors(smplx):
    arm = list(scenarios.ARM_JOINTS)
    with pytest.raises(ik.UnknownJointError, match="left_hnd"):
        fabrik(smplx, [ik.Position("left_hnd", [0.5, 1.3, 0.3])], joints=arm)
    with pytest.raises(ik.UnknownJointError):
        fabrik(smplx, [ik.Position("left_middle1", [0.5, 1.3, 0.3])], joints=["left_elbw"])
    with pytest.raises(ik.ConstraintError):
        fabrik(smplx, [ik.Position("left_middle1", [np.nan, 1.3, 0.3])], joints=arm)
    with pytest.raises(ik.SolverError, match="not supported by FABRIK"):
        fabrik(smplx, [ik.LookAt("head", [0.0, 1.6, 2.0])], joints=["neck", "head"])
    with pytest.raises(ik.SolverError, match="patience"):
        fabrik(smplx, [ik.Position("left_middle1", [0.5, 1.3, 0.3])], joints=arm, options=FABRIKOptions(patience=0))
    with pytest.raises(ik.SolverError, match="FABRIKOptions"):
        fabrik(smplx, [ik.Position("left_middle1", [0.5, 1.3, 0.3])], joints=arm, options=object())
