"""Pose <-> SMPL-X parameters (the arrays ``smplx.SMPLX.forward`` takes), and pose files.

The 55 joint rotations of a Pose split into smplx's blocks in joint order::

    global_orient   joint 0         (pelvis)                 (1, 3)
    body_pose       joints 1..21    (left_hip .. right_wrist) (1, 63)
    jaw_pose        joint 22                                  (1, 3)
    leye_pose       joint 23        (left_eye_smplhf)         (1, 3)
    reye_pose       joint 24        (right_eye_smplhf)        (1, 3)
    left_hand_pose  joints 25..39                             (1, 45)
    right_hand_pose joints 40..54                             (1, 45)
    transl          the Pose's translation                    (1, 3)

Hand poses are raw axis-angle rotations: feed them to a module built with ``use_pca=False``
and ``flat_hand_mean=True`` (with ``flat_hand_mean=False`` smplx adds its mean hand pose; see
``smplx_model.smplx_forward``). ``transl`` is the engine's translation as is: smplx places
the root joint at its shaped rest position plus ``transl`` and rotates the body about it, as
the engine does with ``rest_offsets[0] + translation``.

Numpy only: torch tensors are accepted (converted with ``.detach().cpu().numpy()``), never
imported.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import numpy as np

from ik_engine.errors import PoseError, SkeletonFileError
from ik_engine.motion import Motion
from ik_engine.pose import Pose

NUM_JOINTS = 55

# (key, first joint, joint count), in smplx's full_pose order.
BLOCKS: tuple[tuple[str, int, int], ...] = (
    ("global_orient", 0, 1),
    ("body_pose", 1, 21),
    ("jaw_pose", 22, 1),
    ("leye_pose", 23, 1),
    ("reye_pose", 24, 1),
    ("left_hand_pose", 25, 15),
    ("right_hand_pose", 40, 15),
)
PARAM_KEYS = tuple(k for k, _, _ in BLOCKS) + ("transl",)
# Keys a parameter dict must have; the others default to zero (smplx does the same when a
# forward argument is left out).
REQUIRED_KEYS = ("global_orient", "body_pose")
# AMASS's names for the same arrays, and where a file's frame rate may be.
AMASS_KEYS = ("poses", "trans")
RATE_KEYS = ("fps", "mocap_framerate")


def pose_to_smplx(pose: Pose) -> dict[str, np.ndarray]:
    """SMPL-X forward parameters of a 55-joint Pose, float64 numpy arrays with batch 1.

    Convert for smplx with ``{k: torch.as_tensor(v, dtype=model_dtype) for k, v in d.items()}``.
    """
    if not isinstance(pose, Pose):
        raise PoseError(f"expected an ik_engine.Pose, got {type(pose).__name__}")
    if pose.num_joints != NUM_JOINTS:
        raise PoseError(f"SMPL-X parameters need a {NUM_JOINTS}-joint pose, got {pose.num_joints} joints")
    params = {key: pose.rotations[first:first + count].reshape(1, 3 * count).copy() for key, first, count in BLOCKS}
    params["transl"] = pose.translation.reshape(1, 3).copy()
    return params


def _to_numpy(value, key: str) -> np.ndarray:
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy()
    try:
        return np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise PoseError(f"SMPL-X parameter {key!r} must be numbers: {exc}") from None


def _block(value, key: str, count: int) -> np.ndarray:
    """(count, 3) from any of (3c,), (1, 3c), (c, 3), (1, c, 3)."""
    array = _to_numpy(value, key)
    allowed = [(3 * count,), (1, 3 * count), (count, 3), (1, count, 3)]
    if array.shape not in allowed:
        if array.ndim >= 2 and array.shape[0] > 1 and array[0].size == 3 * count:
            raise PoseError(
                f"SMPL-X parameter {key!r} holds a batch of {array.shape[0]} poses (shape {array.shape}); "
                "pose_from_smplx takes one pose: pass params[k][t] for frame t"
            )
        hint = ""
        if key.endswith("hand_pose") and 0 < array.size < 45:
            hint = " (PCA hand coefficients? a Pose needs raw axis-angle hand poses, smplx's use_pca=False)"
        if key == "body_pose" and array.size in (69, 23 * 3):
            hint = " (23 body joints is SMPL, not SMPL-X)"
        raise PoseError(
            f"SMPL-X parameter {key!r} must have one of the shapes {', '.join(map(str, allowed))}, got {array.shape}{hint}"
        )
    if not np.isfinite(array).all():
        raise PoseError(f"SMPL-X parameter {key!r} must be finite, got {array.reshape(-1).tolist()}")
    return array.reshape(count, 3)


def pose_from_smplx(params: Mapping) -> Pose:
    """A 55-joint Pose from SMPL-X forward parameters (numpy arrays or torch tensors).

    Each array may be batched with batch 1 or unbatched, flat or (joints, 3):
    ``body_pose`` as (1, 63), (63,), (21, 3) or (1, 21, 3). ``global_orient`` and ``body_pose``
    are required; ``jaw_pose``, ``leye_pose``, ``reye_pose``, ``left_hand_pose``,
    ``right_hand_pose`` and ``transl`` default to zero. Other keys (``betas``, ``expression``)
    are ignored. Hand poses must be raw axis-angle (not PCA coefficients).
    """
    if not isinstance(params, Mapping):
        raise PoseError(f"SMPL-X parameters must be a dict of arrays, got {type(params).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in params or params[k] is None]
    if missing:
        raise PoseError(f"SMPL-X parameters lack {missing}; got keys {sorted(map(str, params))}")
    rotations = np.zeros((NUM_JOINTS, 3))
    for key, first, count in BLOCKS:
        if params.get(key) is not None:
            rotations[first:first + count] = _block(params[key], key, count)
    translation = _block(params["transl"], "transl", 1)[0] if params.get("transl") is not None else np.zeros(3)
    return Pose(rotations, translation)


# --------------------------------------------------------------------------- files
def _frames(poses_or_motion) -> tuple[np.ndarray, np.ndarray]:
    """(rotations (T, 55, 3), translations (T, 3)) of a Pose, Poses, or a clip object."""
    if isinstance(poses_or_motion, Pose):
        poses_or_motion = [poses_or_motion]
    elif hasattr(poses_or_motion, "rotations") and hasattr(poses_or_motion, "translations"):
        # a Motion: (T, J, 3) and (T, 3) arrays, no per-frame Pose objects
        rotations = np.asarray(poses_or_motion.rotations, dtype=np.float64)
        translations = np.asarray(poses_or_motion.translations, dtype=np.float64)
        if rotations.ndim != 3 or rotations.shape[1:] != (NUM_JOINTS, 3):
            raise PoseError(f"SMPL-X parameters need {NUM_JOINTS}-joint frames, got rotations of shape {rotations.shape}")
        if translations.shape != (rotations.shape[0], 3):
            raise PoseError(f"translations must have shape ({rotations.shape[0]}, 3), got {translations.shape}")
        if rotations.shape[0] == 0:
            raise PoseError("no poses to save")
        if not (np.isfinite(rotations).all() and np.isfinite(translations).all()):
            raise PoseError("the poses to save must be finite")
        return rotations, translations
    elif hasattr(poses_or_motion, "poses"):
        poses_or_motion = poses_or_motion.poses
    try:
        poses = list(poses_or_motion)
    except TypeError:
        raise PoseError(
            f"expected a Pose, a sequence of Poses or a result with .poses, got {type(poses_or_motion).__name__}"
        ) from None
    for t, p in enumerate(poses):
        if not isinstance(p, Pose):
            raise PoseError(f"frame {t} is a {type(p).__name__}, not an ik_engine.Pose")
        if p.num_joints != NUM_JOINTS:
            raise PoseError(f"frame {t} has {p.num_joints} joints; SMPL-X parameters need {NUM_JOINTS}")
    if not poses:
        raise PoseError("no poses to save")
    return np.stack([p.rotations for p in poses]), np.stack([p.translation for p in poses])


def smplx_file_arrays(poses_or_motion, betas=None, targets=None, gender: str = "neutral") -> dict[str, np.ndarray]:
    """The arrays ``save_poses_npz`` writes (its docstring lists them), for a caller that
    writes the file itself (e.g. atomically, or with more keys: ``FitResult.amass_arrays``)."""
    rotations, translations = _frames(poses_or_motion)
    T = rotations.shape[0]
    arrays = {key: rotations[:, first:first + count].reshape(T, 3 * count) for key, first, count in BLOCKS}
    arrays["transl"] = translations
    arrays["poses"], arrays["trans"], arrays["gender"] = rotations.reshape(T, 3 * NUM_JOINTS), translations, np.array(gender)
    fps = getattr(poses_or_motion, "fps", None)
    if isinstance(fps, (int, float, np.number)) and np.isfinite(fps):
        arrays["fps"] = arrays["mocap_framerate"] = np.float64(fps)
    if betas is not None:
        b = _to_numpy(betas, "betas")
        if b.ndim != 1 or not np.isfinite(b).all():
            raise PoseError(f"betas must be a finite 1-D vector, got shape {b.shape}")
        arrays["betas"] = b
    if targets is not None:
        names = list(targets)
        positions = np.stack([np.asarray(targets[n], dtype=np.float64) for n in names], axis=1) if names else np.zeros((T, 0, 3))
        if positions.shape != (T, len(names), 3) or not np.isfinite(positions).all():
            raise PoseError(f"targets must be finite (T, 3) = ({T}, 3) tracks; got {positions.shape} for {len(names)} names")
        arrays["target_names"] = np.array(names, dtype=str)
        arrays["target_positions"] = positions
    return arrays


def save_poses_npz(path: str | os.PathLike, poses_or_motion, betas=None, targets=None, gender: str = "neutral") -> Path:
    """Write poses as SMPL-X parameter arrays with a leading frame axis T, readable both as
    ``smplx`` forward arguments and as an AMASS-style SMPL-X file.

    Keys: ``global_orient`` (T, 3), ``body_pose`` (T, 63), ``jaw_pose``, ``leye_pose``,
    ``reye_pose`` (T, 3), ``left_hand_pose``, ``right_hand_pose`` (T, 45), ``transl`` (T, 3),
    float64; the same as AMASS names them: ``poses`` (T, 165, SMPL-X joint order), ``trans``
    (T, 3), ``gender``, and ``mocap_framerate`` and ``fps`` () when the clip has a rate;
    ``betas`` (N,) when given. Each smplx parameter array (as a torch tensor) feeds
    ``smplx.SMPLX(..., batch_size=T, use_pca=False, flat_hand_mean=True).forward`` directly.
    The file is written at ``path`` exactly (no ``.npz`` is appended); no pickles.

    Args:
        poses_or_motion: a Pose, a sequence of 55-joint Poses, or a clip with ``rotations``
            (T, 55, 3) and ``translations`` (T, 3) (a Motion) or ``.poses`` (a clip's results).
        betas: optional (N,) body shape stored alongside.
        targets: optional {name: (T, 3) world positions, metres}: what the clip was solved to
            follow (``ik-engine track`` stores its tracks), as ``target_names`` (K,) and
            ``target_positions`` (T, K, 3); the viewer draws them beside the body.
    """
    arrays = smplx_file_arrays(poses_or_motion, betas, targets, gender)
    target = Path(os.fspath(path))
    try:
        with open(target, "wb") as fp:
            np.savez(fp, **arrays)
    except OSError as exc:
        raise SkeletonFileError(f"cannot write the pose file {str(target)!r}: {exc}") from None
    return target


def load_poses_npz(path: str | os.PathLike) -> Motion:
    """The clip (a Motion on the SMPL-X joints) of a file written by :func:`save_poses_npz`, or
    of any .npz with its smplx keys (``global_orient``, ``body_pose``, ...; the other blocks
    default to zero) or with AMASS's (``poses`` (T, 165), ``trans``). Its rate is ``fps`` or
    ``mocap_framerate`` (30 when neither is there); ``betas`` and ``gender`` are left in the
    file (read them with ``np.load``).
    Raises SkeletonFileError naming the file when it is missing, unreadable or malformed.
    """
    target = Path(os.fspath(path))
    where = f"pose file {str(target)!r}"
    if not target.is_file():
        raise SkeletonFileError(f"{where} does not exist")
    try:
        with np.load(target, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files if k in PARAM_KEYS + AMASS_KEYS + RATE_KEYS}
    except (OSError, ValueError, EOFError) as exc:
        raise SkeletonFileError(f"{where} is not a readable .npz of numeric arrays: {exc}") from None
    fps = next((float(arrays[k]) for k in RATE_KEYS if k in arrays and arrays[k].shape == () and np.isfinite(arrays[k])), 30.0)
    if "global_orient" not in arrays and "poses" in arrays:
        return _amass_motion(arrays, where, fps)
    missing = [k for k in REQUIRED_KEYS if k not in arrays]
    if missing:
        raise SkeletonFileError(f"{where} lacks the arrays {missing} (or AMASS's 'poses')")
    arrays = {k: a for k, a in arrays.items() if k in PARAM_KEYS}
    counts = {k: (a.shape[0] if a.ndim >= 1 else None) for k, a in arrays.items()}
    T = counts["global_orient"]
    wrong = {k: arrays[k].shape for k, n in counts.items() if n != T or T is None}
    if wrong:
        raise SkeletonFileError(
            f"{where}: every array needs the same leading frame count as global_orient "
            f"{arrays['global_orient'].shape}; got {wrong}"
        )
    poses = []
    for t in range(T):
        try:
            poses.append(pose_from_smplx({k: a[t] for k, a in arrays.items()}))
        except PoseError as exc:
            raise SkeletonFileError(f"{where}, frame {t}: {exc}") from None
    return Motion.from_poses(poses, fps=fps, joint_names=_joint_names())


def _amass_motion(arrays: dict, where: str, fps: float) -> Motion:
    poses = np.asarray(arrays["poses"], dtype=np.float64)
    if poses.ndim != 2 or poses.shape[1] != 3 * NUM_JOINTS or poses.shape[0] == 0:
        raise SkeletonFileError(f"{where}: AMASS 'poses' must be (T, {3 * NUM_JOINTS}) SMPL-X parameters, got {poses.shape}")
    T = poses.shape[0]
    trans = np.asarray(arrays.get("trans", np.zeros((T, 3))), dtype=np.float64)
    if trans.shape != (T, 3):
        raise SkeletonFileError(f"{where}: 'trans' must be ({T}, 3), got {trans.shape}")
    if not (np.isfinite(poses).all() and np.isfinite(trans).all()):
        raise SkeletonFileError(f"{where}: the poses must be finite")
    return Motion(poses.reshape(T, NUM_JOINTS, 3), trans, fps, _joint_names())


def _joint_names() -> list[str]:
    from .smplx_default import load_smplx_default

    return load_smplx_default().joint_names
