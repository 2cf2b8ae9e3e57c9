"""What the viewer opens: a body (skeleton and mesh) and clips, with one clear message per bad file.

A body is the shipped SMPL-X skeleton with its CC0 mesh, a user's SMPL-X model file (its body
shape and mesh, through the ``smplx`` extra) or a BVH file's skeleton (no mesh). A clip is a
BVH file or an ``.npz``: SMPL-X parameters as ``ik-engine track --npz`` writes them
(``ik.save_poses_npz``), or ``Motion.save_npz``'s arrays. Every failure is a ``ViewerInputError``
whose text names the file and what is wrong with it; nothing is changed by a failed open.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import IKError, SkeletonFileError
from ..mesh import Mesh, load_default_mesh
from ..motion import Motion
from ..skeleton import Skeleton
from ..skeleton_loading import load_skeleton
from ik_engine.skeletons.bvh import CMU_UNIT, load_bvh
from ik_engine.skeletons.smplx_params import load_poses_npz

SMPLX_PARAMETER_KEY = "global_orient"
AMASS_POSES_KEY = "poses"  # the same parameters as AMASS names them (ik-engine fit writes both)
MOTION_KEY = "rotations"
BVH_METRES_HEIGHT = 3.0  # a BVH skeleton taller than this many units is taken to be in CMU units


class ViewerInputError(SkeletonFileError):
    """A file the viewer cannot open; the message says which and why."""


@dataclass
class Body:
    """A skeleton to pose and, where it has one, its mesh."""

    skeleton: Skeleton
    mesh: Mesh | None
    source: str


def open_body(source: str | os.PathLike = "smplx", betas=None) -> Body:
    """The body of ``source``: ``"smplx"`` (shipped skeleton and CC0 mesh), an SMPL-X model file
    (.npz/.pkl; its mesh too) or a .bvh file (its skeleton, no mesh)."""
    name = os.fspath(source)
    if name.lower() == "smplx":
        return Body(load_skeleton("smplx"), load_default_mesh(), "smplx")
    path = Path(name)
    if path.suffix.lower() == ".bvh":
        skeleton, _ = _read_bvh(path)
        return Body(skeleton, None, name)
    if not path.exists():
        raise ViewerInputError(f"{name!r} does not exist")
    try:
        from ik_engine.skeletons.smplx_model import smplx_mesh

        skeleton = load_skeleton(path, betas=betas)
        mesh = smplx_mesh(path, betas=betas)
    except ImportError as exc:
        raise ViewerInputError(f"opening the SMPL-X model file {name!r} needs the smplx extra: {exc}") from None
    except IKError as exc:
        raise ViewerInputError(f"{name!r} is not a usable SMPL-X model file: {exc}") from None
    return Body(skeleton, mesh, name)


def _read_bvh(path: Path, scale: float | None = None) -> tuple[Skeleton, Motion]:
    """A BVH file's skeleton and motion; ``scale=None`` chooses metres or CMU units by height."""
    try:
        skeleton, motion = load_bvh(path, scale=1.0 if scale is None else scale)
        if scale is None:
            heights = skeleton.rest_positions()[:, 1]
            if heights.max() - heights.min() > BVH_METRES_HEIGHT:
                skeleton, motion = load_bvh(path, scale=CMU_UNIT)
    except IKError as exc:
        raise ViewerInputError(str(exc)) from None
    except (OSError, UnicodeError) as exc:
        raise ViewerInputError(f"cannot read the BVH file {str(path)!r}: {exc}") from None
    return skeleton, motion


def is_clip(path: str | os.PathLike) -> bool:
    """Whether a file is opened as a clip (BVH, or an .npz of poses) rather than a body."""
    path = Path(os.fspath(path))
    if path.suffix.lower() == ".bvh":
        return True
    if path.suffix.lower() != ".npz":
        return False
    try:
        with np.load(path, allow_pickle=False) as data:
            return bool({SMPLX_PARAMETER_KEY, AMASS_POSES_KEY, MOTION_KEY} & set(data.files))
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return True  # unreadable: reported as a clip that cannot be read


def open_clip(path: str | os.PathLike, skeleton: Skeleton) -> tuple[Motion, Skeleton]:
    """(clip, its skeleton): on ``skeleton`` when the file's joints cover it (its joints in
    ``skeleton``'s order), else, for a BVH, on the file's own skeleton."""
    path = Path(os.fspath(path))
    name = str(path)
    if not path.is_file():
        raise ViewerInputError(f"clip file {name!r} does not exist")
    if path.suffix.lower() == ".bvh":
        clip_skeleton, motion = _read_bvh(path)
        if all(n in clip_skeleton.joint_names for n in skeleton.joint_names):
            columns = [clip_skeleton.index(n) for n in skeleton.joint_names]
            return Motion(motion.rotations[:, columns], motion.translations, motion.fps, skeleton.joint_names), skeleton
        return motion, clip_skeleton
    if path.suffix.lower() != ".npz":
        raise ViewerInputError(f"clip file {name!r}: give a .bvh or an .npz (SMPL-X parameters or Motion.save_npz)")
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = set(data.files)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ViewerInputError(f"clip file {name!r} is not a readable .npz: {exc}") from None
    try:
        if SMPLX_PARAMETER_KEY in keys or AMASS_POSES_KEY in keys:
            if skeleton.num_joints != 55:
                raise ViewerInputError(f"clip file {name!r} holds SMPL-X parameters; open the SMPL-X body first")
            motion = load_poses_npz(path)
        elif MOTION_KEY in keys:
            motion = Motion.load_npz(path)
        else:
            raise ViewerInputError(
                f"clip file {name!r} has neither SMPL-X parameters ({SMPLX_PARAMETER_KEY!r}, ...) nor a "
                f"Motion's {MOTION_KEY!r}; its arrays are {sorted(keys)}")
        motion.check_skeleton(skeleton)
    except ViewerInputError:
        raise
    except IKError as exc:
        raise ViewerInputError(f"clip file {name!r}: {exc}") from None
    return motion, skeleton


def clip_targets(path: str | os.PathLike, frames: int) -> tuple[list[str], np.ndarray] | None:
    """(names (K,), world positions (T, K, 3)) of the targets a clip file was solved to follow
    (``ik-engine track --npz`` stores them as ``target_names`` and ``target_positions``), or
    None when the file has none or they do not cover its ``frames``."""
    path = Path(os.fspath(path))
    if path.suffix.lower() != ".npz":
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if "target_names" not in data.files or "target_positions" not in data.files:
                return None
            names, positions = [str(n) for n in data["target_names"]], np.asarray(data["target_positions"], dtype=np.float64)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    if positions.shape != (frames, len(names), 3) or not np.isfinite(positions).all():
        return None
    return names, positions
