"""Skeleton construction, validation and limit checks."""

from __future__ import annotations

import numpy as np
import pytest

import ik_engine as ik

NAMES = ["root", "a", "b"]
PARENTS = [-1, 0, 1]
OFFSETS = np.array([[0, 0, 0], [0, 1, 0], [0, 1, 0]], dtype=float)


def make(**overrides):
    kwargs = dict(joint_names=NAMES, parents=PARENTS, rest_offsets=OFFSETS)
    kwargs.update(overrides)
    return ik.Skeleton(**kwargs)


def test_valid_tree_builds_and_is_read_only():
    skel = make()
    assert skel.joint_names == NAMES
    assert skel.parents.tolist() == PARENTS
    with pytest.raises(ValueError):
        skel.parents[1] = 2
    with pytest.raises(ValueError):
        skel.rest_offsets[0, 0] = 1.0


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(joint_names=["root", "a", "a"]), "appears twice"),
        (dict(parents=[-1, 2, 1]), "parents must come before"),
        (dict(parents=[-1, 1, 1]), "parents must come before"),  # a self-loop is a cycle
        (dict(parents=[-1, -1, 1]), "exactly one root"),
        (dict(parents=[0, 0, 1]), "exactly one root"),
        (dict(parents=[-1, 0, 7]), "outside 0..2"),
        (dict(parents=[-1, 0]), "shape"),
        (dict(parents=[-1.0, 0.5, 1.0]), "integers"),
        (dict(rest_offsets=np.zeros((3, 2))), "rest_offsets must have shape"),
        (dict(rest_offsets=np.array([[0, 0, 0], [0, np.nan, 0], [0, 1, 0]])), "finite"),
        (dict(lower=np.zeros((3, 3)), upper=-np.ones((3, 3))), "lower limit"),
        (dict(lower=np.full((3, 3), np.inf)), "finite"),
        (dict(joint_names=[]), "at least one joint"),
        (dict(joint_names=["root", "", "b"]), "non-empty string"),
        (dict(rest_rotations=np.tile(np.diag([1.0, 1.0, -1.0]), (3, 1, 1))), "not a rotation"),
        (dict(radii=[0.1, -0.1, 0.1]), "radii"),
    ],
)
def test_invalid_trees_say_what_is_wrong(overrides, message):
    with pytest.raises(ik.SkeletonError, match=message):
        make(**overrides)


def test_unknown_joint_names_the_joint_and_suggests(smplx):
    with pytest.raises(ik.UnknownJointError, match="left_elbw.*left_elbow"):
        smplx.index("left_elbw")
    with pytest.raises(ik.UnknownJointError, match="outside"):
        smplx.index(55)


def test_random_pose_stays_within_limits_and_leaves_others_at_rest(smplx):
    rng = np.random.default_rng(1)
    arm = ["left_shoulder", "left_elbow"]
    for _ in range(50):
        pose = smplx.random_pose(rng, arm)
        assert smplx.limit_violation(pose) == 0.0
        others = [j for j in range(smplx.num_joints) if smplx.joint_names[j] not in arm]
        assert np.all(pose.rotations[others] == 0.0)


def test_limit_violation_measures_radians_beyond_the_box(arm2):
    pose = arm2.rest_pose().with_rotation(1, [0.0, 0.0, -0.2])  # elbow bent backwards by 0.2 rad
    assert arm2.limit_violation(pose) == pytest.approx(0.2)
    assert arm2.limit_violation(arm2.clamp(pose)) == 0.0


def test_equivalent_axis_angle_going_the_other_way_is_accepted(arm2):
    # A shoulder rotation of +3.5 rad about z equals -(2 pi - 3.5) rad, which is within [-pi, pi].
    pose = arm2.rest_pose().with_rotation(0, [0.0, 0.0, 3.5])
    assert arm2.limit_violation(pose) == 0.0


def test_world_positions_of_rest_pose_are_cumulative_offsets():
    skel = make()
    assert np.allclose(skel.rest_positions(), [[0, 0, 0], [0, 1, 0], [0, 2, 0]])


def test_pose_shape_mismatch_is_a_clear_error(smplx):
    with pytest.raises(ik.PoseError, match="24 joint rotations but skeleton 'smplx' has 55"):
        smplx.world_positions(ik.Pose(np.zeros((24, 3))))
    with pytest.raises(ik.PoseError, match="finite"):
        ik.Pose(np.full((55, 3), np.nan))
    with pytest.raises(ik.PoseError, match="translation"):
        ik.Pose(np.zeros((55, 3)), translation=[0, 1])


def deg(*xyz):
    return np.radians(xyz)


@pytest.mark.parametrize(
    "joints",
    [
        {"left_knee": deg(-20, 0, 0)},  # knee bent backwards 20 deg
        {"right_knee": deg(-20, 0, 0)},
        {"left_elbow": deg(0, 20, 0)},  # left elbow bent backwards (flexion is -y)
        {"right_elbow": deg(0, -20, 0)},
        {"head": deg(0, 180, 0)},  # head turned all the way round
        {"neck": deg(0, 90, 0), "head": deg(0, 90, 0)},  # ... or split over neck and head
        {"left_index1": deg(0, 0, 80)},  # finger bent back toward the forearm
        {"left_index2": deg(0, 0, 45)},
        {"left_hip": deg(60, 0, 0)},  # leg swung 60 deg backwards
        {"spine1": deg(0, 0, 60)},  # 60 deg side bend in one vertebral segment
    ],
)
def test_impossible_poses_break_the_shipped_limits(smplx, joints):
    pose = smplx.rest_pose()
    for name, r in joints.items():
        pose = pose.with_rotation(smplx.index(name), r)
    assert smplx.limit_violation(pose) > np.radians(5)


@pytest.mark.parametrize(
    "joints",
    [
        {"left_knee": deg(90, 0, 0), "right_knee": deg(130, 0, 0)},  # deep knee bends
        {"left_elbow": deg(0, -120, 0), "right_elbow": deg(0, 120, 0)},  # elbows flexed
        {"left_shoulder": deg(0, 0, -85), "right_shoulder": deg(0, 0, 85)},  # arms down at the sides
        {"left_shoulder": deg(0, -90, 0)},  # arm straight forward
        {"neck": deg(0, 35, 0), "head": deg(0, 35, 0)},  # looking over the shoulder (70 deg)
        {"left_hip": deg(-90, 0, 0), "left_knee": deg(90, 0, 0)},  # sitting leg
        {"left_index1": deg(0, 0, -80), "left_index2": deg(0, 0, -90), "left_index3": deg(0, 0, -60)},  # fist
    ],
)
def test_ordinary_poses_fit_the_shipped_limits(smplx, joints):
    pose = smplx.rest_pose()
    for name, r in joints.items():
        pose = pose.with_rotation(smplx.index(name), r)
    assert smplx.limit_violation(pose) == 0.0


def test_default_skeleton_is_a_symmetric_adult(smplx):
    rest = smplx.rest_positions()
    names = smplx.joint_names
    for j, name in enumerate(names):
        if name.startswith("left_"):
            mirror = rest[names.index("right_" + name[5:])] * [-1, 1, 1]
            assert np.allclose(rest[j], mirror, atol=1e-9), name
    head_height = rest[smplx.index("head")][1]
    assert 1.4 < head_height < 1.7  # head joint of a 1.6-1.8 m adult
    assert np.allclose(smplx.lower[0], -np.pi) and np.allclose(smplx.upper[0], np.pi)  # the root is free
