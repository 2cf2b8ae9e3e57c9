"""Swing reach tables (a swing-twist joint's reach per direction): the reading against closed
forms, the Skeleton's checks, the SMPL-X shoulders and hips of the swing-twist limit table
(``load_skeleton("smplx", limits="swing_twist")``) against anatomy built from bone directions,
and the solver and baselines keeping every pose inside."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import ik_engine as ik
from ik_engine.errors import SkeletonError
from ik_engine.joint_coordinates import reach_directions, reach_sine, swing_scale

from ik_engine.benchmarks.anatomy_poses import ADMITTED, REJECTED, table_pose
from reference import reference_world

D = np.radians


@pytest.fixture(scope="module")
def smplx() -> ik.Skeleton:
    """The SMPL-X skeleton with the swing-twist limit table (this module's subject)."""
    return ik.load_skeleton("smplx", limits="swing_twist")


TABLE = D([150, 90, 60, 40, 20, 90, 150, 150])  # the swing-twist table's left shoulder, degrees -> radians


def test_reach_is_the_table_at_its_directions_and_linear_in_the_angle_between():
    for k, angle in enumerate(reach_directions(8)):
        for f in (0.0, 0.25, 0.5, 0.9):
            a = angle + f * np.pi / 4
            expected = (1 - f) * TABLE[k] + f * TABLE[(k + 1) % 8]
            s_b, s_d = 0.3 * np.cos(a), 0.3 * np.sin(a)
            assert reach_sine(np.float64(s_b), np.float64(s_d), TABLE, np) == pytest.approx(np.sin(expected / 2), abs=1e-12)


def test_reach_reads_the_same_in_jax():
    jnp = pytest.importorskip("jax.numpy")
    rng = np.random.default_rng(0)
    s = rng.uniform(-0.9, 0.9, (200, 2))
    expected = reach_sine(s[:, 0], s[:, 1], TABLE, np)
    got = np.asarray(reach_sine(jnp.asarray(s[:, 0]), jnp.asarray(s[:, 1]), jnp.asarray(TABLE), jnp))
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_swings_beyond_the_table_are_scaled_onto_it_along_their_ray():
    rng = np.random.default_rng(1)
    lower, upper = np.full(3, -np.pi), np.full(3, np.pi)
    for _ in range(200):
        angle, magnitude = rng.uniform(0, 2 * np.pi), rng.uniform(0.0, 0.99)
        c = np.array([2 * np.arcsin(magnitude * np.sin(angle)), rng.uniform(-1, 1), 2 * np.arcsin(magnitude * np.cos(angle))])
        k = swing_scale(c, 1, lower, upper, np.asarray(False), np, TABLE)
        limit = float(reach_sine(np.sin(c[2] / 2), np.sin(c[0] / 2), TABLE, np))
        assert k == pytest.approx(min(1.0, limit / magnitude), rel=1e-12)


def reach_skeleton(table) -> ik.Skeleton:
    """A two-bone arm along +X whose shoulder is swing-twist about x with reach table ``table``."""
    offsets = np.array([[0, 0, 0], [0.2, 0, 0], [0.3, 0, 0]], dtype=float)
    reach = np.full((3, len(np.atleast_1d(table))), np.inf)
    reach[1] = table
    return ik.Skeleton(["root", "shoulder", "hand"], [-1, 0, 1], offsets, coordinates=["axis_angle", "swing_twist_x", "axis_angle"],
                       swing_reach=reach)


def test_skeleton_refuses_bad_reach_tables_naming_the_joint():
    with pytest.raises(SkeletonError, match="shape"):
        ik.Skeleton(["a", "b"], [-1, 0], np.zeros((2, 3)), coordinates=["axis_angle", "swing_twist_x"], swing_reach=np.ones((2, 2)))
    with pytest.raises(SkeletonError, match="'shoulder'.*\\(0, pi\\]"):
        reach_skeleton([1.0, -0.5, 1.0, 1.0])
    with pytest.raises(SkeletonError, match="'shoulder'.*\\(0, pi\\]"):
        reach_skeleton([1.0, 4.0, 1.0, 1.0])
    with pytest.raises(SkeletonError, match="'shoulder'.*\\(0, pi\\]"):
        reach_skeleton([1.0, np.nan, 1.0, 1.0])
    with pytest.raises(SkeletonError, match="'root' has a swing_reach table but 'axis_angle'"):
        ik.Skeleton(["root", "b"], [-1, 0], np.zeros((2, 3)), coordinates=["axis_angle", "swing_twist_x"],
                    swing_reach=[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    with pytest.raises(SkeletonError, match="swing_reach must be numbers"):
        ik.Skeleton(["a", "b"], [-1, 0], np.zeros((2, 3)), coordinates=["axis_angle", "swing_twist_x"],
                    swing_reach=[["x", "y", "z"], [1.0, 1.0, 1.0]])
    # A table never below MAX_SWING limits nothing: no table at all.
    assert reach_skeleton([np.pi] * 4).swing_reach is None


def test_a_skeleton_with_a_table_keeps_it_through_with_rest_offsets_and_its_articulation_key():
    skel = reach_skeleton(D([90, 30, 60, 30]))
    other = skel.with_rest_offsets(skel.rest_offsets * 1.1)
    np.testing.assert_array_equal(other.swing_reach, skel.swing_reach)
    assert other.articulation_key() == skel.articulation_key()
    assert reach_skeleton(D([90, 30, 61, 30])).articulation_key() != skel.articulation_key()
    assert not skel.elliptic_swing.any()


# ------------------------------------------------ the SMPL-X joints of the swing-twist table

@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("what", sorted(ADMITTED))
def test_ball_joints_admit_everyday_poses(smplx, side, what):
    pose = table_pose(smplx, side, ADMITTED[what])
    assert smplx.limit_violation(pose) == 0.0, what


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("what", sorted(REJECTED))
def test_ball_joints_reject_impossible_poses(smplx, side, what):
    pose = table_pose(smplx, side, REJECTED[what])
    assert smplx.limit_violation(pose) > D(3), what
    clamped = smplx.clamp(pose)
    assert smplx.limit_violation(clamped) == 0.0


def test_right_limits_are_the_mirror_image_of_the_left(smplx):
    """A left pose mirrored across X = 0 ((rx, ry, rz) -> (rx, -ry, -rz)) onto the right joint is
    exactly as far outside the right joint's limits."""
    rng = np.random.default_rng(5)
    M = np.diag([-1.0, 1.0, 1.0])
    for joint in ("shoulder", "hip"):
        left, right = smplx.index(f"left_{joint}"), smplx.index(f"right_{joint}")
        for _ in range(100):
            r = Rotation.random(random_state=rng)
            rotations = np.zeros((smplx.num_joints, 3))
            rotations[left] = r.as_rotvec()
            rotations[right] = Rotation.from_matrix(M @ r.as_matrix() @ M).as_rotvec()
            excess = smplx.joint_limit_excess(ik.Pose(rotations, np.zeros(3)))
            assert excess[right] == pytest.approx(excess[left], abs=1e-9)


def test_random_poses_cover_the_table_and_stay_inside(smplx):
    rng = np.random.default_rng(2)
    j = smplx.index("left_shoulder")
    elbow = smplx.index("left_elbow")
    directions = []
    for _ in range(300):
        pose = smplx.random_pose(rng, ["left_shoulder"])
        assert smplx.limit_violation(pose) == 0.0
        p = smplx.world_positions(pose)
        directions.append((p[elbow] - p[j]) / np.linalg.norm(p[elbow] - p[j]))
    directions = np.array(directions)
    assert directions[:, 2].max() > 0.9 and directions[:, 1].max() > 0.8  # forward and up (150 from hanging)
    assert directions[:, 0].min() < -0.5  # across the chest


@pytest.mark.parametrize("compilation", ["never", "blocking"])
def test_solver_keeps_every_pose_inside_the_shoulder_cone(smplx, compilation):
    solver = ik.IKSolver(smplx, joints=["left_shoulder", "left_elbow"], compilation=compilation)
    shoulder = smplx.rest_positions()[smplx.index("left_shoulder")]
    rng = np.random.default_rng(3)
    met = 0
    for _ in range(8):
        truth = smplx.random_pose(rng, ["left_shoulder", "left_elbow"])
        target = reference_world(smplx, truth.rotations, truth.translation)[1][smplx.index("left_wrist")]
        result = solver.solve([ik.Position("left_wrist", target)])
        assert smplx.limit_violation(result.pose) == 0.0
        met += result.converged
        if result.converged:
            hand = reference_world(smplx, result.pose.rotations, result.pose.translation)[1][smplx.index("left_wrist")]
            assert np.linalg.norm(hand - target) <= 1e-3
    assert met >= 7
    # Straight back at shoulder height, out of the cone: the best pose lies on the reach table's
    # boundary (the box, its bounding box, is not what holds it), and the viewer reports it.
    from ik_engine.joint_kinds import swing_limit_excess
    from ik_engine.viewer.report import joints_at_limit

    j = smplx.index("left_shoulder")
    result = solver.solve([ik.Position("left_wrist", shoulder + np.array([0.0, 0.0, -0.5]))])
    assert not result.converged
    assert smplx.limit_violation(result.pose) == 0.0
    c = smplx.to_coordinates(result.pose.rotations)[j]
    swing = [0, 2]  # (the twist, y, may sit on its own bound)
    assert (c[swing] > smplx.lower[j, swing] + 1e-3).all() and (c[swing] < smplx.upper[j, swing] - 1e-3).all()
    pushed = c.copy()
    pushed[[0, 2]] = 2 * np.arcsin(np.sin(c[[0, 2]] / 2) * 1.01)
    assert swing_limit_excess(pushed, 1, smplx.lower[j], smplx.upper[j], False, smplx.reach(j)) > 0.0
    assert j in joints_at_limit(smplx, result.pose)
    assert j not in joints_at_limit(smplx, smplx.rest_pose())


@pytest.mark.parametrize("method", ["ccd", "fabrik", "ipopt"])
def test_baselines_keep_the_cones(smplx, method):
    if method == "ipopt":
        pytest.importorskip("casadi")
    from ik_engine import baselines

    joints = ["left_hip", "left_knee", "left_shoulder", "left_elbow"]
    hip = smplx.rest_positions()[smplx.index("left_hip")]
    shoulder = smplx.rest_positions()[smplx.index("left_shoulder")]
    constraints = [ik.Position("left_ankle", hip + np.array([0.9, -0.3, 0.0])),  # a split: out of the cone
                   ik.Position("left_wrist", shoulder + np.array([0.0, 0.0, -0.55]))]  # straight back
    result = getattr(baselines, method)(smplx, constraints, joints=joints)
    assert smplx.limit_violation(result.pose) <= 1e-6


def test_viewer_limit_region_samples_lie_inside_the_cone(smplx):
    from ik_engine.viewer.limit_region import limit_coordinates

    j = smplx.index("left_shoulder")
    c = limit_coordinates(smplx, j, samples=300)
    rows = np.zeros((len(c), smplx.num_joints, 3))
    rows[:, j] = c
    rotations = smplx.from_coordinates(rows)
    assert max(smplx.limit_violation(ik.Pose(r, np.zeros(3))) for r in rotations) == 0.0


@pytest.mark.parametrize("t", [0, 1, 2])
def test_quaternion_conversions_give_the_matrix_route_and_scipys_numbers(t):
    """axis_angle_to_coordinates / coordinates_to_axis_angle of swing-twist kinds (quaternion
    formulas, ik_engine/swing_twist_conversions.py) against the rotation-matrix route and
    scipy's rotations, with and without a neutral rotation."""
    from ik_engine.joint_coordinates import (SWING_TWIST_KINDS, axis_angle_to_coordinates, coordinates_to_axis_angle,
                                             matrix_to_swing_twist)

    kind = SWING_TWIST_KINDS[t]
    rng = np.random.default_rng(t)
    r = Rotation.random(300, random_state=rng).as_rotvec()
    r[:50] *= 1.0 - 2.0 * np.pi / np.linalg.norm(r[:50], axis=-1, keepdims=True)  # the same rotations, angles past pi
    for neutral in (None, Rotation.from_rotvec([0.3, -1.2, 0.5]).as_matrix()):
        R = Rotation.from_rotvec(r).as_matrix()
        relative = R if neutral is None else R @ neutral.T
        c = axis_angle_to_coordinates(r, kind, neutral)
        np.testing.assert_allclose(c, matrix_to_swing_twist(relative, t), atol=1e-9)
        back = coordinates_to_axis_angle(c, kind, neutral)
        np.testing.assert_allclose(Rotation.from_rotvec(back).as_matrix(), R, atol=1e-9)
        assert np.linalg.norm(back, axis=-1).max() <= np.pi + 1e-12
        for row in range(0, 300, 7):  # single rows, as every solve converts: Python floats
            np.testing.assert_allclose(axis_angle_to_coordinates(r[row], kind, neutral), c[row], atol=1e-12)
            np.testing.assert_allclose(coordinates_to_axis_angle(c[row], kind, neutral), back[row], atol=1e-12)


def test_one_vector_projection_matches_the_vectorised_one():
    """SwingLimits projects a single variable vector with Python floats (every solve's start and
    result) and batches with the array code: the same numbers, ellipse and reach table alike."""
    from ik_engine.swing_limits import SwingLimits

    smplx = ik.load_skeleton("smplx", limits="swing_twist")
    offsets = np.array([[0, 0, 0], [0.2, 0, 0], [0.3, 0, 0], [0.2, 0, 0], [0.1, 0, 0]], dtype=float)
    lower = D([[-180] * 3, [-60, -80, -70], [-30, -20, -40], [-180, -180, -180], [-180, -40, -180]])
    upper = D([[180] * 3, [90, 60, 40], [30, 50, 10], [180, 180, 180], [180, 40, 180]])
    reach = np.full((5, 6), np.inf)
    reach[4] = D([100, 40, 70, 20, 120, 60])
    # In one group (twist about x): an ellipse (a), the MAX_SWING disc alone (c), a reach table (d).
    mixed = ik.Skeleton(["root", "a", "b", "c", "d"], [-1, 0, 1, 2, 3], offsets, lower, upper,
                        coordinates=["axis_angle", "swing_twist_x", "swing_twist_z", "swing_twist_x", "swing_twist_x"],
                        swing_reach=reach)
    assert mixed.elliptic_swing.tolist() == [False, True, True, False, False]
    rng = np.random.default_rng(8)
    for skeleton, moving in ((smplx, smplx.indices(["left_hip", "left_knee", "left_shoulder", "right_shoulder", "left_elbow"])),
                             (mixed, [1, 2, 3, 4])):
        limits = SwingLimits(skeleton, moving, 3 * len(moving))
        q = rng.uniform(-np.pi, np.pi, (400, 3 * len(moving)))
        low, high = limits.bounds(skeleton.lower[moving].reshape(-1), skeleton.upper[moving].reshape(-1))
        q = np.clip(q, low, high)
        batch = limits.project(q, np)
        assert not np.array_equal(batch, q)  # some swings were outside
        for row, expected in zip(q, batch):
            np.testing.assert_allclose(limits.project(row, np), expected, atol=1e-12)


def test_the_default_table_keeps_boxes_and_bad_limit_names_are_refused():
    default = ik.load_skeleton("smplx")
    assert default.swing_reach is None and default.neutral_rotations is None
    assert default.coordinates[default.index("left_shoulder")] == "axis_angle"
    with pytest.raises(ik.SkeletonFileError, match="unknown SMPL-X limits 'cone'.*'box', 'swing_twist'"):
        ik.load_skeleton("smplx", limits="cone")
    with pytest.raises(ik.SkeletonFileError, match="limits apply to SMPL-X"):
        ik.load_skeleton("tests/data/cmu/131_01.bvh", limits="swing_twist")
