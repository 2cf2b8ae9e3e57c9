"""The engine pose that an armature's pose bones stand for, remembered between reads.

Live reads the armature's pose on every update (the warm start of its solve), and between two
updates the pose bones usually hold exactly what the add-on wrote after the last solve. Reading
them means converting every bone's ``matrix_basis`` into the engine's axis-angles and checking
it (0.17 ms on a 4-bone arm, 0.21 ms on the SMPL-X armature, Blender 4.2, 2-core VM); finding
that nothing changed takes one bulk ``foreach_get`` of the bases and a comparison of bytes
(a few microseconds).

So each armature object remembers (per ArmatureModel: another model reads the same bones
differently) the raw bases it last read or wrote and the pose they stand for: after a read,
the pose read; after a write, the pose read before it with the written joints (and the root
translation, when written) replaced by the values written. A pose bone changed in any way
(rotation, location, scale, its rotation mode, keyframes applied) changes the bytes, and
the next read converts the bones again. The remembered pose of written joints is the
engine's float64 value rather than its float32 copy in the pose bones (the same rotation to
about 1e-7 rad).
"""

from __future__ import annotations

import numpy as np

from .pose_bones import raw_bases

# (object pointer, its first bone's pointer, model fingerprint) -> (raw bases bytes, Pose);
# oldest dropped first. (Leaving Edit Mode makes new bones, with new pointers: a bone's
# Connected option, which the read checks, changes only there.)
_REMEMBERED: dict[tuple[int, int, bytes], tuple[bytes, object]] = {}
_SIZE = 16


def _key(obj, fingerprint: bytes) -> tuple[int, int, bytes]:
    bones = obj.data.bones
    return obj.as_pointer(), bones[0].as_pointer() if len(bones) else 0, fingerprint


def recall(obj, fingerprint: bytes, raw: np.ndarray):
    """The pose remembered for ``obj`` read with the model of ``fingerprint`` when its bases
    are still ``raw``; else None."""
    entry = _REMEMBERED.get(_key(obj, fingerprint))
    if entry is not None and entry[0] == raw.tobytes():
        return entry[1]
    return None


def remember(obj, fingerprint: bytes, raw: np.ndarray, pose) -> None:
    """``pose`` is what ``obj``'s bases ``raw`` stand for (read, or just written)."""
    key = _key(obj, fingerprint)
    _REMEMBERED.pop(key, None)
    _REMEMBERED[key] = (raw.tobytes(), pose)
    while len(_REMEMBERED) > _SIZE:
        _REMEMBERED.pop(next(iter(_REMEMBERED)))


def remember_written(obj, fingerprint: bytes, joints: list[int], rotations: np.ndarray, translation) -> None:
    """After a write of ``joints`` (skeleton indices) with ``rotations`` (J, 3) (and the root
    translation (3,) when not None): the pose remembered for ``obj`` before the write, those
    joints replaced, now stands for its bases. Nothing is remembered when no pose was."""
    key = _key(obj, fingerprint)
    entry = _REMEMBERED.get(key)
    if entry is None:
        return
    before = entry[1]
    pose_type = type(before)
    new_rotations = np.array(before.rotations)
    new_rotations[joints] = np.asarray(rotations, dtype=np.float64)[joints]
    new_translation = before.translation if translation is None else np.asarray(translation, dtype=np.float64)
    remember(obj, fingerprint, raw_bases(obj), pose_type.of_computed(new_rotations, np.array(new_translation)))


def forget() -> None:
    """Forget every armature (a file loaded, or the add-on unregistered)."""
    _REMEMBERED.clear()
