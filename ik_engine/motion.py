"""Motion: an immutable clip of poses sampled at a fixed frame rate.

A clip is stored as arrays, not as a list of Pose objects, so that a whole clip goes
through forward kinematics in one batched call: ``rotations`` (T, J, 3) axis-angle per
frame and joint, in the parent's frame (as in Pose), and ``translations`` (T, 3) of the
root. Units: metres (or the unit of the file it came from), radians, frames per second.
"""

from __future__ import annotations

import os
import zipfile
from typing import Iterator, Sequence

import numpy as np

from .errors import PoseError, SkeletonFileError
from .kinematics import forward_kinematics, local_rotations
from .pose import Pose
from .skeleton import Skeleton
from .validation import finite_number


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _frames_array(value, want: str, what: str) -> np.ndarray:
    """``value`` as a read-only float64 array of shape ``want`` ("(T, 3)" or "(T, J, 3)")."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise PoseError(f"motion {what} must be numbers: {exc}") from None
    ndim = want.count(",") + 1
    if array.ndim != ndim or array.shape[-1] != 3 or (ndim == 3 and array.shape[1] < 1):
        raise PoseError(f"motion {what} must have shape {want}{' with J >= 1' if ndim == 3 else ''}, got {array.shape}")
    bad = ~np.isfinite(array)
    if bad.any():
        where = np.argwhere(bad)[0]
        raise PoseError(f"motion {what} must be finite; frame {int(where[0])} has a non-finite value at {where[1:].tolist()}")
    return _readonly(array)


class Motion:
    """An immutable clip: one pose per frame, at ``fps`` frames per second.

    Args:
        rotations: (T, J, 3) axis-angle rotation of every joint in every frame, radians,
            in the parent's frame (as ``Pose.rotations``).
        translations: (T, 3) root translation of every frame (as ``Pose.translation``);
            None means zeros.
        fps: frames per second, a finite number > 0.
        joint_names: optional J joint names, to check the clip against a skeleton; None
            checks only the joint count.

    ``len(motion)`` is T; ``motion[t]`` is frame t as a Pose (negative t counts from the
    end); ``motion[a:b]`` is a shorter Motion; iterating yields Poses.
    """

    __slots__ = ("rotations", "translations", "fps", "joint_names")

    def __init__(self, rotations, translations=None, fps: float = 30.0, joint_names: Sequence[str] | None = None) -> None:
        R = _frames_array(rotations, "(T, J, 3)", "rotations")
        T, J = R.shape[:2]
        if translations is None:
            t = _readonly(np.zeros((T, 3)))
        else:
            t = _frames_array(translations, "(T, 3)", "translations")
            if t.shape[0] != T:
                raise PoseError(f"motion has {T} frames of rotations but {t.shape[0]} translations")
        if isinstance(fps, bool):
            raise PoseError(f"motion fps must be a number, got {fps!r}")
        rate = finite_number(fps, "motion fps", PoseError, minimum=0.0, strictly_above=True, unit="frames per second")
        names = None
        if joint_names is not None:
            if isinstance(joint_names, str):
                raise PoseError("motion joint_names must be a sequence of names, not one string")
            names = tuple(joint_names)
            if len(names) != J:
                raise PoseError(f"motion has {J} joints per frame but {len(names)} joint_names")
            seen: dict[str, int] = {}
            for i, n in enumerate(names):
                if not isinstance(n, str) or not n:
                    raise PoseError(f"motion joint name at index {i} must be a non-empty string, got {n!r}")
                if n in seen:
                    raise PoseError(f"motion joint name {n!r} appears twice (indices {seen[n]} and {i})")
                seen[n] = i
        object.__setattr__(self, "rotations", R)
        object.__setattr__(self, "translations", t)
        object.__setattr__(self, "fps", rate)
        object.__setattr__(self, "joint_names", names)

    def __setattr__(self, name, value):
        raise AttributeError("Motion is immutable; build a new Motion instead")

    # Pickled (multiprocessing, Ray, a saved session) through the constructor, which checks
    # what it loads; copies are the clip itself, as for any immutable value.
    def __reduce__(self):
        return (Motion, (np.array(self.rotations), np.array(self.translations), self.fps, self.joint_names))

    def __copy__(self) -> "Motion":
        return self

    def __deepcopy__(self, memo) -> "Motion":
        return self

    @classmethod
    def from_poses(cls, poses: Sequence[Pose], fps: float = 30.0, joint_names: Sequence[str] | None = None) -> "Motion":
        """A clip from a sequence of Poses with the same joint count."""
        poses = list(poses)
        for t, p in enumerate(poses):
            if not isinstance(p, Pose):
                raise PoseError(f"frame {t} is a {type(p).__name__}, not an ik_engine.Pose")
            if p.num_joints != poses[0].num_joints:
                raise PoseError(f"frame {t} has {p.num_joints} joints but frame 0 has {poses[0].num_joints}")
        if not poses:
            if joint_names is None:
                raise PoseError("an empty clip needs joint_names to know its joint count")
            J = len(tuple(joint_names))
            return cls(np.zeros((0, J, 3)), np.zeros((0, 3)), fps, joint_names)
        return cls(
            np.stack([p.rotations for p in poses]), np.stack([p.translation for p in poses]), fps, joint_names
        )

    # ------------------------------------------------------------ sizes and frames
    @property
    def num_frames(self) -> int:
        return self.rotations.shape[0]

    @property
    def num_joints(self) -> int:
        return self.rotations.shape[1]

    @property
    def duration(self) -> float:
        """Seconds spanned by the clip: T / fps."""
        return self.num_frames / self.fps

    @property
    def times(self) -> np.ndarray:
        """(T,) time of each frame in seconds, the first at 0."""
        return np.arange(self.num_frames) / self.fps

    @property
    def poses(self) -> list[Pose]:
        """The T frames as Poses."""
        return [Pose(r, t) for r, t in zip(self.rotations, self.translations)]

    def __len__(self) -> int:
        return self.num_frames

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Motion(self.rotations[index], self.translations[index], self.fps, self.joint_names)
        if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
            T = self.num_frames
            if not -T <= index < T:
                raise IndexError(f"frame {index} is outside a clip of {T} frames")
            return Pose(self.rotations[index], self.translations[index])
        raise TypeError(f"a Motion is indexed by a frame number or a slice, got {type(index).__name__}")

    def __iter__(self) -> Iterator[Pose]:
        for t in range(self.num_frames):
            yield self[t]

    # ------------------------------------------------------------ kinematics
    def check_skeleton(self, skeleton: Skeleton) -> None:
        """Raise PoseError unless the clip's joints are the skeleton's (count, and names if known)."""
        if not isinstance(skeleton, Skeleton):
            raise PoseError(f"expected an ik_engine.Skeleton, got {type(skeleton).__name__}")
        if self.num_joints != skeleton.num_joints:
            raise PoseError(
                f"motion has {self.num_joints} joints per frame but skeleton {skeleton.name!r} has {skeleton.num_joints}"
            )
        if self.joint_names is not None:
            for i, (mine, theirs) in enumerate(zip(self.joint_names, skeleton.joint_names)):
                if mine != theirs:
                    raise PoseError(
                        f"motion joint {i} is {mine!r} but skeleton {skeleton.name!r} has {theirs!r} there"
                    )

    def world_transforms(self, skeleton: Skeleton) -> tuple[np.ndarray, np.ndarray]:
        """(R_world_joint (T, J, 3, 3), p_world_joint (T, J, 3)) of every frame, one batched FK."""
        self.check_skeleton(skeleton)
        R_parent_joint = local_rotations(self.rotations, skeleton.rest_rotations, np)
        p_world_root = skeleton.rest_offsets[0] + self.translations
        return forward_kinematics(skeleton.levels, skeleton.rest_offsets, R_parent_joint, p_world_root, np)

    def world_positions(self, skeleton: Skeleton) -> np.ndarray:
        """(T, J, 3) world position of every joint in every frame."""
        return self.world_transforms(skeleton)[1]

    # ------------------------------------------------------------ files
    def save_npz(self, path: str | os.PathLike) -> None:
        """Write the clip to ``path`` (numpy .npz; the name is used as given)."""
        arrays = {
            "rotations": np.asarray(self.rotations),
            "translations": np.asarray(self.translations),
            "fps": np.float64(self.fps),
        }
        if self.joint_names is not None:
            arrays["joint_names"] = np.array(self.joint_names, dtype=np.str_)
        try:
            with open(path, "wb") as f:  # a file object keeps numpy from appending ".npz"
                np.savez(f, **arrays)
        except OSError as exc:
            raise SkeletonFileError(f"cannot write motion file {os.fspath(path)!r}: {exc}") from None

    @classmethod
    def load_npz(cls, path: str | os.PathLike) -> "Motion":
        """Read a clip written by ``save_npz``; raises SkeletonFileError naming the file."""
        name = os.fspath(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                missing = [k for k in ("rotations", "translations", "fps") if k not in data.files]
                if missing:
                    raise SkeletonFileError(f"motion file {name!r} lacks the arrays {missing}")
                rotations = data["rotations"]
                translations = data["translations"]
                fps = data["fps"]
                names = data["joint_names"].tolist() if "joint_names" in data.files else None
        except SkeletonFileError:
            raise
        except FileNotFoundError:
            raise SkeletonFileError(f"motion file {name!r} does not exist") from None
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            raise SkeletonFileError(f"cannot read motion file {name!r}: {exc}") from None
        if fps.shape != ():
            raise SkeletonFileError(f"motion file {name!r}: fps must be one number, got shape {fps.shape}")
        try:
            return cls(rotations, translations, float(fps), names)
        except PoseError as exc:
            raise SkeletonFileError(f"motion file {name!r} is malformed: {exc}") from None

    def __repr__(self) -> str:
        return f"Motion({self.num_frames} frames, {self.num_joints} joints, {self.fps:g} fps)"
