"""The engine pose that an armature's pose bones stand for, remembered between reads.

Live reads the armature's pose on every update (the warm start of its solve), and between two
updates the pose bones usually hold exactly what the add-on wrote after the last solve. Reading
them means converting every bone's ``matrix_basis`` into the engine's axis-angles and checking
it (0.17 ms on a 4-bone arm, 0.21 ms on the SMPL-X armature, Blender 4.2, 2-core VM); finding
that nothing changed takes one bulk ``foreach_get`` of the bases and a comparison of bytes
(a few microseconds).

So each armature object remembers (per ArmatureModel: another model reads the same bones
differently) the raw bases it last read or wrote and the pose they stand for: after a read,
the pose read; after a write, when the bones held the remembered bases right before it
(nothing changed them since the last read: no animation evaluated, no bone moved by hand), the
remembered pose with the written joints (and the root translation, when written) replaced by
the values written; else nothing (the next read converts the bones). A pose bone's rotation,
location or scale changed in any way changes the bytes, and the next read converts the bones
again. The remembered rotations of written joints are the engine's own (float64) values rather
than their float32 copies in the pose bones: the same rotations to about 1e-7 rad.
"""

from __future__ import annotations

import numpy as np

from .pose_bones import raw_bases

# (object pointer, model fingerprint, the bones' Connected options) -> (raw bases bytes, Pose);
# oldest dropped first. (A read refuses a moved location only on a bone that is not
# connected; the option changes only in Edit Mode, which the fingerprint need not see.)
_REMEMBERED: dict[tuple[int, bytes, bytes], tuple[bytes, object]] = {}
_SIZE = 16


def _key(obj, fingerprint: bytes) -> tuple[int, bytes, bytes]:
    bones = obj.data.bones
    connected = np.empty(len(bones), dtype=bool)
    bones.foreach_get("use_connect", connected)
    return obj.as_pointer(), fingerprint, connected.tobytes()


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


def remember_written(obj, fingerprint: bytes, raw_before: np.ndarray, joints: list[int], rotations: np.ndarray,
                     translation) -> None:
    """After a write of ``joints`` (skeleton indices) with ``rotations`` (J, 3) (and the root
    translation (3,) when not None) into bones whose bases were ``raw_before`` right before it:
    when those are the remembered bases, the remembered pose with those joints replaced stands
    for the bases now; else nothing is remembered (a bone the write did not touch may have
    changed since the pose was read)."""
    key = _key(obj, fingerprint)
    entry = _REMEMBERED.pop(key, None)
    if entry is None or entry[0] != raw_before.tobytes():
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
