"""Priorities, regularisers, frame loops and batches: behaviour measured with float64 FK."""

from __future__ import annotations

import numpy as np
import pytest

import ik_engine as ik
from ik_engine.benchmarks.motion import mean_acceleration, smooth_upper_body_motion
from ik_engine.benchmarks.scenarios import BODY_JOINTS

ARM = ["left_collar", "left_shoulder", "left_elbow", "left_wrist"]
FEET = ("left_foot", "right_foot", "left_ankle", "right_ankle")


@pytest.fixture(scope="module")
def body_solver(smplx):
    return ik.IKSolver(smplx, joints=BODY_JOINTS, move_root=True)


def test_pinned_feet_hold_while_an_unreachable_hand_pulls(smplx, body_solver):
    rng = np.random.default_rng(0)
    upper = ["spine1", "spine2", "spine3", "right_shoulder", "right_elbow", "left_shoulder"]
    for _ in range(5):
        init = smplx.random_pose(rng, upper)
        p0 = smplx.world_positions(init)
        target = p0[smplx.index("spine3")] + np.array([-2.5, 0.4, 1.0])  # far out to the right and front
        constraints = [ik.Pin(j, priority=0) for j in FEET] + [ik.Position("right_middle1", target, priority=1)]
        res = body_solver.solve(constraints, init=init)
        p = smplx.world_positions(res.pose)
        feet = [smplx.index(j) for j in FEET]
        # Level 0 is met: the feet within the solver's 0.1 mm tolerance (README), plus 1 um of
        # float32 rounding (measured: 0.04 mm at most).
        assert np.linalg.norm(p[feet] - p0[feet], axis=1).max() <= body_solver.position_tolerance + 1e-6
        assert not res.converged
        # The hand got closer than where it started, and the body leans toward the target.
        hand = smplx.index("right_middle1")
        assert np.linalg.norm(p[hand] - target) < np.linalg.norm(p0[hand] - target) - 0.1
        assert smplx.limit_violation(res.pose) == 0.0


def test_without_priorities_the_same_pull_moves_the_feet(smplx, body_solver):
    # The control experiment: at equal priority, the hand's error trades against the feet.
    init = smplx.rest_pose()
    p0 = smplx.world_positions(init)
    target = p0[smplx.index("spine3")] + np.array([-2.5, 0.4, 1.0])
    res = body_solver.solve([ik.Pin(j) for j in FEET] + [ik.Position("right_middle1", target)], init=init)
    p = smplx.world_positions(res.pose)
    feet = [smplx.index(j) for j in FEET]
    assert np.linalg.norm(p[feet] - p0[feet], axis=1).max() > 1e-2


def test_rest_pose_regulariser_keeps_unneeded_joints_still(smplx):
    solver = ik.IKSolver(smplx, joints=ARM + ["spine1", "spine2", "spine3"])
    target = smplx.rest_positions()[smplx.index("left_middle1")] + np.array([-0.1, -0.15, 0.3])
    plain = solver.solve([ik.Position("left_middle1", target)])
    regular = solver.solve([ik.Position("left_middle1", target), ik.RestPose()])
    for res in (plain, regular):
        assert res.converged and res.position_error <= solver.position_tolerance
    moved = lambda r: np.linalg.norm(r.pose.rotations)
    assert moved(regular) < moved(plain)


def test_a_pull_whose_optimum_is_its_reference_stops_there(smplx):
    """A LookAt that the rest pose meets once the root moves, with a RestPose, from a bent pose:
    the pull's optimum is the rest pose itself, where its cost falls by the same share each
    step without end. The solve stops once the pull is within the orientation tolerance of rest
    (before: 258-491 iterations to drive it to 0.0; now 26-54), with the LookAt met (float64 FK)."""
    rng = np.random.default_rng(2)
    solver = ik.IKSolver(smplx, joints=BODY_JOINTS, move_root=True, compilation="never")
    wrist = smplx.index("left_wrist")
    for _ in range(4):
        R, p = smplx.world_transforms(ik.Pose(np.zeros((smplx.num_joints, 3)), rng.uniform(-0.3, 0.3, 3)))
        target = p[wrist] + R[wrist] @ np.array([0.0, 0.0, 1.0])  # 1 m along the rest wrist's z axis
        init = ik.Pose(0.3 * smplx.random_pose(rng, BODY_JOINTS).rotations, np.zeros(3))
        res = solver.solve([ik.LookAt("left_wrist", target), ik.RestPose()], init=init)
        R_res, p_res = smplx.world_transforms(res.pose)
        to_target = (target - p_res[wrist]) / np.linalg.norm(target - p_res[wrist])
        assert res.converged and np.arccos(np.clip(to_target @ R_res[wrist][:, 2], -1, 1)) <= solver.orientation_tolerance
        assert res.errors[1] <= solver.orientation_tolerance
        assert np.abs(res.pose.rotations).max() < 0.01  # at rest: the root's move met the LookAt
        assert res.iterations <= 100


def test_smoothness_reference_must_match_the_skeleton(smplx):
    with pytest.raises(ik.ConstraintError, match="Pose"):
        ik.Smoothness(np.zeros((55, 3)))
    solver = ik.IKSolver(smplx, joints=ARM)
    with pytest.raises(ik.ConstraintError, match="24 joints"):
        solver.solve([ik.Position("left_middle1", [0.5, 1.4, 0.2]), ik.Smoothness(ik.Pose(np.zeros((24, 3))))])


def test_frame_loop_is_smooth_and_warm_started(smplx, body_solver):
    reference = smooth_upper_body_motion(smplx, 61, seed=3)
    rest = smplx.rest_positions()
    pose = ik.Pose(reference[0])
    solved = []
    for t in range(1, 61):
        p = smplx.world_positions(ik.Pose(reference[t]))
        constraints = [ik.Position(j, rest[smplx.index(j)]) for j in FEET]
        constraints += [ik.Position(j, p[smplx.index(j)], priority=1) for j in ("left_middle1", "right_middle1", "head")]
        res = body_solver.solve(constraints + [ik.Smoothness(pose)], init=pose)
        assert res.converged
        assert res.iterations <= 10  # warm start: a few iterations per frame
        pose = res.pose
        solved.append(pose.rotations)
    body = [smplx.index(j) for j in BODY_JOINTS]
    assert mean_acceleration(np.array(solved), body) <= 2.0 * mean_acceleration(reference[1:], body)


def test_a_target_leaving_the_reachable_space_does_not_oscillate(smplx):
    solver = ik.IKSolver(smplx, joints=ARM)
    shoulder = smplx.rest_positions()[smplx.index("left_shoulder")]
    pose = smplx.rest_pose()
    poses = []
    for t in np.linspace(0.3, 1.5, 40):  # the target walks out of reach along one line
        res = solver.solve([ik.Position("left_middle1", shoulder + t * np.array([0.6, 0.0, 0.8])), ik.Smoothness(pose)], init=pose)
        pose = res.pose
        poses.append(smplx.world_positions(pose)[smplx.index("left_middle1")])
    tail = np.array(poses[-15:])  # all unreachable: the hand should rest at its closest reach
    assert np.linalg.norm(np.diff(tail, axis=0), axis=1).max() < 2e-3


def test_solve_batch_matches_one_at_a_time(smplx):
    rng = np.random.default_rng(7)
    hand = smplx.index("left_middle1")
    targets = np.array([smplx.world_positions(smplx.random_pose(rng, ARM))[hand] for _ in range(40)])
    solver = ik.IKSolver(smplx, joints=ARM)
    batch = solver.solve_batch([ik.Position("left_middle1", targets)])
    assert len(batch) == 40 and batch.converged.all()
    for b in range(0, 40, 7):
        single = solver.solve([ik.Position("left_middle1", targets[b])])
        assert single.converged
        # The same problem solved alone and in the batch: both within the tolerance of the
        # target by float64 FK, and the same pose (the same method from the same start; the
        # batch runs the same iterations, vectorised).
        batch_hand = smplx.world_positions(batch[b].pose)[hand]
        single_hand = smplx.world_positions(single.pose)[hand]
        assert np.linalg.norm(batch_hand - targets[b]) <= solver.position_tolerance + 1e-6
        assert np.linalg.norm(single_hand - targets[b]) <= solver.position_tolerance + 1e-6
        np.testing.assert_allclose(batch[b].pose.rotations, single.pose.rotations, atol=1e-3)
        assert batch.iterations[b] == single.iterations
    assert batch.position_error.max() <= solver.position_tolerance


def test_solve_batch_with_per_problem_initial_poses_and_shared_constraints(smplx):
    rng = np.random.default_rng(8)
    inits = [smplx.random_pose(rng, ARM) for _ in range(5)]
    solver = ik.IKSolver(smplx, joints=ARM, compilation="blocking")  # counts its compilations
    target = smplx.rest_positions()[smplx.index("left_middle1")] + np.array([-0.1, 0.0, 0.3])
    batch = solver.solve_batch([ik.Position("left_middle1", target)], init=inits)
    assert batch.converged.all()
    # Compiling once per structure, batched or not.
    solver.solve_batch([ik.Position("left_middle1", np.tile(target, (5, 1)))], init=inits)
    assert solver.compilations == 1


def test_solve_batch_bad_input(smplx):
    solver = ik.IKSolver(smplx, joints=ARM)
    with pytest.raises(ik.ConstraintError, match="different batch sizes"):
        solver.solve_batch([ik.Position("left_middle1", np.zeros((3, 3))), ik.Orientation("left_wrist", np.tile(np.eye(3), (4, 1, 1)))])
    with pytest.raises(ik.ConstraintError, match="init has 2 poses"):
        solver.solve_batch([ik.Position("left_middle1", np.zeros((3, 3)))], init=[smplx.rest_pose()] * 2)
    with pytest.raises(ik.ConstraintError, match="batch axis"):
        solver.solve_batch([ik.Position("left_middle1", np.zeros(3))])
    with pytest.raises(ik.ConstraintError, match="use solve_batch"):
        solver.solve([ik.Position("left_middle1", np.zeros((3, 3)))])
    with pytest.raises(ik.ConstraintError, match="finite"):
        ik.Position("left_middle1", np.array([[0, 0, 0], [0, np.nan, 0]]))


def test_solve_sequence_follows_a_clip_and_smooths_redundant_joints(smplx):
    solver = ik.IKSolver(smplx, joints=ARM + ["spine1", "spine2", "spine3"])
    shoulder = smplx.rest_positions()[smplx.index("left_shoulder")]
    frames = [[ik.Position("left_middle1", shoulder + [0.1 + 0.15 * np.cos(a), 0.15 * np.sin(a), 0.4])]
              for a in np.linspace(0, 2 * np.pi, 40)]
    smooth = solver.solve_sequence(frames)
    rough = solver.solve_sequence(frames, smoothing_weight=0.0)
    assert len(smooth) == 40 and smooth.converged.all() and rough.converged.all()
    moving = [smplx.index(j) for j in ARM + ["spine1", "spine2", "spine3"]]
    (smooth_rotations, smooth_translations), (rough_rotations, _) = smooth.pose_arrays(), rough.pose_arrays()
    assert mean_acceleration(smooth_rotations, moving) <= mean_acceleration(rough_rotations, moving)
    assert smooth_rotations.shape == (40, 55, 3) and smooth_translations.shape == (40, 3)
    # The same interface as solve_clip's BatchResult: per-frame arrays and results.
    assert smooth.iterations.shape == smooth.position_error.shape == (40,)
    assert [r.pose for r in smooth] == smooth.poses


def test_solve_sequence_bad_input(smplx):
    solver = ik.IKSolver(smplx, joints=ARM)
    with pytest.raises(ik.SolverError, match="at least one frame"):
        solver.solve_sequence([])
    with pytest.raises(ik.SolverError, match="velocity_weight"):
        solver.solve_sequence([[ik.Position("left_middle1", [0.5, 1.4, 0.2])]], velocity_weight=-1)
    with pytest.raises(ik.SolverError, match="both 0"):
        solver.solve_sequence([[ik.Position("left_middle1", [0.5, 1.4, 0.2])]], velocity_weight=0, acceleration_weight=0)
