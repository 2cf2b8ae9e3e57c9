"""ik.fit_joints: joint positions back to SMPL-X parameters.

Ground truth is real motion: a CMU clip tracked onto the SMPL-X skeleton, its joint positions
computed by the independent float64 reference FK (tests/reference.py) on a body with randomly
scaled bones (or, with a synthetic SMPL-X model file, by smplx's own forward pass).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from reference import reference_fk
from scipy.spatial.transform import Rotation

import ik_engine as ik
from ik_engine.errors import SkeletonError
from ik_engine.joint_sets import CMU_TO_SMPLX, SMPL22
from ik_engine.tracking import effector_tracks, track

DATA = Path(__file__).parent / "data" / "cmu"
FRAMES = 200


@pytest.fixture(scope="module")
def clip() -> ik.Motion:
    """200 frames (120 fps) of CMU 131_02 tracked onto the default SMPL-X skeleton."""
    skeleton = ik.load_skeleton("smplx")
    source, motion = ik.load_bvh(DATA / "131_02.bvh", scale=ik.CMU_UNIT)
    motion = motion[:FRAMES]
    return track(skeleton, effector_tracks(source, motion, skeleton), motion.fps).motion


def scaled(skeleton: ik.Skeleton, seed: int) -> ik.Skeleton:
    factors = np.random.default_rng(seed).uniform(0.9, 1.1, skeleton.num_joints)
    factors[0] = 1.0
    return ik.Skeleton(skeleton.joint_names, skeleton.parents, skeleton.rest_offsets * factors[:, None], skeleton.lower,
                       skeleton.upper, coordinates=skeleton.coordinates)


def reference_positions(skeleton: ik.Skeleton, rotations: np.ndarray, translations: np.ndarray) -> np.ndarray:
    """(T, J, 3) world positions by the reference FK, frame by frame."""
    return np.stack([reference_fk(skeleton.parents, skeleton.rest_offsets, r, t)[1] for r, t in zip(rotations, translations)])


def frame_steps(rotations: np.ndarray) -> np.ndarray:
    """(T - 1, J) angle of each joint's rotation from one frame to the next, radians."""
    T, J = rotations.shape[:2]
    R = Rotation.from_rotvec(np.array(rotations).reshape(-1, 3)).as_matrix().reshape(T, J, 3, 3)
    return Rotation.from_matrix((np.swapaxes(R[:-1], -1, -2) @ R[1:]).reshape(-1, 3, 3)).magnitude().reshape(T - 1, J)


def test_exact_input_on_scaled_bones_is_reproduced_within_the_limits(clip):
    truth = scaled(ik.load_skeleton("smplx"), seed=1)
    body = truth.indices(SMPL22)
    P = reference_positions(truth, clip.rotations, clip.translations)[:, body]
    result = ik.fit_joints(P, "smpl22", fps=clip.fps)
    fitted = reference_positions(result.skeleton, result.motion.rotations, result.motion.translations)[:, body]
    error = np.linalg.norm(fitted - P, axis=-1)
    assert error.mean() <= 1e-3 and error.max() <= 1e-2
    assert np.allclose(result.errors, error, atol=1e-9)  # the result's own errors are the real ones
    # The bones of the fitted body are the truth's (smpl22 measures every body bone).
    rest_fit, rest_truth = result.skeleton.rest_positions(), truth.rest_positions()
    bones = [(j, int(truth.parents[j])) for j in body[1:]]
    for j, p in bones:
        assert np.linalg.norm(rest_fit[j] - rest_fit[p]) == pytest.approx(np.linalg.norm(rest_truth[j] - rest_truth[p]), abs=1e-9)
    # Within the limits, every frame (the limits read independently of the solver).
    coordinates = np.stack([result.skeleton.to_coordinates(r) for r in result.motion.rotations])
    assert (coordinates >= result.skeleton.lower - 1e-6).all() and (coordinates <= result.skeleton.upper + 1e-6).all()
    # No flips: from frame to frame no joint turns more than 0.3 rad beyond what it turns in
    # the truth; joints below every given joint (wrists, feet, head) keep the rest pose.
    assert (frame_steps(result.motion.rotations) <= frame_steps(clip.rotations) + 0.3).all()
    for leaf in ("left_wrist", "right_wrist", "left_foot", "right_foot", "head"):
        assert np.abs(result.motion.rotations[:, truth.index(leaf)]).max() == 0.0
    assert result.betas is None and len(result.per_joint_mpjpe) == 22 and 0 <= result.worst_frame < FRAMES


def test_z_up_centimetre_input_gives_amass_arrays_in_its_own_frame(clip):
    truth = scaled(ik.load_skeleton("smplx"), seed=2)
    body = truth.indices(SMPL22)
    P_y = reference_positions(truth, clip.rotations, clip.translations)[:, body]
    R_zup_yup = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # Y up -> Z up
    P_z_cm = 100.0 * P_y @ R_zup_yup.T
    result = ik.fit_joints(P_z_cm, "smpl22", fps=clip.fps, up="z", unit="cm")
    arrays = result.amass_arrays()
    assert arrays["poses"].shape == (FRAMES, 165) and arrays["trans"].shape == (FRAMES, 3)
    assert float(arrays["mocap_framerate"]) == pytest.approx(clip.fps) and str(arrays["gender"]) == "neutral"
    # The AMASS arrays, posed by the reference FK on the fitted bones, land on the Z-up input.
    rebuilt = reference_positions(result.skeleton, arrays["poses"].reshape(FRAMES, 55, 3), arrays["trans"])[:, body]
    assert np.linalg.norm(rebuilt - P_z_cm / 100.0, axis=-1).mean() <= 1e-3


def test_noisy_input_with_smoothing_stays_near_the_clean_motion(clip):
    truth = scaled(ik.load_skeleton("smplx"), seed=3)
    body = truth.indices(SMPL22)
    P = reference_positions(truth, clip.rotations, clip.translations)[:, body]
    noisy = P + np.random.default_rng(3).normal(0.0, 0.01, P.shape)

    def jitter(X):
        return np.linalg.norm(X[2:] - 2 * X[1:-1] + X[:-2], axis=-1).mean()

    raw = ik.fit_joints(noisy, "smpl22", fps=clip.fps)
    smooth = ik.fit_joints(noisy, "smpl22", fps=clip.fps, smooth=0.04)
    positions = {k: reference_positions(r.skeleton, r.motion.rotations, r.motion.translations)[:, body]
                 for k, r in (("raw", raw), ("smooth", smooth))}
    assert np.linalg.norm(positions["smooth"] - P, axis=-1).mean() <= 0.01
    assert jitter(positions["smooth"]) <= 1.2 * jitter(P)
    assert jitter(positions["raw"]) > 5 * jitter(P)  # without smoothing the noise comes through


def test_a_synthetic_smplx_body_shape_is_recovered(clip, tmp_path):
    pytest.importorskip("smplx")
    from ik_engine.benchmarks.synthetic_smplx import write_synthetic_model
    from ik_engine.skeletons.smplx_model import smplx_forward

    model = write_synthetic_model(tmp_path / "SMPLX_NEUTRAL.npz", seed=4)
    betas = np.random.default_rng(4).normal(0.0, 1.0, 10)
    frames = [0, 60, 120, 199]
    # smplx's own joints of the truth, for a few frames of the clip
    P = np.stack([smplx_forward(model, clip[t], betas=betas)[0] for t in frames])[:, ik.load_skeleton("smplx").indices(SMPL22)]
    result = ik.fit_joints(P, "smpl22", fps=clip.fps / 60, model_path=model)  # 2 fps: frames far apart (50 iterations)
    rest_truth = smplx_forward(model, ik.Pose(np.zeros((55, 3))), betas=betas)[0]
    rest_fit = smplx_forward(model, ik.Pose(np.zeros((55, 3))), betas=result.betas)[0]
    assert np.linalg.norm(rest_fit - rest_truth, axis=-1).max() <= 1e-3
    posed = np.stack([smplx_forward(model, pose, betas=result.betas)[0] for pose in result.motion])
    assert np.linalg.norm(posed[:, ik.load_skeleton("smplx").indices(SMPL22)] - P, axis=-1).mean() <= 1e-3


def test_joint_names_as_a_mapping_with_columns(clip):
    skeleton = ik.load_skeleton("smplx")
    cmu = list(CMU_TO_SMPLX)
    P = clip.world_positions(skeleton)[:, skeleton.indices([CMU_TO_SMPLX[n] for n in cmu])]
    extra = np.zeros((FRAMES, 1, 3))  # a column the mapping does not name is ignored
    result = ik.fit_joints(np.concatenate([P, extra], axis=1), CMU_TO_SMPLX, fps=clip.fps, columns=cmu + ["Unmapped"])
    assert result.joint_names == [CMU_TO_SMPLX[n] for n in cmu]
    # Sparser than smpl22: a "bone" across an untracked joint (pelvis-spine3, spine3-head)
    # bends, so its median length is only near its rest length: millimetres, not exact.
    assert result.mpjpe <= 3e-3


@pytest.mark.parametrize("call, message", [
    (lambda P: ik.fit_joints(P[:, :21]), "21 columns but joint_names gives 22"),
    (lambda P: ik.fit_joints(np.where(np.arange(22)[None, :, None] == 5, np.nan, P)), "not finite .* frame 0, column 5"),
    (lambda P: ik.fit_joints(P[..., :2]), r"shape \(T, K, 3\)"),
    (lambda P: ik.fit_joints(P, "smpl23"), "unknown joint set 'smpl23'"),
    (lambda P: ik.fit_joints(P[:, :2], ["pelvis", "left_hand"]), "not SMPL-X joint names: \\['left_hand'\\]"),
    (lambda P: ik.fit_joints(P[:, :2], ["pelvis", "pelvis"]), "named twice"),
    (lambda P: ik.fit_joints(P, unit="inch"), "unit must be"),
    (lambda P: ik.fit_joints(P, up="x"), 'up must be "y" or "z"'),
    (lambda P: ik.fit_joints(P, smooth=-1.0), "smooth must be"),
    (lambda P: ik.fit_joints(P, fps=0), "fps must be"),
])
def test_bad_input_is_named(call, message):
    P = np.tile(ik.load_skeleton("smplx").rest_positions()[None, :22], (4, 1, 1))
    with pytest.raises(SkeletonError, match=message):
        call(P)


def test_smplx55_and_smpl24_presets(clip):
    """All 55 joints (fingers, jaw, eyes given: their parents move too), and smpl24."""
    truth = scaled(ik.load_skeleton("smplx"), seed=5)
    rotations = np.array(clip.rotations[:30])
    rotations[:, 25:55] = np.random.default_rng(5).normal(0.0, 0.2, (30, 30, 3))  # bent fingers
    rotations[:, 25:55] = np.stack([truth.clamped_rotations(r)[25:55] for r in rotations])
    P = reference_positions(truth, rotations, clip.translations[:30])
    result = ik.fit_joints(P, "smplx55", fps=clip.fps)
    assert result.mpjpe <= 1e-3 and len(result.joint_names) == 55
    hands = ik.fit_joints(P[:, truth.indices(SMPL22 + ("left_middle1", "right_middle1"))], "smpl24", fps=clip.fps)
    assert hands.mpjpe <= 1e-3 and hands.joint_names[-2:] == ["left_middle1", "right_middle1"]
