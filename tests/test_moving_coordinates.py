"""MovingCoordinates: one pose row by row in floats, batches vectorised, both the conversions
of ``joint_coordinates`` joint by joint (an independent path: matrices and quaternions in numpy)."""

import numpy as np
import pytest

import ik_engine as ik
from ik_engine.joint_coordinates import AXIS_ANGLE, axis_angle_to_coordinates, coordinates_to_axis_angle
from ik_engine.moving_coordinates import MovingCoordinates
from ik_engine.rotations import axis_angle_to_matrix


@pytest.fixture(scope="module", params=["box", "swing_twist"])
def skeleton(request):
    return ik.load_skeleton("smplx") if request.param == "box" else ik.load_skeleton("smplx", limits="swing_twist")


def _moving(skeleton):
    names = ["left_collar", "left_shoulder", "left_elbow", "left_wrist", "right_hip", "right_knee", "pelvis"]
    return skeleton.indices(names)


def _reference_coordinates(skeleton, moving, rotations):
    out = rotations[..., moving, :].copy()
    for m, j in enumerate(moving):
        kind = skeleton.coordinates[j]
        if kind != AXIS_ANGLE:
            for row in np.ndindex(out.shape[:-2]):
                # Through the batched (matrix or quaternion) numpy path: a (1, 3) array.
                out[row + (m,)] = axis_angle_to_coordinates(rotations[row + (j,)][None], kind, skeleton.neutral(j))[0]
    return out


def test_converts_the_shoulder_and_elbow_of_both_tables(skeleton):
    moving = _moving(skeleton)
    kinds = {skeleton.coordinates[j] for j in moving}
    assert AXIS_ANGLE in kinds and len(kinds) >= 2  # something is converted
    converted = MovingCoordinates(skeleton, moving).converted
    assert [m for m, _, _ in converted] == [m for m, j in enumerate(moving) if skeleton.coordinates[j] != AXIS_ANGLE]


def test_one_pose_matches_the_numpy_conversions_both_ways(skeleton):
    rng = np.random.default_rng(3)
    moving = _moving(skeleton)
    conversions = MovingCoordinates(skeleton, moving)
    for _ in range(30):
        pose = skeleton.random_pose(rng, [skeleton.joint_names[j] for j in moving])
        expected = _reference_coordinates(skeleton, moving, pose.rotations)
        coordinates = conversions.to_coordinates(pose.rotations[moving].copy())
        np.testing.assert_allclose(coordinates, expected, atol=1e-9)
        back = conversions.to_axis_angles(coordinates.copy())
        # The same rotations (axis-angles may differ by a turn for angles near pi).
        np.testing.assert_allclose(axis_angle_to_matrix(back, np), axis_angle_to_matrix(pose.rotations[moving], np), atol=1e-9)
        for m, kind, neutral in conversions.converted:
            np.testing.assert_allclose(back[m], coordinates_to_axis_angle(coordinates[m][None], kind, neutral)[0], atol=1e-9)


def test_a_batch_matches_one_pose_at_a_time(skeleton):
    rng = np.random.default_rng(4)
    moving = _moving(skeleton)
    conversions = MovingCoordinates(skeleton, moving)
    names = [skeleton.joint_names[j] for j in moving]
    rotations = np.stack([skeleton.random_pose(rng, names).rotations[moving] for _ in range(6)]).reshape(2, 3, len(moving), 3)
    batched = conversions.to_coordinates(rotations.copy())
    for row in np.ndindex(2, 3):
        np.testing.assert_allclose(batched[row], conversions.to_coordinates(rotations[row].copy()), atol=1e-12)
    back = conversions.to_axis_angles(batched.copy())
    for row in np.ndindex(2, 3):
        np.testing.assert_allclose(back[row], conversions.to_axis_angles(batched[row].copy()), atol=1e-12)


def test_axis_angle_joints_pass_through_untouched(skeleton):
    moving = _moving(skeleton)
    conversions = MovingCoordinates(skeleton, moving)
    values = np.random.default_rng(5).uniform(-1.0, 1.0, (len(moving), 3))
    out = conversions.to_coordinates(values.copy())
    untouched = [m for m, j in enumerate(moving) if skeleton.coordinates[j] == AXIS_ANGLE]
    np.testing.assert_array_equal(out[untouched], values[untouched])


# ------------------------------------------------------------------ a solve's start, remembered


def _arm_problem(skeleton, move_root=False):
    from ik_engine.problem import ResidualProblem

    moving = skeleton.indices(["left_collar", "left_shoulder", "left_elbow", "left_wrist"])
    target = skeleton.world_positions(skeleton.rest_pose())[skeleton.index("left_wrist")] + 0.1
    return ResidualProblem(skeleton, moving, move_root, [ik.Position("left_wrist", target)])


@pytest.mark.parametrize("move_root", [False, True])
def test_a_result_starts_the_next_solve_at_the_coordinates_it_ended_with(skeleton, move_root):
    """A frame loop's next start is the last result: ``initial_variables`` hands back the very
    coordinates ``pose_arrays`` turned into that result (remembered), which converting the
    result again (a problem that has not seen it) reproduces within rounding."""
    from ik_engine.solution import pose_arrays

    rng = np.random.default_rng(6)
    problem, fresh = _arm_problem(skeleton, move_root), _arm_problem(skeleton, move_root)
    start = skeleton.random_pose(rng, ["left_collar", "left_shoulder", "left_elbow", "left_wrist"])
    q = fresh.initial_variables(start.rotations, np.zeros(3))  # coordinates inside the limits
    translation = np.array([0.3, 0.0, -0.2])
    rotations, _ = pose_arrays(skeleton, problem, skeleton.rest_pose().rotations, translation, q)
    remembered = problem.initial_variables(rotations, translation)
    np.testing.assert_array_equal(remembered[: q.size - 3 * move_root], q[: q.size - 3 * move_root])
    if move_root:
        np.testing.assert_array_equal(remembered[-3:], translation)  # the translation handed in, not a remembered one
    np.testing.assert_allclose(remembered, fresh.initial_variables(rotations, translation), atol=1e-9)
    remembered[:] = 0.0  # a copy: the memory is not the caller's array
    np.testing.assert_array_equal(problem.initial_variables(rotations, translation)[:3], q[:3])


def test_other_poses_and_batches_are_converted(skeleton):
    rng = np.random.default_rng(7)
    problem, fresh = _arm_problem(skeleton), _arm_problem(skeleton)
    arm = ["left_collar", "left_shoulder", "left_elbow", "left_wrist"]
    first = skeleton.random_pose(rng, arm)
    problem.initial_variables(first.rotations, np.zeros(3))  # remembered
    other = first.rotations.copy()
    other[skeleton.index("left_elbow")] += 0.05  # one joint differs
    np.testing.assert_allclose(problem.initial_variables(other, np.zeros(3)), fresh.initial_variables(other, np.zeros(3)), atol=1e-12)
    batch = np.stack([first.rotations, other])
    np.testing.assert_allclose(problem.initial_variables(batch, np.zeros((2, 3))),
                               np.stack([fresh.initial_variables(r, np.zeros(3)) for r in batch]), atol=1e-12)
