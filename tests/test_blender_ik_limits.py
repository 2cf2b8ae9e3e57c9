"""Bones' IK limits read exactly as Blender's own IK solver reads them (bpy 4.2 headless, in-process).

The truth here is Blender: each bone's rotation is recovered from the depsgraph-evaluated pose
matrices and read the way Blender's IK solver (``intern/iksolver``: ``IK_CreateSegment``,
``IK_QSegment``, ``IK_Math.h``) reads a bone's IK settings, written out below from that
description (no engine code): the free axes pick the joint (ball: swing then twist about Y;
swing only; bend about X or Z then twist; hinge); the twist is ``2 atan2(q_y, q_w)``; the swing
components ``2 asin(s_x)``, ``2 asin(s_z)`` of the swing quaternion, limited as an ellipse when X
and Z are both limited. Blender's own IK constraint on the same bones and targets is the
calibration: it must read 0.0 degrees outside too, or the reading is wrong.
"""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy", reason="Blender as a Python module (pip install bpy==4.2.0, Python 3.11)")
from mathutils import Matrix  # noqa: E402  (ships with bpy)
from scipy.spatial.transform import Rotation  # noqa: E402

from test_blender_addon import addon_module, evaluated, scene  # noqa: E402,F401  (the fixture)

MM = 1e-3
TOLERANCE = 1e-4 + 1e-6  # the solver's 0.1 mm position tolerance, plus float32 rounding
# Rounding of Blender's float32 pose matrices, degrees.
OUTSIDE_TOLERANCE_DEG = 0.01
D = np.radians

# (bone, head, tail, locks XYZ, limits per axis in degrees or None). Every lock combination
# appears: none (twice: an elliptic swing, a box swing), X, Y, Z, XY, XZ, YZ, XYZ.
ARM = [
    ("a_ball", (0, 0, 1.0), (0.3, 0, 1.0), (0, 0, 0), ((-40, 70), (-60, 30), (-50, 35))),
    ("a_bend_x", (0.3, 0, 1.0), (0.55, 0.05, 1.0), (0, 0, 1), ((-120, 10), (-80, 80), None)),
    ("a_swing", (0.55, 0.05, 1.0), (0.75, 0.05, 0.95), (0, 1, 0), ((-45, 30), None, (-60, 60))),
    ("a_bend_z", (0.75, 0.05, 0.95), (0.9, 0.1, 0.95), (1, 0, 0), (None, (-50, 50), (-90, 20))),
]
LEG = [
    ("b_fixed", (0, 0.2, 0.8), (0, 0.35, 0.8), (1, 1, 1), (None, None, None)),
    ("b_hinge_y", (0, 0.35, 0.8), (0.05, 0.6, 0.85), (1, 0, 1), (None, (-70, 70), None)),
    ("b_hinge_z", (0.05, 0.6, 0.85), (0.1, 0.85, 0.8), (1, 1, 0), (None, None, (-100, 30))),
    ("b_ball_box", (0.1, 0.85, 0.8), (0.1, 1.05, 0.7), (0, 0, 0), ((-30, 50), None, None)),
    ("b_hinge_x", (0.1, 1.05, 0.7), (0.15, 1.2, 0.7), (0, 1, 1), ((-20, 110), None, None)),
]
BONES = {spec[0]: spec for spec in ARM + LEG}
ROLLS = (25, -40, 70, 135)
MODES = ("QUATERNION", "XYZ", "AXIS_ANGLE", "ZXY")
ENDS = ("a_bend_z", "b_hinge_x")


# ------------------------------------------------------------------ Blender's reading
def elementary(axis: int, angle: float) -> np.ndarray:
    return Rotation.from_rotvec(np.eye(3)[axis] * angle).as_matrix()


def quaternion(R: np.ndarray) -> np.ndarray:
    """(w, x, y, z) with w >= 0."""
    x, y, z, w = Rotation.from_matrix(R).as_quat()
    q = np.array([w, x, y, z])
    return -q if w < 0 else q


def beyond(value: float, limits) -> float:
    """Radians by which value lies outside (lo, hi) in degrees; 0 without limits."""
    if limits is None:
        return 0.0
    lo, hi = D(limits[0]), D(limits[1])
    return max(lo - value, value - hi, 0.0)


def degrees_outside(Q: np.ndarray, locks, limits) -> float:
    """Degrees by which the bone rotation Q (rest to pose, in the bone's frame) lies outside
    the joint Blender's IK builds from these settings."""
    free = [not lock for lock in locks]
    out = [0.0]
    if sum(free) == 3 or (sum(free) == 2 and not free[1]):  # ball, or swing only (Y locked)
        q = quaternion(Q)
        tau = 2 * np.arctan2(q[2], q[0])
        out.append(abs(tau) if locks[1] else beyond(tau, limits[1]))
        w, s_x, _, s_z = quaternion(Q @ elementary(1, -tau))
        a_x, a_z = 2 * np.arcsin(s_x), 2 * np.arcsin(s_z)
        if limits[0] is not None and limits[2] is not None:
            # The ellipse in (s_x, s_z), semi-axes the sines of the half limits per quadrant.
            semi_x = np.sin(D(limits[0][1] if s_x >= 0 else -limits[0][0]) / 2)
            semi_z = np.sin(D(limits[2][1] if s_z >= 0 else -limits[2][0]) / 2)
            level = (s_x / semi_x) ** 2 + (s_z / semi_z) ** 2
            if level > 1:
                radius = np.hypot(s_x, s_z)
                out.append(2 * np.arcsin(radius) - 2 * np.arcsin(radius / np.sqrt(level)))
        else:
            out += [beyond(a_x, limits[0]), beyond(a_z, limits[2])]
    elif sum(free) == 2:  # bend about X (Z locked) or Z (X locked), then twist about Y
        bend = 0 if locks[2] else 2
        q = quaternion(Q)
        tau = 2 * np.arctan2(q[2], q[0])
        swing = quaternion(Q @ elementary(1, -tau))
        other = 2 if bend == 0 else 0
        out += [abs(2 * np.arcsin(swing[1 + other])), beyond(2 * np.arcsin(swing[1 + bend]), limits[bend]),
                beyond(tau, limits[1])]
    elif sum(free) == 1:  # a hinge
        axis = free.index(True)
        q = quaternion(Q)
        angle = 2 * np.arctan2(q[1 + axis], q[0])
        out += [Rotation.from_matrix(Q @ elementary(axis, -angle)).magnitude(), beyond(angle, limits[axis])]
    else:
        out.append(Rotation.from_matrix(Q).magnitude())
    return float(np.degrees(max(out)))


def rest_to_pose(obj, bone: str) -> np.ndarray:
    """A bone's rotation relative to its rest, in its own frame, from Blender's evaluation."""
    ev = evaluated(obj)
    pb = ev.pose.bones[bone]

    def rotation(m):
        m = np.array(m)[:3, :3]
        return m / np.linalg.norm(m, axis=0)

    R_pose, R_rest = rotation(pb.matrix), rotation(pb.bone.matrix_local)
    if pb.parent is None:
        return R_rest.T @ R_pose
    R_parent_pose, R_parent_rest = rotation(pb.parent.matrix), rotation(pb.parent.bone.matrix_local)
    return (R_parent_pose @ R_parent_rest.T @ R_rest).T @ R_pose


def worst_outside(obj) -> tuple[float, str]:
    return max((degrees_outside(rest_to_pose(obj, b), BONES[b][3], BONES[b][4]), b) for b in BONES)


# ------------------------------------------------------------------ the rig and its targets
def limited_arm(name: str):
    """The two chains, rolled rest frames, four rotation modes, a turned and scaled object."""
    armature = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, armature)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    for chain in (ARM, LEG):
        parent = None
        for i, (bone, head, tail, _, _) in enumerate(chain):
            eb = armature.edit_bones.new(bone)
            eb.head, eb.tail, eb.roll = head, tail, D(ROLLS[i % 4])
            eb.parent = parent
            parent = eb
    bpy.ops.object.mode_set(mode="OBJECT")
    obj.location = (0.4, -0.3, 0.2)
    obj.rotation_euler = (0.3, -0.2, 0.7)
    obj.scale = (1.6, 1.6, 1.6)
    for i, (bone, _, _, locks, limits) in enumerate(ARM + LEG):
        pb = obj.pose.bones[bone]
        pb.rotation_mode = MODES[i % 4]
        for a, axis in enumerate("xyz"):
            setattr(pb, f"lock_ik_{axis}", bool(locks[a]))
            if limits[a] is not None:
                setattr(pb, f"use_ik_limit_{axis}", True)
                setattr(pb, f"ik_min_{axis}", D(limits[a][0]))
                setattr(pb, f"ik_max_{axis}", D(limits[a][1]))
    bpy.context.view_layer.update()
    return obj


def random_rotation(rng, locks, limits) -> np.ndarray:
    """A bone rotation inside Blender's reading of these settings (drawn in its parameters)."""
    span = [D(lim) if lim is not None else D((-100, 100)) for lim in limits]
    free = [not lock for lock in locks]
    if sum(free) == 3 or (sum(free) == 2 and not free[1]):
        tau = 0.0 if locks[1] else rng.uniform(*span[1])
        while True:
            a_x, a_z = rng.uniform(*span[0]), rng.uniform(*span[2])
            s_x, s_z = np.sin(a_x / 2), np.sin(a_z / 2)
            if s_x**2 + s_z**2 >= 1:
                continue
            if limits[0] is not None and limits[2] is not None:
                semi_x = np.sin((span[0][1] if s_x >= 0 else -span[0][0]) / 2)
                semi_z = np.sin((span[2][1] if s_z >= 0 else -span[2][0]) / 2)
                if (s_x / semi_x) ** 2 + (s_z / semi_z) ** 2 > 1:
                    continue
            break
        w = np.sqrt(1 - s_x**2 - s_z**2)
        return Rotation.from_quat([s_x, 0, s_z, w]).as_matrix() @ elementary(1, tau)
    if sum(free) == 2:
        bend = 0 if locks[2] else 2
        return elementary(bend, rng.uniform(*span[bend])) @ elementary(1, rng.uniform(*span[1]))
    if sum(free) == 1:
        axis = free.index(True)
        return elementary(axis, rng.uniform(*span[axis]))
    return np.eye(3)


def set_rotation(obj, bone: str, R: np.ndarray) -> None:
    T = np.eye(4)
    T[:3, :3] = R
    obj.pose.bones[bone].matrix_basis = Matrix(T.tolist())


def reachable_targets(obj, rng, count: int) -> list[dict[str, np.ndarray]]:
    """World tail positions of the chain ends for random poses inside Blender's limits."""
    targets = []
    for _ in range(count):
        for bone, (_, _, _, locks, limits) in BONES.items():
            set_rotation(obj, bone, random_rotation(rng, locks, limits))
        targets.append({end: tail_world(obj, end) for end in ENDS})
        assert worst_outside(obj)[0] <= OUTSIDE_TOLERANCE_DEG  # the draw itself is inside
    for bone in BONES:
        set_rotation(obj, bone, np.eye(3))
    return targets


def tail_world(obj, bone: str) -> np.ndarray:
    ev = evaluated(obj)
    return (np.array(ev.matrix_world) @ np.append(np.array(ev.pose.bones[bone].tail), 1.0))[:3]


# ------------------------------------------------------------------ the tests
def test_blenders_own_ik_reads_0_degrees_outside_the_calibration(scene):
    """Blender's Standard IK constraint on the rig: its poses are inside by the reading above."""
    obj = limited_arm("BlenderIK")
    targets = reachable_targets(obj, np.random.default_rng(11), 12)
    empties = {}
    for end in ENDS:
        empties[end] = bpy.data.objects.new(f"target {end}", None)
        scene.collection.objects.link(empties[end])
        constraint = obj.pose.bones[end].constraints.new("IK")
        constraint.target = empties[end]
        constraint.chain_count = len(ARM) if end.startswith("a_") else len(LEG)
    worst, reach = 0.0, []
    for target in targets:
        for end in ENDS:
            empties[end].location = target[end].tolist()
        worst = max(worst, worst_outside(obj)[0])
        reach += [np.linalg.norm(tail_world(obj, end) - target[end]) for end in ENDS]
    assert worst <= OUTSIDE_TOLERANCE_DEG
    # Blender's own IK does reach these targets: the reading is checked on solved poses.
    assert np.median(reach) <= MM


def test_addon_solves_50_targets_within_0_1mm_and_0_degrees_outside_blenders_limits(scene):
    obj = limited_arm("Rig")
    targets = reachable_targets(obj, np.random.default_rng(5), 50)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="POSE")
    for end in ENDS:
        obj.data.bones.active = obj.data.bones[end]
        assert bpy.ops.ik_engine.constraint_add(kind="REACH", bone=end) == {"FINISHED"}
    for item in obj.ik_engine.constraints:
        item.point = "TAIL"
    model = addon_module("armature_skeleton").armature_model(obj)
    kinds = dict(zip(model.skeleton.joint_names, model.skeleton.coordinates))
    assert kinds["a_ball"] == kinds["a_swing"] == kinds["b_ball_box"] == "swing_twist_y"
    assert (kinds["a_bend_x"], kinds["a_bend_z"]) == ("xzy", "zxy")
    worst, reach = (0.0, ""), []
    for target in targets:
        for item in obj.ik_engine.constraints:
            item.target.location = target[item.bone].tolist()
        assert bpy.ops.ik_engine.solve() == {"FINISHED"}, obj.ik_engine.message
        worst = max(worst, worst_outside(obj))
        reach.append(max(np.linalg.norm(tail_world(obj, end) - target[end]) for end in ENDS))
    assert worst[0] <= OUTSIDE_TOLERANCE_DEG, worst
    assert max(reach) <= TOLERANCE, (np.argmax(reach), max(reach))
