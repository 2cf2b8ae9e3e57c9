"""Joint positions to SMPL-X parameters: ``fit_joints``.

Positions (T, K, 3) of named SMPL-X joints (presets in ``joint_sets``) become a ``Motion`` of
SMPL-X rotations and root translations on a body whose proportions are fitted to the data:

1. the positions are brought into the engine's frame (Y up, metres) and, with ``smooth``,
   low-pass filtered over time (a Gaussian of ``smooth`` seconds: noise off, motion kept);
2. the body: with an SMPL-X model file, the shape coefficients (betas) that best explain
   the clip's bone lengths (``body_proportions.fit_betas``); without one, the default
   skeleton with each bone scaled to the clip's median length;
3. the poses: every given joint a Position target, the joints above given joints moving
   (joints below every given joint, e.g. the wrists and feet of ``"smpl22"``, keep the rest
   pose: positions do not determine them), solved frame by frame in order, warm-started, in
   compiled chunks by ``tracking.track`` (``IKSolver.solve_clip``), within the joint limits.
   Rotations that the positions leave free (a bone's twist when the limb is straight) stay
   where the previous frame had them: the damped Levenberg-Marquardt steps never jump.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from .body_proportions import bone_scaled_skeleton, fit_betas, measured_bones
from .constraints import RestPose
from .errors import SkeletonError
from .joint_sets import smplx_joint_names
from .motion import Motion
from .pose import Pose
from .rotations import axis_angle_to_matrix, matrix_to_axis_angle
from .skeleton import Skeleton
from .skeleton_loading import load_skeleton
from .tracking import track
from ik_engine.skeletons.smplx_params import smplx_file_arrays

TORSO = ("pelvis", "left_hip", "right_hip", "spine1", "spine2", "spine3")
UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001}
# Z up (AMASS, Blender) -> Y up (SMPL-X, the engine): a quarter turn about x.
R_YUP_ZUP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
AXES = {"y": np.eye(3), "z": R_YUP_ZUP}


@dataclass
class FitResult:
    """SMPL-X parameters fitted to joint positions.

    Attributes:
        motion: (T, 55) rotations and root translations on ``skeleton``, Y up, metres.
        skeleton: the fitted body (55 SMPL-X joints).
        joint_names: the SMPL-X joint of each fitted column (K).
        errors: (T, K) distance of each fitted joint to its input position, metres.
        betas: (N,) fitted shape coefficients with a model file, else None.
        up: the input's up axis (``amass_arrays`` writes in it).
        solve_seconds, compile_seconds, interpreted_frames: as ``tracking.TrackingResult``.
    """

    motion: Motion
    skeleton: Skeleton
    joint_names: list[str]
    errors: np.ndarray = field(repr=False)
    betas: np.ndarray | None
    up: str = "y"
    gender: str = "neutral"
    solve_seconds: float = 0.0
    compile_seconds: float = 0.0
    interpreted_frames: int = 0

    @property
    def mpjpe(self) -> float:
        """Mean per-joint position error over all frames and joints, metres."""
        return float(self.errors.mean())

    @property
    def per_joint_mpjpe(self) -> dict[str, float]:
        return {n: float(e) for n, e in zip(self.joint_names, self.errors.mean(axis=0))}

    @property
    def worst_frame(self) -> int:
        return int(np.argmax(self.errors.mean(axis=1)))

    def amass_arrays(self) -> dict[str, np.ndarray]:
        """The arrays of an SMPL-X pose file (``save_poses_npz``'s keys, AMASS's among them:
        ``poses`` (T, 165) SMPL-X full pose, ``trans`` (T, 3) metres, ``betas``, ``gender``,
        ``mocap_framerate``) in the input's up axis; plus ``rest_offsets`` (55, 3): the fitted
        skeleton (the bone lengths without a model file). ``load_poses_npz`` reads the file."""
        R_up_engine = AXES[self.up].T
        rotations = self.motion.rotations.copy()
        R_root = R_up_engine @ axis_angle_to_matrix(rotations[:, 0], np)
        rotations[:, 0] = matrix_to_axis_angle(R_root, np)
        pelvis = self.skeleton.rest_offsets[0]
        trans = (pelvis + self.motion.translations) @ R_up_engine.T - pelvis
        betas = np.zeros(10) if self.betas is None else np.asarray(self.betas, dtype=np.float64)
        arrays = smplx_file_arrays(Motion(rotations, trans, self.motion.fps), betas=betas, gender=self.gender)
        arrays["rest_offsets"] = np.array(self.skeleton.rest_offsets)
        return arrays


def engine_positions(positions, up: str = "y", unit: str | float = "m") -> np.ndarray:
    """(T, K, 3) positions in the engine's frame (Y up, metres), checked."""
    try:
        P = np.asarray(positions, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SkeletonError(f"positions must be a numeric (T, K, 3) array: {exc}") from None
    if P.ndim == 2 and P.shape[-1] == 3:
        P = P[None]
    if P.ndim != 3 or P.shape[-1] != 3 or P.shape[0] < 1:
        raise SkeletonError(f"positions must have shape (T, K, 3), got {P.shape}")
    bad = np.argwhere(~np.isfinite(P))
    if len(bad):
        t, k, _ = bad[0]
        raise SkeletonError(f"positions are not finite (NaN or inf) at frame {t}, column {k} ({len(bad)} values)")
    if up not in AXES:
        raise SkeletonError(f'up must be "y" or "z", got {up!r}')
    scale = UNITS.get(unit) if isinstance(unit, str) else unit
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not np.isfinite(scale) or scale <= 0:
        raise SkeletonError(f"unit must be 'm', 'cm', 'mm' or metres per unit (a number > 0), got {unit!r}")
    return (P * float(scale)) @ AXES[up].T


def smoothed(positions: np.ndarray, fps: float, seconds: float) -> np.ndarray:
    """``positions`` (T, ...) filtered over time by a Gaussian of standard deviation
    ``seconds`` (ends mirrored, so that a clip's first and last frames are not pulled in)."""
    sigma = seconds * fps
    if sigma <= 0 or len(positions) < 3:
        return positions
    radius = int(np.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.concatenate([2 * positions[:1] - positions[radius:0:-1], positions,
                             2 * positions[-1:] - positions[-2:-radius - 2:-1]])
    if len(padded) != len(positions) + 2 * radius:  # a clip shorter than the filter: pad by repeating
        padded = np.concatenate([np.repeat(positions[:1], radius, 0), positions, np.repeat(positions[-1:], radius, 0)])
    flat = padded.reshape(len(padded), -1)
    out = np.stack([np.convolve(flat[:, i], kernel, mode="valid") for i in range(flat.shape[1])], axis=1)
    return out.reshape(positions.shape)


def fitted_body(positions: np.ndarray, names: list[str], model_path=None, gender: str = "neutral",
                num_betas: int = 10) -> tuple[Skeleton, np.ndarray | None]:
    """The skeleton (and betas, with a model file) whose bones match the lengths of
    ``positions`` (T, K, 3), column k the SMPL-X joint ``names[k]``."""
    default = load_skeleton("smplx")
    bones = measured_bones(default, names, positions)
    if model_path is None:
        return bone_scaled_skeleton(default, bones, name="smplx:fitted bones"), None
    from ik_engine.skeletons.smplx_model import load_smplx_model, smplx_module

    module = smplx_module(model_path, num_betas=num_betas, gender=gender)
    betas = fit_betas(lambda b: load_smplx_model(module, betas=b).rest_positions(), num_betas, bones)
    return load_smplx_model(module, betas=betas), betas


def moving_joints(skeleton: Skeleton, given: Sequence[str]) -> list[str]:
    """Joints strictly above a given joint (their rotations move a given joint), free ones only."""
    indices = skeleton.indices(given)
    above = {a for j in indices for a in skeleton.ancestors[j] if a != j}
    free = skeleton.free_dofs.any(axis=1)
    return [skeleton.joint_names[j] for j in sorted(above) if free[j]]


def first_frame_pose(skeleton: Skeleton, given: Sequence[str], first: np.ndarray) -> Pose:
    """The rest pose turned and moved so that the given joints of the pelvis's neighbourhood
    (the pelvis, hips and spine1, where given) best match frame 0 (a least-squares rotation,
    Kabsch): the first frame's solve then starts facing the right way."""
    torso = [k for k, n in enumerate(given) if n in TORSO]
    rest = skeleton.rest_positions()[skeleton.indices([given[k] for k in torso])] if torso else np.zeros((0, 3))
    pose = skeleton.rest_pose()
    if len(torso) < 3:
        return pose
    target = first[torso]
    a, b = rest - rest.mean(axis=0), target - target.mean(axis=0)
    U, _, Vt = np.linalg.svd(b.T @ a)
    d = np.sign(np.linalg.det(U @ Vt))
    R_world_rest = U @ np.diag([1.0, 1.0, d]) @ Vt
    root = skeleton.rest_offsets[0]
    # p = R (x - root) + root + t maps rest to target: t = mean_b - R (mean_a - root) - root
    translation = target.mean(axis=0) - R_world_rest @ (rest.mean(axis=0) - root) - root
    rotations = pose.rotations.copy()
    rotations[0] = matrix_to_axis_angle(R_world_rest, np)
    return Pose(rotations, translation)


def iterations_for(fps: float) -> int:
    """Most iterations per frame for a frame rate: 10 at 60 fps and above, more as frames
    lie further apart, at most 50. A frame stops as soon as it meets its targets (mocap at
    120 fps: about 2 iterations), so the budget costs only on hard frames, where 3 was seen
    to leave an arm stuck at a limit for the rest of a clip."""
    return int(min(50, max(10, np.ceil(600.0 / fps))))


def fit_joints(
    positions,
    joint_names: str | Sequence[str] | Mapping[str, str] = "smpl22",
    fps: float = 30.0,
    up: str = "y",
    unit: str | float = "m",
    model_path: str | os.PathLike | None = None,
    gender: str = "neutral",
    smooth: float | None = None,
    columns: Sequence[str] | None = None,
    max_iterations: int | None = None,
    twist_weight: float = 0.0,
    compilation: str = "background",
    progress: Callable[[int, int], None] | None = None,
    status: Callable[[str], None] | None = None,
) -> FitResult:
    """SMPL-X poses, root translations and body proportions that reproduce joint positions.

    Args:
        positions: (T, K, 3) joint positions (or (K, 3) for one frame).
        joint_names: the SMPL-X joint of each column: ``"smpl22"`` (HumanML3D / AMASS body
            order), ``"smpl24"``, ``"smplx55"``, a list of SMPL-X names, or a mapping
            {your name: SMPL-X name} (then ``columns`` gives your names in column order;
            unmapped columns are ignored).
        fps: frames per second.
        up: ``"y"`` (SMPL-X, HumanML3D) or ``"z"`` (AMASS, Blender).
        unit: ``"m"``, ``"cm"``, ``"mm"`` or metres per unit.
        model_path: a user's SMPL-X model file or folder: fit its betas (needs the smplx
            extra); None: the default skeleton with fitted bone lengths.
        gender: picks the model file in a folder; stored in the result.
        smooth: for noisy input, seconds of temporal smoothing (a Gaussian's standard
            deviation; 0.03-0.06 s for centimetre noise at 30-120 fps). None: none.
        max_iterations: most Levenberg-Marquardt iterations per frame (warm-started). None:
            10 at 60 fps and above, more at lower rates (``iterations_for``).
        twist_weight: > 0 adds a lowest-priority RestPose (rotations the positions leave free
            drift toward the rest pose; about half the speed). 0: they stay at the previous
            frame's.
        compilation, progress, status: as for ``tracking.track``.

    Returns:
        A FitResult (errors measured against the input positions, before smoothing).
    """
    P = engine_positions(positions, up, unit)
    try:
        fps = float(fps)
    except (TypeError, ValueError):
        raise SkeletonError(f"fps must be a number > 0, got {fps!r}") from None
    if not np.isfinite(fps) or fps <= 0:
        raise SkeletonError(f"fps must be a number > 0, got {fps!r}")
    default = load_skeleton("smplx")
    names = smplx_joint_names(joint_names, default.joint_names, columns)
    if len(names) != P.shape[1]:
        raise SkeletonError(f"positions have {P.shape[1]} columns but joint_names gives {len(names)} joints")
    used = [k for k, n in enumerate(names) if n is not None]
    given = [names[k] for k in used]
    P = P[:, used]
    if smooth is not None:
        if isinstance(smooth, bool) or not isinstance(smooth, (int, float)) or not np.isfinite(smooth) or smooth < 0:
            raise SkeletonError(f"smooth must be seconds >= 0 or None, got {smooth!r}")
        targets = smoothed(P, fps, float(smooth))
    else:
        targets = P
    if max_iterations is None:
        max_iterations = iterations_for(fps)
    skeleton, betas = fitted_body(targets, given, model_path, gender)
    tracks = {n: targets[:, k] for k, n in enumerate(given)}
    # Opt-in: twists that the positions leave free pulled toward the rest pose at the lowest
    # priority (costs about half the speed; by default they stay where the previous frame
    # had them).
    regularizers = [RestPose(weight=twist_weight)] if twist_weight else []
    result = track(skeleton, tracks, fps, joints=moving_joints(skeleton, given), effectors=given, guides=(),
                   max_iterations=max_iterations, progress=progress, compilation=compilation, status=status,
                   regularizers=regularizers, init=first_frame_pose(skeleton, given, targets[0]))
    fitted = result.motion.world_positions(skeleton)[:, skeleton.indices(given)]
    errors = np.linalg.norm(fitted - P, axis=-1)
    return FitResult(result.motion, skeleton, given, errors, betas, up, gender, result.solve_seconds,
                     result.compile_seconds, result.interpreted_frames)
