"""Named sets of SMPL-X joints that joint-position data comes in, and reading a user's names.

Presets (the SMPL-X joint each column is):

* ``"smpl22"``: the 22 body joints in SMPL / SMPL-X order (HumanML3D's and AMASS's body
  joints: pelvis ... right_wrist);
* ``"smpl24"``: those plus SMPL's two hand joints, taken at the SMPL-X middle-finger base
  (``left_middle1``, ``right_middle1``): SMPL's hand joint lies near the knuckles;
* ``"smplx55"``: all 55 SMPL-X joints in SMPL-X order.

Or a list of SMPL-X joint names, or a mapping {user name: SMPL-X name} with the user's
names as ``joint_names`` (e.g. ``CMU_TO_SMPLX`` for CMU BVH files).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from .errors import SkeletonError
from .smplx_body import BODY_JOINTS, CMU_TO_SMPLX

SMPL22 = BODY_JOINTS
SMPL24 = SMPL22 + ("left_middle1", "right_middle1")
PRESETS = {"smpl22": SMPL22, "smpl24": SMPL24}  # "smplx55": the skeleton's own names

__all__ = ["SMPL22", "SMPL24", "PRESETS", "CMU_TO_SMPLX", "smplx_joint_names"]


def smplx_joint_names(joint_names, skeleton_names: Sequence[str], columns: Sequence[str] | None = None) -> list[str]:
    """The SMPL-X joint of each data column.

    Args:
        joint_names: a preset name (``"smpl22"``, ``"smpl24"``, ``"smplx55"``), a list of
            SMPL-X joint names (one per column), or a mapping {column name: SMPL-X name}.
        skeleton_names: the SMPL-X skeleton's joint names (for checking, and ``"smplx55"``).
        columns: with a mapping, the data's column names in order (columns the mapping
            does not name are dropped: their entry is None).

    Raises:
        SkeletonError: an unknown preset, a name that is not an SMPL-X joint, a joint twice.
    """
    if isinstance(joint_names, str):
        key = joint_names.lower()
        if key == "smplx55":
            return list(skeleton_names)
        if key not in PRESETS:
            raise SkeletonError(f"unknown joint set {joint_names!r}: use 'smpl22', 'smpl24', 'smplx55', a list of "
                                "SMPL-X joint names or a mapping {your name: SMPL-X name}")
        names = list(PRESETS[key])
    elif isinstance(joint_names, Mapping):
        if columns is None:
            names = list(joint_names.values())
        else:
            names = [joint_names.get(c) for c in columns]
    else:
        try:
            names = list(joint_names)
        except TypeError:
            raise SkeletonError(f"joint_names must be a preset name, a list or a mapping, got {type(joint_names).__name__}") from None
    known = set(skeleton_names)
    unknown = [n for n in names if n is not None and n not in known]
    if unknown:
        raise SkeletonError(f"not SMPL-X joint names: {unknown} (SMPL-X has e.g. 'pelvis', 'left_knee', 'head')")
    given = [n for n in names if n is not None]
    twice = sorted({n for n in given if given.count(n) > 1})
    if twice:
        raise SkeletonError(f"joints named twice in joint_names: {twice}")
    if not given:
        raise SkeletonError("joint_names names no SMPL-X joint")
    return names
