"""The add-on's pose reads and writes (blender/ik_engine_blender/pose_bones.py, pose_memory.py)
in real Blender (bpy 4.2, Python 3.11 only): writes in every rotation mode give the rotation
Blender then computes (its own ``matrix_basis``, against scipy), continuous with the bone's
previous value; a read of bones the add-on just wrote returns the rotations a fresh conversion
of the bones returns, and anything changed on the bones, before or after the write, is read
again."""

from __future__ import annotations

import sys

import numpy as np
import pytest

bpy = pytest.importorskip("bpy", reason="Blender as a Python module (pip install bpy==4.2.0, Python 3.11)")
from scipy.spatial.transform import Rotation  # noqa: E402

from test_blender_addon import TOLERANCE, addon_module, chain_armature, new_armature, scene, world_point  # noqa: E402, F401

MODES = ("QUATERNION", "XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX", "AXIS_ANGLE")
# Eight bones in a chain, one per rotation mode.
BONES = [(f"b{i}", (0.2 * i, 0.0, 0.0), (0.2 * i + 0.2, 0.0, 0.0)) for i in range(len(MODES))]


def mode_armature(name: str = "Modes"):
    obj = new_armature(name, {"b0": BONES})
    for i, mode in enumerate(MODES):
        obj.pose.bones[f"b{i}"].rotation_mode = mode
    return obj


def basis_rotations(obj) -> np.ndarray:
    """(8, 3, 3) each bone's ``matrix_basis`` rotation as Blender computes it from its values."""
    return np.array([np.array(obj.pose.bones[f"b{i}"].matrix_basis)[:3, :3] for i in range(len(MODES))])


def angle_between(R_a: np.ndarray, R_b: np.ndarray) -> np.ndarray:
    return np.linalg.norm(Rotation.from_matrix(np.swapaxes(R_a, -1, -2) @ R_b).as_rotvec(), axis=-1)


def wound_up_values(obj, rotations: np.ndarray) -> None:
    """Set each bone to ``rotations`` (8, 3) axis-angles through values far from the canonical
    ones: Euler angles a full turn away, quaternions on the other hemisphere (axis-angles as
    they are: Blender's own conversion keeps their angle within [0, pi])."""
    for i, mode in enumerate(MODES):
        pb = obj.pose.bones[f"b{i}"]
        R = Rotation.from_rotvec(rotations[i])
        if mode == "QUATERNION":
            x, y, z, w = R.as_quat()
            pb.rotation_quaternion = (-w, -x, -y, -z)
        elif mode == "AXIS_ANGLE":
            angle = np.linalg.norm(rotations[i])
            pb.rotation_axis_angle = (angle, *(rotations[i] / angle))
        else:
            # Blender's order XZY: about X first, then Z, then Y, all about fixed axes (scipy's
            # extrinsic "xzy"); scipy gives the angles in that sequence, Blender keeps x, y, z.
            angles = dict(zip(mode, R.as_euler(mode.lower())))
            pb.rotation_euler = [angles[axis] + 2 * np.pi for axis in "XYZ"]


def test_bone_quaternions_are_the_conjugated_joint_rotations(scene):
    """Q = C exp(r) C^T as unit quaternions, against scipy's matrices: zero, tiny and near-pi
    angles, identity and random joint frames."""
    armature_frames = addon_module("armature_frames")
    rng = np.random.default_rng(11)
    directions = rng.normal(size=(8, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    angles = np.array([0.0, 1e-9, 1e-5, 1e-4, 0.3, 1.5, np.pi - 1e-6, np.pi])
    r = directions * angles[:, None]
    for C in (np.tile(np.eye(3), (8, 1, 1)), Rotation.random(8, random_state=12).as_matrix()):
        x, y, z, w = Rotation.from_matrix(C).as_quat().T
        q = armature_frames.bone_quaternions(np.stack([w, x, y, z], axis=-1), r)
        np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-12)
        expected = C @ Rotation.from_rotvec(r).as_matrix() @ np.swapaxes(C, -1, -2)
        got = Rotation.from_quat(np.concatenate([q[:, 1:], q[:, :1]], axis=1)).as_matrix()
        np.testing.assert_allclose(got, expected, atol=1e-12)


def test_writes_give_the_rotation_in_every_mode_continuous_with_the_previous_value(scene):
    obj = mode_armature()
    armature_skeleton = addon_module("armature_skeleton")
    model = armature_skeleton.armature_model(obj)
    joints = [model.skeleton.index(f"b{i}") for i in range(len(MODES))]
    np.testing.assert_allclose(model.R_bone_joint[joints], np.tile(np.eye(3), (len(MODES), 1, 1)), atol=1e-6)
    rng = np.random.default_rng(3)
    before = rng.normal(size=(len(MODES), 3)) * 0.6
    wound_up_values(obj, before)
    np.testing.assert_array_less(angle_between(basis_rotations(obj), Rotation.from_rotvec(before).as_matrix()), 1e-5)
    previous = {
        "QUATERNION": np.array(obj.pose.bones["b0"].rotation_quaternion),
        "AXIS_ANGLE": np.array(obj.pose.bones["b7"].rotation_axis_angle),
        **{mode: np.array(obj.pose.bones[f"b{i}"].rotation_euler) for i, mode in enumerate(MODES) if mode not in ("QUATERNION", "AXIS_ANGLE")},
    }

    after = before + rng.normal(size=before.shape) * 0.3  # a step as a solve makes
    bpy.context.view_layer.update()  # the values above evaluated: nothing left tagged
    rotations = np.zeros((model.skeleton.num_joints, 3))
    rotations[joints] = after
    written = model.write_pose(obj, addon_module("dependencies").engine().Pose(rotations, np.zeros(3)), joints)
    assert written == [f"b{i}" for i in range(len(MODES))]
    # Blender's own matrices from the written values: the rotations asked for.
    np.testing.assert_array_less(angle_between(basis_rotations(obj), Rotation.from_rotvec(after).as_matrix()), 2e-6)
    # Continuous: the same hemisphere, Euler angles near the previous (wound-up) ones.
    assert np.dot(np.array(obj.pose.bones["b0"].rotation_quaternion), previous["QUATERNION"]) > 0
    aa = np.array(obj.pose.bones["b7"].rotation_axis_angle)
    assert np.abs(aa[0] * aa[1:] - previous["AXIS_ANGLE"][0] * previous["AXIS_ANGLE"][1:]).max() < 1.5
    for i, mode in enumerate(MODES[1:7], start=1):
        step = np.array(obj.pose.bones[f"b{i}"].rotation_euler) - previous[mode]
        assert np.abs(step).max() < 1.5, (mode, step)
    # The depsgraph sees the writes (the quaternion one in bulk): the evaluated pose is the new one.
    bpy.context.view_layer.update()
    ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    R_evaluated = np.array([np.array(ev.pose.bones[f"b{i}"].matrix_basis)[:3, :3] for i in range(len(MODES))])
    np.testing.assert_array_less(angle_between(R_evaluated, Rotation.from_rotvec(after).as_matrix()), 2e-6)
    head = np.array(ev.pose.bones["b7"].head)  # posed head of the last bone: moved by the new pose
    R_chain = np.eye(3)
    expected = np.zeros(3)
    for i in range(len(MODES) - 1):
        R_chain = R_chain @ Rotation.from_rotvec(after[i]).as_matrix()  # rest frames share one roll
        expected = expected + R_chain @ np.array([0.0, 0.2, 0.0])  # +Y runs along the bone
    R_rest = np.array(obj.data.bones["b0"].matrix_local)[:3, :3]
    np.testing.assert_allclose(head, R_rest @ expected, atol=1e-5)


def test_a_read_after_a_write_is_a_fresh_read_and_later_changes_are_read(scene):
    obj = mode_armature()
    armature_skeleton, pose_memory = addon_module("armature_skeleton"), addon_module("pose_memory")
    ik = addon_module("dependencies").engine()
    model = armature_skeleton.armature_model(obj)
    rng = np.random.default_rng(5)
    wound_up_values(obj, rng.normal(size=(len(MODES), 3)) * 0.5)
    first = model.read_pose(obj)
    rotations = np.array(first.rotations)
    moved = [model.skeleton.index(f"b{i}") for i in (1, 4, 7)]  # some bones only, as a solve of a short chain
    rotations[moved] += rng.normal(size=(3, 3)) * 0.2
    model.write_pose(obj, ik.Pose(rotations, np.zeros(3)), moved)

    remembered = model.read_pose(obj)
    pose_memory.forget()
    fresh = model.read_pose(obj)
    R_remembered = Rotation.from_rotvec(np.array(remembered.rotations)).as_matrix()
    R_fresh = Rotation.from_rotvec(np.array(fresh.rotations)).as_matrix()
    np.testing.assert_array_less(angle_between(R_remembered, R_fresh), 1e-6)
    np.testing.assert_array_less(angle_between(R_fresh[moved], Rotation.from_rotvec(rotations[moved]).as_matrix()), 2e-6)

    # A bone turned by hand after the write: read again, as Blender computes it.
    obj.pose.bones["b2"].rotation_euler[0] += 0.3
    turned = model.read_pose(obj)
    j = model.skeleton.index("b2")
    R_blender = np.array(obj.pose.bones["b2"].matrix_basis)[:3, :3]
    assert angle_between(Rotation.from_rotvec(np.array(turned.rotations[j])).as_matrix(), R_blender) < 1e-5
    assert angle_between(R_blender, R_fresh[j]) > 0.1

    # A bone scaled after a write is refused on the next read, not hidden by the memory.
    model.write_pose(obj, ik.Pose(rotations, np.zeros(3)), moved)
    model.read_pose(obj)
    obj.pose.bones["b3"].scale = (1.0, 1.5, 1.0)
    with pytest.raises(addon_module("errors").AddonError, match="b3.*scaled"):
        model.read_pose(obj)


def test_a_write_after_an_unread_change_leaves_no_stale_pose(scene):
    """Bones changed after the last read (by hand, or by animation as Bake's frame changes do)
    and not written: the next read has them as they are, root location included."""
    obj = mode_armature()
    armature_skeleton, pose_memory = addon_module("armature_skeleton"), addon_module("pose_memory")
    ik = addon_module("dependencies").engine()
    model = armature_skeleton.armature_model(obj)
    first = model.read_pose(obj)
    obj.pose.bones["b2"].rotation_euler[0] += 0.4  # by hand, not read
    obj.pose.bones["b0"].location = (0.1, -0.2, 0.3)  # the root bone moved by its location
    rotations = np.array(first.rotations)
    written = [model.skeleton.index(b) for b in ("b4", "b7")]
    rotations[written] = [(0.2, 0.1, 0.0), (0.0, -0.3, 0.1)]
    model.write_pose(obj, ik.Pose(rotations, np.zeros(3)), written)  # neither b2 nor the root
    after = model.read_pose(obj)
    pose_memory.forget()
    fresh = model.read_pose(obj)
    np.testing.assert_array_less(angle_between(Rotation.from_rotvec(np.array(after.rotations)).as_matrix(),
                                               Rotation.from_rotvec(np.array(fresh.rotations)).as_matrix()), 1e-6)
    np.testing.assert_allclose(after.translation, fresh.translation, atol=1e-6)
    assert np.linalg.norm(fresh.translation) > 0.3
    R_blender = np.array(obj.pose.bones["b2"].matrix_basis)[:3, :3]
    assert angle_between(Rotation.from_rotvec(np.array(after.rotations[model.skeleton.index("b2")])).as_matrix(), R_blender) < 1e-5


def test_a_solve_after_a_bake_of_an_animated_root_reaches_its_target(scene):
    """Bake steps through frames (the animation moves the root bone) and writes only the chain:
    the Solve after it starts from the bones as they are and reaches, as Blender evaluates it."""
    obj, reach = chain_armature()
    target = bpy.data.objects.new("Target", None)
    scene.collection.objects.link(target)
    reach.target = target
    root = obj.pose.bones["a"]
    for frame, x in ((1, 0.0), (3, 0.2)):
        root.location = (x, 0.0, 0.0)
        root.keyframe_insert("location", frame=frame)
    scene.frame_set(3)
    target.location = (world_point(obj, "c", "head") + np.array([0.0, 0.1, 0.0])).tolist()
    bpy.context.view_layer.objects.active = obj
    assert bpy.ops.ik_engine.bake(frame_start=1, frame_end=3) == {"FINISHED"}, obj.ik_engine.message
    target.location = (np.array(target.location) + np.array([0.0, 0.0, 0.1])).tolist()
    bpy.context.view_layer.update()
    assert bpy.ops.ik_engine.solve() == {"FINISHED"}, obj.ik_engine.message
    assert np.linalg.norm(world_point(obj, "c", "tail") - np.array(target.matrix_world.translation)) <= TOLERANCE


def test_two_armatures_of_the_same_model_keep_their_own_poses(scene):
    a, b = mode_armature("A"), mode_armature("B")
    armature_skeleton = addon_module("armature_skeleton")
    ik = addon_module("dependencies").engine()
    model = armature_skeleton.armature_model(a)
    assert armature_skeleton.armature_model(b) is model
    model.read_pose(a), model.read_pose(b)
    pose_memory, pose_bones = addon_module("pose_memory"), addon_module("pose_bones")
    # Each object its own entry: reading one keeps the other's.
    assert pose_memory.recall(a, model.fingerprint, pose_bones.raw_bases(a)) is not None
    assert pose_memory.recall(b, model.fingerprint, pose_bones.raw_bases(b)) is not None
    rotations = np.zeros((model.skeleton.num_joints, 3))
    rotations[model.skeleton.index("b5")] = (0.0, 0.7, 0.0)
    model.write_pose(a, ik.Pose(rotations, np.zeros(3)), [model.skeleton.index("b5")])
    np.testing.assert_allclose(model.read_pose(b).rotations, 0.0, atol=1e-7)
    np.testing.assert_allclose(model.read_pose(a).rotations[model.skeleton.index("b5")], (0.0, 0.7, 0.0), atol=1e-6)



def test_forgetting_the_solvers_forgets_models_and_poses(scene):
    """Unregister's clean-up (``solving.forget_solvers``): the next read builds the model again
    (quick key and full key both forgotten) and converts the bones again."""
    obj = mode_armature()
    armature_skeleton, pose_memory, pose_bones = (addon_module(n) for n in ("armature_skeleton", "pose_memory", "pose_bones"))
    model = armature_skeleton.armature_model(obj)
    model.read_pose(obj)
    assert armature_skeleton.armature_model(obj) is model
    assert pose_memory.recall(obj, model.fingerprint, pose_bones.raw_bases(obj)) is not None
    addon_module("solving").forget_solvers()
    assert pose_memory.recall(obj, model.fingerprint, pose_bones.raw_bases(obj)) is None
    rebuilt = armature_skeleton.armature_model(obj)
    assert rebuilt is not model and rebuilt.fingerprint == model.fingerprint


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
