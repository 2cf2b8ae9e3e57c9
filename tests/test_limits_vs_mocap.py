"""The rotation transfer of benchmarks/limits_vs_mocap.py keeps the clip's bone directions."""

from pathlib import Path

import numpy as np

import ik_engine as ik
from ik_engine.benchmarks.limits_vs_mocap import CMU_UNIT, SEGMENTS, inside_limits, transferred_rotations
from ik_engine.rotations import matrix_to_axis_angle

CLIP = Path(__file__).parent / "data" / "cmu" / "131_01.bvh"

BONES = {  # SMPL-X bone -> the clip's bone over the same body part
    ("left_hip", "left_knee"): ("LeftHip", "LeftKnee"),
    ("right_knee", "right_ankle"): ("RightKnee", "RightAnkle"),
    ("left_shoulder", "left_elbow"): ("LeftShoulder", "LeftElbow"),
    ("right_elbow", "right_wrist"): ("RightElbow", "RightWrist"),
    ("left_wrist", "left_middle1"): ("lhand", "LFingers"),
    ("spine1", "spine2"): ("lowerback", "Chest"),
}


def test_transferred_pose_points_every_bone_like_the_clip():
    source, motion = ik.load_bvh(CLIP, scale=CMU_UNIT)
    motion = motion[::25]
    target = ik.load_skeleton("smplx")
    rotations, calibration = transferred_rotations(source, motion, target)
    # The elbows' fitted hinge axes need a twist of the upper arm, mirrored left/right.
    assert abs(calibration["left_shoulder"] + calibration["right_shoulder"]) < np.radians(5)
    W_source, p_source = motion.world_transforms(source)
    for t in range(motion.num_frames):
        pose_rotations = np.zeros((target.num_joints, 3))
        pose_rotations[0] = matrix_to_axis_angle(W_source[t, source.index(SEGMENTS["pelvis"][0])], np)
        for joint, r in rotations.items():
            pose_rotations[target.index(joint)] = r[t]
        p = target.world_positions(ik.Pose(pose_rotations, np.zeros(3)))
        for (a, b), (sa, sb) in BONES.items():
            ours = p[target.index(b)] - p[target.index(a)]
            theirs = p_source[t, source.index(sb)] - p_source[t, source.index(sa)]
            cosine = ours @ theirs / np.linalg.norm(ours) / np.linalg.norm(theirs)
            assert cosine > np.cos(np.radians(0.5)), (t, a, b)


def test_inside_limits_counts_frames_in_the_box():
    target = ik.load_skeleton("smplx")
    j = target.index("left_knee")
    inside = target.lower[j] + 0.5 * (target.upper[j] - target.lower[j])
    outside = inside + np.array([0.0, 0.0, 1.0])  # z beyond +5 degrees
    counts = inside_limits(target, {"left_knee": np.stack([inside, inside, inside, outside])})
    assert counts["left_knee"]["inside"] == 0.75
