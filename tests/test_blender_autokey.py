"""README, Blender add-on: "Solve Current Frame (undoable; keys the pose when auto-keying is
on)". In real Blender (bpy 4.2, Python 3.11 only): the keys are where Blender's own animation
system puts them, and evaluating them brings the solved pose back."""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy", reason="Blender as a Python module (pip install bpy==4.2.0, Python 3.11)")

from test_blender_addon import TOLERANCE, chain_armature, location, pose_state, scene, world_point  # noqa: E402, F401

ANY_POSE_CHANNEL = ("rotation_quaternion", "rotation_euler", "rotation_axis_angle", "location")


def keyed_frames(obj) -> set[float]:
    if obj.animation_data is None or obj.animation_data.action is None:
        return set()
    return {point.co[0] for curve in obj.animation_data.action.fcurves for point in curve.keyframe_points}


def test_solve_keys_the_pose_only_when_auto_keying_is_on(scene):
    obj, reach = chain_armature()
    root, tip = world_point(obj, "a"), world_point(obj, "c", "tail")
    length = np.linalg.norm(tip - root)
    direction = np.array([0.3, 0.5, 0.8]) / np.linalg.norm([0.3, 0.5, 0.8])

    # Auto-keying off: the pose changes, nothing is keyed.
    scene.tool_settings.use_keyframe_insert_auto = False
    scene.frame_set(1)
    reach.target.location = (root + 0.7 * length * direction).tolist()
    assert bpy.ops.ik_engine.solve() == {"FINISHED"}, obj.ik_engine.message
    assert np.linalg.norm(world_point(obj, "c", "tail") - location(reach.target)) <= TOLERANCE
    assert keyed_frames(obj) == set()

    # Auto-keying on, at frame 7: the solved bones are keyed there, and only there.
    scene.tool_settings.use_keyframe_insert_auto = True
    scene.frame_set(7)
    reach.target.location = (root + 0.5 * length * direction[[2, 0, 1]]).tolist()
    assert bpy.ops.ik_engine.solve() == {"FINISHED"}, obj.ik_engine.message
    target = location(reach.target)
    assert np.linalg.norm(world_point(obj, "c", "tail") - target) <= TOLERANCE
    solved = pose_state(obj)
    assert keyed_frames(obj) == {7.0}
    paths = {curve.data_path for curve in obj.animation_data.action.fcurves}
    for bone in ("a", "b", "c"):
        assert any(path.startswith(f'pose.bones["{bone}"].') and path.endswith(ANY_POSE_CHANNEL) for path in paths), (bone, paths)

    # Blender evaluates the keys: a pose reset by hand comes back, on its target, at frame 7.
    for pose_bone in obj.pose.bones:
        pose_bone.matrix_basis.identity()
    bpy.context.view_layer.update()
    assert np.linalg.norm(world_point(obj, "c", "tail") - target) > 0.01
    scene.frame_set(1)
    scene.frame_set(7)
    np.testing.assert_allclose(pose_state(obj), solved, atol=1e-6)
    assert np.linalg.norm(world_point(obj, "c", "tail") - target) <= TOLERANCE
