"""The shipped default SMPL-X skeleton (derived from the CC0 MakeHuman rig) and its limits.

Data files (in ``data/``): ``smplx_default.json`` (written by ``scripts/derive_smplx_default.py``, not installed)
and ``smplx_joint_limits.json`` (written by ``scripts/make_joint_limits.py``, degrees, a source per
joint). See ``data/LICENSE-makehuman.md`` for the CC0 notice.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import numpy as np

from ik_engine.errors import SkeletonFileError
from ik_engine.rotations import axis_angle_to_matrix
from ik_engine.skeleton import Skeleton

SKELETON_FILE = "smplx_default.json"
LIMITS_FILE = "smplx_joint_limits.json"
# The shipped limit tables by name: "box" (the default: a box on each joint's coordinates, Euler
# angles at the elbows) and "swing_twist" (the same, but the shoulders and hips swing-twist
# joints with reach tables; docs/joint-limits.md has what each costs).
LIMITS_FILES = {"box": LIMITS_FILE, "swing_twist": "smplx_joint_limits_swing_twist.json"}


def limits_file(limits: str) -> str:
    """The shipped data file of a limit table's name, or SkeletonFileError naming the choices."""
    if limits not in LIMITS_FILES:
        raise SkeletonFileError(f"unknown SMPL-X limits {limits!r}; expected one of {', '.join(map(repr, LIMITS_FILES))}")
    return LIMITS_FILES[limits]


def read_data_file(name: str) -> dict[str, Any]:
    """Parse one of the JSON files shipped in ``ik_engine.skeletons/data``."""
    try:
        text = resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8")
        return json.loads(text)
    except (OSError, json.JSONDecodeError) as exc:
        raise SkeletonFileError(f"cannot read the shipped data file {name!r}: {exc}") from None


def joint_limits_radians(joint_names: list[str], limits: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(lower (J, 3), upper (J, 3)) in radians from the limits file's per-joint degrees."""
    table = limits.get("joints", {})
    missing = [n for n in joint_names if n not in table]
    if missing:
        raise SkeletonFileError(f"{LIMITS_FILE} has no limits for joints {missing}")
    lower = np.radians([table[n]["lower"] for n in joint_names])
    upper = np.radians([table[n]["upper"] for n in joint_names])
    return lower, upper


def joint_coordinate_kinds(joint_names: list[str], limits: dict[str, Any]) -> list[str]:
    """The kind of coordinates each joint's limits box ("axis_angle" where the file names none)."""
    table = limits.get("joints", {})
    return [table[n].get("coordinates", "axis_angle") for n in joint_names]


def joint_neutral_rotations(joint_names: list[str], limits: dict[str, Any]) -> np.ndarray | None:
    """(J, 3, 3) the swing-twist joints' neutral rotations (the centres of their limits) from
    the file's ``neutral`` axis-angles in degrees; None when no joint names one."""
    table = limits.get("joints", {})
    if not any("neutral" in table[n] for n in joint_names):
        return None
    r = np.radians([table[n].get("neutral", [0.0, 0.0, 0.0]) for n in joint_names])
    return axis_angle_to_matrix(r, np)


def joint_swing_reach(joint_names: list[str], limits: dict[str, Any]) -> np.ndarray | None:
    """(J, R) radians: the swing-twist joints' reach tables from the file's ``swing_reach``
    (R degrees at directions evenly spaced from the swing axis after the twist axis toward the
    next one; ``inf`` rows for the other joints); None when no joint has one."""
    table = limits.get("joints", {})
    tables = {n: table[n]["swing_reach"] for n in joint_names if "swing_reach" in table[n]}
    if not tables:
        return None
    counts = {len(v) for v in tables.values()}
    if len(counts) != 1:
        raise SkeletonFileError(f"{LIMITS_FILE}: every swing_reach must have the same number of directions, got {sorted(counts)}")
    count = counts.pop()
    return np.array([np.radians(tables[n]) if n in tables else np.full(count, np.inf) for n in joint_names])


@functools.lru_cache(maxsize=2)
def load_smplx_default(limits: str = "box") -> Skeleton:
    """The 55-joint SMPL-X skeleton in a T-pose (Y up, +Z forward, +X left; metres), with the
    shipped limit table ``limits`` ("box" or "swing_twist", ``LIMITS_FILES``)."""
    data = read_data_file(SKELETON_FILE)
    names = data["joint_names"]
    parents = np.array(data["parents"], dtype=np.int64)
    positions = np.array(data["rest_positions"], dtype=np.float64)
    offsets = positions - np.where(parents[:, None] >= 0, positions[np.maximum(parents, 0)], 0.0)
    name = "smplx" if limits == "box" else f"smplx ({limits} limits)"
    limits = read_data_file(limits_file(limits))
    lower, upper = joint_limits_radians(names, limits)
    return Skeleton(names, parents, offsets, lower, upper, radii=data.get("radii"), name=name,
                    coordinates=joint_coordinate_kinds(names, limits),
                    neutral_rotations=joint_neutral_rotations(names, limits), swing_reach=joint_swing_reach(names, limits))
