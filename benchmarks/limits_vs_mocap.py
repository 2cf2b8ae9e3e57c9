"""How often real motion falls inside the shipped SMPL-X joint limits (issue 4, item 5).

    python benchmarks/limits_vs_mocap.py tests/data/cmu/*.bvh [--out benchmarks/results]

Each CMU clip's joint rotations are transferred onto the SMPL-X skeleton (no IK, so the
limits play no part): every SMPL-X body segment follows the world frame of the CMU segment
that covers the same body part, with calibrations that express the clip's rest frames in the
SMPL-X convention:

1. swing: each segment's rest direction (toward its child) is turned onto the clip's rest
   direction of the same bone (the clip's rest pose has the arms hanging and the legs apart;
   a segment whose two rest layouts differ only by where the skeletons put their joints,
   the collar, keeps the clip's frame);
2. hinge axes (functional calibration): the elbows and knees of the clip rotate about fixed
   axes; the limb below the hinge's parent joint is turned as one piece so that the axis
   fitted to the clip (principal axis of the joint's rotation vectors) becomes the SMPL-X
   flexion axis: about the bone for the arm (a twist of the upper arm, which the forearm and
   the hand follow, so the hand keeps the clip's rest relation to the forearm), fully for the
   leg (a few degrees of tilt of the thigh, reported as "<side>_knee axis"; the foot frames
   are set by 3.);
3. feet: the foot and toe frames are set so that the feet stand flat (world up is the frame's
   +Y on average) over the frames where the clip's heel and ball rest on the ground, and point
   along the clip's foot / toe bone (the CMU foot frames are tilted);
4. pronation: the clip turns the hand about the forearm at the wrist, SMPL-X at the elbow;
   the twist of the hand about the forearm axis is moved from the wrist to the elbow;
5. regions: the two skeletons cut the spine and the neck at different places, so the rotation
   from the pelvis to the thorax and from the thorax to the head is shared out over SMPL-X's
   spine1-3 and neck / head, each component in proportion to the joints' ranges on that side
   (the clinical totals the limits were split from); the product equals the clip's exactly.

Then each joint's local rotation, in the joint's coordinates (Euler angles for the elbows),
is compared with its limits. Prints, per body joint, the share of frames inside the default
limits and the range of each coordinate, beside the share inside the swing-twist variant
(``ik.load_skeleton("smplx", limits="swing_twist")``: the shoulders and hips as swing-twist
joints with reach tables), then the anatomy poses of ``anatomy_poses`` against both. The figures measure the limits *and* this transfer, and
the clip's data: see docs/joint-limits.md for what falls short and why.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import ik_engine as ik
from ik_engine.benchmarks.anatomy_poses import rejection_table, shortest_turn
from ik_engine.joint_coordinates import AXIS_ANGLE, SWING_TWIST_KINDS, axis_angle_to_coordinates, swing_scale, twist_axis
from ik_engine.rotations import axis_angle_to_matrix, matrix_to_axis_angle

from ik_engine.skeletons.bvh import CMU_UNIT  # metres per CMU unit (1/0.45 inch)

# SMPL-X joint -> (CMU joint whose world frame it follows, CMU rest bone (from, to), SMPL-X
# rest bone end). None: no swing calibration.
_LEFT = {
    "left_hip": ("LeftHip", ("LeftHip", "LeftKnee"), "left_knee"),
    "left_knee": ("LeftKnee", ("LeftKnee", "LeftAnkle"), "left_ankle"),
    "left_ankle": ("LeftAnkle", ("LeftAnkle", "LeftToe"), "left_foot"),
    "left_foot": ("LeftToe", None, None),
    "left_collar": ("LeftCollar", None, None),
    "left_shoulder": ("LeftShoulder", ("LeftShoulder", "LeftElbow"), "left_elbow"),
    "left_elbow": ("LeftElbow", ("LeftElbow", "LeftWrist"), "left_wrist"),
    "left_wrist": ("lhand", ("lhand", "LFingers"), "left_middle1"),
}
SEGMENTS = {
    "pelvis": ("Hips", None, None),
    "spine1": ("lowerback", ("lowerback", "Chest"), "spine2"),
    "spine2": ("Chest", ("Chest", "Chest2"), "spine3"),
    "spine3": ("Chest2", ("Chest2", "Neck"), "neck"),
    "neck": ("Neck", ("Neck", "Head"), "head"),
    "head": ("Head", None, None),
}


def _mirror(name: str) -> str:
    return name.replace("left_", "right_").replace("Left", "Right").replace("lhand", "rhand").replace("LFingers", "RFingers")


for _joint, (_frame, _bone, _end) in _LEFT.items():
    SEGMENTS[_joint] = (_frame, _bone, _end)
    SEGMENTS[_mirror(_joint)] = (_mirror(_frame), None if _bone is None else tuple(map(_mirror, _bone)), None if _end is None else _mirror(_end))

# (segment, hinge joint, SMPL-X flexion axis in the T-pose, whether the segment may tilt,
# segments below the hinge that turn with it)
HINGES = (
    ("left_shoulder", "left_elbow", (0.0, -1.0, 0.0), False, ("left_wrist",)),
    ("right_shoulder", "right_elbow", (0.0, 1.0, 0.0), False, ("right_wrist",)),
    ("left_hip", "left_knee", (1.0, 0.0, 0.0), True, ()),
    ("right_hip", "right_knee", (1.0, 0.0, 0.0), True, ()),
)
BODY_JOINTS = tuple(j for j in SEGMENTS if j != "pelvis")
SPINE = ("spine1", "spine2", "spine3")
NECK = ("neck", "head")


def _twist_angle(R: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """(T,) angle of the twist of rotations R (T, 3, 3) about a unit ``axis`` (swing-twist)."""
    r = matrix_to_axis_angle(R, np)
    angle = np.linalg.norm(r, axis=-1)
    unit = r / np.maximum(angle, 1e-12)[:, None]
    return 2.0 * np.arctan2(np.sin(angle / 2) * (unit @ axis), np.cos(angle / 2))


def _frame_from(up: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """(3, 3) rotation whose columns are x = y cross z, y = ``up``, z = ``forward`` made
    perpendicular to ``up``: it maps a frame's own up (+Y) and forward (+Z) onto them."""
    y = up / np.linalg.norm(up)
    z = forward - (forward @ y) * y
    z /= np.linalg.norm(z)
    return np.stack([np.cross(y, z), y, z], axis=-1)


def stance_frames(p_world_heel: np.ndarray, p_world_ball: np.ndarray, fps: float) -> np.ndarray:
    """(T,) bool: frames where a foot stands flat: its heel (ankle) and ball (toe joint) points
    (T, 3) both at most 1.5 cm above their usual ground level (the 20th percentile of their
    heights, robust to a few tiptoe frames) and both slower than 0.3 m/s."""
    flat = np.ones(len(p_world_heel), dtype=bool)
    for p in (p_world_heel, p_world_ball):
        height = p[:, 1]
        speed = np.linalg.norm(np.gradient(p, axis=0), axis=-1) * fps
        flat &= (height <= np.percentile(height, 20) + 0.015) & (speed < 0.3)
    return flat


def split_over_region(R_total: np.ndarray, joints: tuple[str, ...], target: ik.Skeleton) -> dict[str, np.ndarray]:
    """{joint: (T, 3) axis-angle}: a region's total rotation R_total (T, 3, 3) shared out over
    its chain of joints (parent first), each component in proportion to the joints' ranges on
    that side (the clinical totals the limits were split from); the last joint takes what is
    left, so the chain's product is R_total exactly."""
    r = matrix_to_axis_angle(R_total, np)
    rows = target.indices(joints)
    upper, lower = target.upper[rows], target.lower[rows]
    share = np.where(r[:, None, :] >= 0, upper / upper.sum(axis=0), lower / lower.sum(axis=0))  # (T, k, 3)
    out, R_so_far = {}, np.eye(3)
    for k, joint in enumerate(joints[:-1]):
        R_k = axis_angle_to_matrix(share[:, k] * r, np)
        out[joint] = matrix_to_axis_angle(R_k, np)
        R_so_far = R_so_far @ R_k
    out[joints[-1]] = matrix_to_axis_angle(np.swapaxes(R_so_far, -1, -2) @ R_total, np)
    return out


def transferred_rotations(source: ik.Skeleton, motion: ik.Motion, target: ik.Skeleton) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """({SMPL-X joint: (T, 3) local axis-angle}, {calibration: angle, radians})."""
    W_world_source, p_world_source = motion.world_transforms(source)
    rest_source, rest_target = source.rest_positions(), target.rest_positions()

    def bone(skeleton_rest, names, a, b):
        return skeleton_rest[names(b)] - skeleton_rest[names(a)]

    C = {}
    for joint, (_, source_bone, end) in SEGMENTS.items():
        if source_bone is None:
            C[joint] = np.eye(3)
        else:
            C[joint] = shortest_turn(bone(rest_target, target.index, joint, end), bone(rest_source, source.index, *source_bone))
    # The collar keeps the clip's frame: its rest bone differs by joint placement only.
    for side in ("left", "right"):
        C[f"{side}_collar"] = C["spine3"]

    def world(C):
        return {j: W_world_source[:, source.index(frame)] @ C[j] for j, (frame, _, _) in SEGMENTS.items()}

    def local(W, joint):
        parent = target.joint_names[target.parents[target.index(joint)]]
        return np.swapaxes(W[parent], -1, -2) @ W[joint]

    calibration = {}
    # 2. Hinge axes: the axis fitted to the clip's elbow / knee becomes the SMPL-X flexion axis.
    for segment, hinge, flexion_axis, tilt, below in HINGES:
        r = matrix_to_axis_angle(local(world(C), hinge), np)
        bent = r[np.linalg.norm(r, axis=1) > np.radians(20)]
        axis = np.linalg.eigh(bent.T @ bent)[1][:, -1]
        flexion_axis = np.array(flexion_axis)
        axis = axis if axis @ flexion_axis >= 0 else -axis
        if tilt:
            turn = shortest_turn(flexion_axis, axis)  # turn @ flexion_axis = axis
        else:
            d = bone(rest_target, target.index, segment, hinge)
            d /= np.linalg.norm(d)
            a_perp, t_perp = axis - (axis @ d) * d, flexion_axis - (flexion_axis @ d) * d
            turn = axis_angle_to_matrix(np.arctan2(np.cross(t_perp, a_perp) @ d, t_perp @ a_perp) * d, np)
        for turned in (segment, hinge, *below):
            C[turned] = C[turned] @ turn
        calibration[f"{hinge} axis"] = float(np.arccos(np.clip(axis @ flexion_axis, -1.0, 1.0)))
    # 3. Feet and toes: flat on the ground whenever they stand on it (the clip's own foot
    # frames are tilted), pointing along the clip's foot / toe bone.
    fps = motion.fps
    for side, Side in (("left", "Left"), ("right", "Right")):
        heel, ball = (p_world_source[:, source.index(f"{Side}{j}")] for j in ("Ankle", "Toe"))
        stance = stance_frames(heel, ball, fps)
        if not stance.any():
            raise ValueError(
                f"the clip's {Side.lower()} foot never stands still on the ground (no stance frames): "
                "the flat-foot calibration needs some (a clip of walking or standing)"
            )
        for joint, frame, forward_bone in (
            (f"{side}_ankle", f"{Side}Ankle", (f"{Side}Ankle", f"{Side}Toe")),
            (f"{side}_foot", f"{Side}Toe", None),
        ):
            k = source.index(frame)
            # World up and the foot's forward direction, in the clip's foot frame.
            up = np.mean(W_world_source[stance, k, 1, :], axis=0)  # rows of R^T e_y
            if forward_bone is None:
                forward = source.rest_offsets[[c for c in range(source.num_joints) if source.parents[c] == k][0]]
            else:
                forward = bone(rest_source, source.index, *forward_bone)
            C[joint] = _frame_from(up, forward)
            calibration[f"{joint} stance frames"] = float(stance.mean())
    W = world(C)
    # 4. Pronation: the clip turns the hand at the wrist, SMPL-X at the elbow.
    for side in ("left", "right"):
        elbow, wrist = f"{side}_elbow", f"{side}_wrist"
        d = bone(rest_target, target.index, elbow, wrist)
        d /= np.linalg.norm(d)
        twist = _twist_angle(local(W, wrist), d)
        W[elbow] = W[elbow] @ axis_angle_to_matrix(twist[:, None] * d, np)
    rotations = {j: matrix_to_axis_angle(local(W, j), np) for j in BODY_JOINTS}
    # 5. Regions the two skeletons cut differently: the lumbar and thoracic spine (pelvis to
    # thorax) and the neck (thorax to head) are shared out over the SMPL-X joints.
    for parent, joints in (("pelvis", SPINE), ("spine3", NECK)):
        R_total = np.swapaxes(W[parent], -1, -2) @ W[joints[-1]]
        rotations.update(split_over_region(R_total, joints, target))
    return rotations, calibration


def inside_limits(target: ik.Skeleton, rotations: dict[str, np.ndarray]) -> dict[str, dict]:
    """Per joint: share of frames inside the limits (the box on its coordinates and, for a
    swing-twist joint, its swing ellipse or reach table), each coordinate's range (degrees), and for a joint
    whose coordinates are not axis-angle, the share inside the same figures read as a box on
    axis-angle components (``inside_as_axis_angle_box``: the form the table had before)."""
    out = {}
    for joint, r_axis_angle in rotations.items():
        j = target.index(joint)
        kind = target.coordinates[j]
        r = axis_angle_to_coordinates(r_axis_angle, kind, target.neutral(j))  # Euler or swing-twist where the limits use them
        lower, upper = target.lower[j], target.upper[j]
        inside = ((r >= lower - 1e-9) & (r <= upper + 1e-9)).all(axis=-1)
        if kind in SWING_TWIST_KINDS:
            lo, hi = np.maximum(lower, -np.pi), np.minimum(upper, np.pi)
            inside &= swing_scale(np.clip(r, lo, hi), twist_axis(kind), lo, hi, target.elliptic_swing[j], np, target.reach(j)) >= 1.0 - 1e-9
        out[joint] = {
            "inside": float(inside.mean()),
            "min_deg": np.degrees(r.min(axis=0)).round(1).tolist(),
            "max_deg": np.degrees(r.max(axis=0)).round(1).tolist(),
            "limits_deg": [np.degrees(lower).round(1).tolist(), np.degrees(upper).round(1).tolist()],
            "coordinates": kind,
        }
        if kind != AXIS_ANGLE:
            box = ((r_axis_angle >= lower - 1e-9) & (r_axis_angle <= upper + 1e-9)).all(axis=-1)
            out[joint]["inside_as_axis_angle_box"] = float(box.mean())
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("clips", nargs="+", help="CMU BVH clips (cgspeed joint names)")
    parser.add_argument("--out", default=None, help="folder for limits_vs_mocap.json/.md")
    args = parser.parse_args(argv)
    from ik_engine.benchmarks.machine import machine_info

    target = ik.load_skeleton("smplx")
    variant = ik.load_skeleton("smplx", limits="swing_twist")
    per_clip = {}
    for path in args.clips:
        source, motion = ik.load_bvh(path, scale=CMU_UNIT)
        rotations, calibration = transferred_rotations(source, motion, target)
        per_clip[Path(path).name] = {
            "frames": motion.num_frames,
            "calibration": {k: round(float(np.degrees(v)), 1) if "axis" in k else round(v, 3) for k, v in calibration.items()},
            "joints": inside_limits(target, rotations),
            "swing_twist_limits": inside_limits(variant, rotations),
        }
    names = list(per_clip)
    lines = ["| joint | coordinates | " + " | ".join(names) + " | range over all clips (deg, x/y/z) | limits (deg) "
             "| swing_twist limits: coordinates, inside | Euler figures as an axis-angle box |",
             "| --- | --- | " + " | ".join("---:" for _ in names) + " | --- | --- | --- | --- |"]
    for joint in BODY_JOINTS:
        rows = [per_clip[n]["joints"][joint] for n in names]
        other = [per_clip[n]["swing_twist_limits"][joint] for n in names]
        variant_inside = f"{other[0]['coordinates']}: " + " / ".join(f"{r['inside'] * 100:.1f} %" for r in other)
        lo = np.min([r["min_deg"] for r in rows], axis=0)
        hi = np.max([r["max_deg"] for r in rows], axis=0)
        lim = rows[0]["limits_deg"]
        ranges = " / ".join(f"{a:.0f}..{b:.0f}" for a, b in zip(lo, hi))
        limits = " / ".join(f"{a:.0f}..{b:.0f}" for a, b in zip(*lim))
        euler = "inside_as_axis_angle_box" in rows[0] and rows[0]["coordinates"] not in SWING_TWIST_KINDS
        before = " / ".join(f"{r['inside_as_axis_angle_box'] * 100:.1f} %" for r in rows) if euler else ""
        lines.append(f"| {joint} | {rows[0]['coordinates']} | " + " | ".join(f"{r['inside'] * 100:.1f} %" for r in rows)
                     + f" | {ranges} | {limits} | {variant_inside} | {before} |")
    table = "\n".join(lines)
    print(table)
    anatomy = rejection_table({"box (default)": target, "swing_twist": variant})
    print(anatomy)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        machine = machine_info()
        (out / "limits_vs_mocap.json").write_text(json.dumps({"machine": machine, "clips": per_clip}, indent=1))
        (out / "limits_vs_mocap.md").write_text(
            "# Real motion against the shipped joint limits\n\n"
            "`python benchmarks/limits_vs_mocap.py tests/data/cmu/*.bvh --out benchmarks/results`\n\n"
            "Share of frames whose transferred rotation lies inside the joint's limits, in the joint's\n"
            "coordinates (the default table: a box; beside it, the share inside the swing-twist variant\n"
            "(`ik.load_skeleton(\"smplx\", limits=\"swing_twist\")`: the shoulders and hips as swing-twist\n"
            "joints with reach tables), and for the Euler elbows the same figures read as a box on\n"
            "axis-angle components;\n"
            "see the script's docstring for the transfer and its calibrations, and\n"
            "docs/joint-limits.md for what falls short and why).\n\n" + table + "\n\n"
            "## Poses every body can take, and poses none can\n\n"
            "Built from bone directions alone (`ik_engine/benchmarks/anatomy_poses.py`): the angle by which\n"
            "each set of limits rejects each pose (0.0: admitted).\n\n" + anatomy + "\n"
        )


if __name__ == "__main__":
    main()
