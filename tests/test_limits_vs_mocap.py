"""The rotation transfer of benchmarks/limits_vs_mocap.py: it keeps the clip's limb directions
and its pelvis, thorax and head frames, stands the feet flat where the clip's feet stand, and
counts frames inside the limits in each joint's own coordinates."""

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import ik_engine as ik
from ik_engine.benchmarks.limits_vs_mocap import (
    CMU_UNIT,
    SEGMENTS,
    inside_limits,
    split_over_region,
    stance_frames,
    transferred_rotations,
)
from ik_engine.joint_coordinates import axis_angle_to_coordinates
from ik_engine.rotations import matrix_to_axis_angle

CLIP = Path(__file__).parent / "data" / "cmu" / "131_01.bvh"

LIMBS = {  # SMPL-X bone -> the clip's bone over the same body part; kept exactly
    ("left_shoulder", "left_elbow"): ("LeftShoulder", "LeftElbow"),
    ("right_elbow", "right_wrist"): ("RightElbow", "RightWrist"),
    ("left_wrist", "left_middle1"): ("lhand", "LFingers"),
}
LEGS = {  # turned by the knee-axis calibration (a few degrees, reported)
    ("left_hip", "left_knee"): ("LeftHip", "LeftKnee", "left_knee axis"),
    ("right_knee", "right_ankle"): ("RightKnee", "RightAnkle", "right_knee axis"),
}
FRAMES = {"spine3": "Chest2", "head": "Head"}  # SMPL-X joint frame -> the clip's, up to a constant


@pytest.fixture(scope="module")
def transfer():
    source, motion = ik.load_bvh(CLIP, scale=CMU_UNIT)
    target = ik.load_skeleton("smplx")
    rotations, calibration = transferred_rotations(source, motion, target)
    W_source, p_source = motion.world_transforms(source)
    poses = np.zeros((motion.num_frames, target.num_joints, 3))
    poses[:, 0] = matrix_to_axis_angle(W_source[:, source.index(SEGMENTS["pelvis"][0])], np)
    for joint, r in rotations.items():
        poses[:, target.index(joint)] = r
    R_target, p_target = ik.Motion(poses, np.zeros((motion.num_frames, 3)), motion.fps).world_transforms(target)
    return source, motion, target, calibration, W_source, p_source, R_target, p_target


def _cosines(p_target, p_source, target, source, a, b, sa, sb):
    ours = p_target[:, target.index(b)] - p_target[:, target.index(a)]
    theirs = p_source[:, source.index(sb)] - p_source[:, source.index(sa)]
    return np.sum(ours * theirs, axis=-1) / np.linalg.norm(ours, axis=-1) / np.linalg.norm(theirs, axis=-1)


def test_limbs_point_like_the_clip_and_legs_within_the_knee_calibration(transfer):
    source, _, target, calibration, _, p_source, _, p_target = transfer
    for (a, b), (sa, sb) in LIMBS.items():
        assert _cosines(p_target, p_source, target, source, a, b, sa, sb).min() > np.cos(np.radians(0.5)), (a, b)
    for (a, b), (sa, sb, key) in LEGS.items():
        tilt = calibration[key]
        assert 0 < tilt < np.radians(10), key  # the clip's knee axis is nearly the SMPL-X one
        assert _cosines(p_target, p_source, target, source, a, b, sa, sb).min() > np.cos(tilt + np.radians(0.5)), (a, b)


def test_thorax_and_head_turn_with_the_clip_whatever_the_split(transfer):
    """The spine and the neck are shared out over SMPL-X's joints, but the product keeps the
    clip's thorax and head frames (each up to a constant calibration)."""
    source, _, target, _, W_source, _, R_target, _ = transfer
    for joint, frame in FRAMES.items():
        ours = R_target[:, target.index(joint)]
        theirs = W_source[:, source.index(frame)]
        relative_ours = ours @ np.swapaxes(ours[:1], -1, -2)
        relative_theirs = theirs @ np.swapaxes(theirs[:1], -1, -2)
        np.testing.assert_allclose(relative_ours, relative_theirs, atol=1e-9, err_msg=joint)


def test_feet_stand_flat_where_the_clip_stands(transfer):
    source, motion, target, calibration, _, p_source, R_target, _ = transfer
    for side, Side in (("left", "Left"), ("right", "Right")):
        stance = stance_frames(p_source[:, source.index(f"{Side}Ankle")], p_source[:, source.index(f"{Side}Toe")], motion.fps)
        assert 0.2 < stance.mean() < 0.7, side  # a walk: the foot is down for a good part
        assert calibration[f"{side}_ankle stance frames"] == pytest.approx(stance.mean())
        # World up, seen from the SMPL-X foot frame: on average over the stance frames it is
        # the frame's own +Y (the calibration), and frame by frame the sole stays near flat
        # (the clip's foot frames wobble by about 5-10 degrees while standing).
        up_in_foot = R_target[stance, target.index(f"{side}_ankle"), 1, :]
        mean = up_in_foot.mean(axis=0)
        np.testing.assert_allclose(mean / np.linalg.norm(mean), [0, 1, 0], atol=1e-9)
        tilt = np.degrees(np.arccos(np.clip(up_in_foot[:, 1], -1, 1)))
        assert np.median(tilt) < 10.0, side
        # ... and tilts away from flat when the foot is in the air (the calibration is not a no-op).
        swing = R_target[~stance, target.index(f"{side}_ankle"), :, 1]
        assert np.percentile(np.degrees(np.arccos(np.clip(swing[:, 1], -1, 1))), 90) > 15.0, side


def test_stance_frames_find_a_foot_that_stands_still_on_the_ground():
    fps = 100.0
    t = np.arange(200) / fps
    heel = np.zeros((200, 3))
    heel[100:, 1] = 0.1 * np.sin(np.pi * (t[100:] - 1.0)) ** 2  # lifted in the second second
    heel[100:, 2] = 1.0 * (t[100:] - 1.0)  # and moving forward at 1 m/s
    ball = heel + np.array([0.0, -0.03, 0.15])
    stance = stance_frames(heel, ball, fps)
    assert stance[:99].all()
    assert not stance[110:190].any()


def test_split_over_region_keeps_the_product_and_shares_by_range():
    target = ik.load_skeleton("smplx")
    joints = ("spine1", "spine2", "spine3")
    R_total = Rotation.from_rotvec(Rotation.random(50, random_state=1).as_rotvec() * 0.3).as_matrix()
    parts = split_over_region(R_total, joints, target)
    product = np.eye(3)
    for joint in joints:
        product = product @ Rotation.from_rotvec(parts[joint]).as_matrix()
    np.testing.assert_allclose(product, R_total, atol=1e-12)
    # Pure forward flexion of 60 degrees: each segment takes its share of the 90 total.
    flexion = Rotation.from_rotvec([np.radians(60), 0, 0]).as_matrix()[None]
    parts = split_over_region(flexion, joints, target)
    shares = [np.degrees(parts[j][0, 0]) for j in joints]
    np.testing.assert_allclose(shares, np.array([35, 30, 25]) / 90 * 60, atol=1e-9)


def test_inside_limits_counts_frames_in_each_joints_coordinates():
    target = ik.load_skeleton("smplx")
    j = target.index("left_knee")
    inside = target.lower[j] + 0.5 * (target.upper[j] - target.lower[j])
    outside = inside + np.array([0.0, 0.0, 1.0])  # z beyond +5 degrees
    counts = inside_limits(target, {"left_knee": np.stack([inside, inside, inside, outside])})
    assert counts["left_knee"]["inside"] == 0.75
    # An elbow flexed 90 and pronated 40: outside as an axis-angle box, inside in Euler angles.
    flexed_pronated = (Rotation.from_rotvec([0, -np.pi / 2, 0]) * Rotation.from_rotvec([np.radians(40), 0, 0])).as_rotvec()
    sideways = np.array([0.0, 0.0, np.radians(20)])
    counts = inside_limits(target, {"left_elbow": np.stack([flexed_pronated, sideways])})
    assert counts["left_elbow"]["inside"] == 0.5


def test_a_clip_whose_foot_never_lands_is_refused_clearly():
    source, motion = ik.load_bvh(CLIP, scale=CMU_UNIT)
    # The whole body sliding sideways at 6 m/s: no foot is ever still.
    lifted = ik.Motion(motion.rotations, motion.translations + np.arange(motion.num_frames)[:, None] * np.array([0.05, 0, 0]), motion.fps)
    with pytest.raises(ValueError, match="left foot never stands still on the ground"):
        transferred_rotations(source, lifted, ik.load_skeleton("smplx"))


def test_a_hand_held_in_the_clips_rest_relation_to_the_forearm_has_no_wrist_or_pronation():
    """The elbow's hinge calibration twists the whole arm below the shoulder: a clip whose hands
    never move against their forearms (wrist channels zero) transfers as a straight, unbent
    wrist and a neutral forearm, frame by frame (before, the calibration's twist of the
    forearm alone came out as a constant pronation)."""
    source, motion = ik.load_bvh(CLIP, scale=CMU_UNIT)
    rotations = motion.rotations.copy()
    wrists = [source.index(name) for name in ("LeftWrist", "RightWrist", "lhand", "rhand")]
    rotations[:, wrists] = 0.0
    still_hands = ik.Motion(rotations, motion.translations, motion.fps)
    target = ik.load_skeleton("smplx")
    transferred, calibration = transferred_rotations(source, still_hands, target)
    for side in ("left", "right"):
        assert calibration[f"{side}_elbow axis"] > np.radians(10), side  # the calibration does turn the arm
        np.testing.assert_allclose(transferred[f"{side}_wrist"], 0.0, atol=1e-9, err_msg=side)
        pronation = axis_angle_to_coordinates(transferred[f"{side}_elbow"], "yzx")[:, 0]
        # Up to 1e-5 rad: the clip's elbow wobbles about its fitted hinge axis by about 2e-6 rad
        # from frame to frame (its channels are rounded to 4 decimals of a degree).
        np.testing.assert_allclose(pronation, 0.0, atol=1e-5, err_msg=side)
