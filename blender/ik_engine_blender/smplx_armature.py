"""An armature (and optionally the CC0 body mesh) from the engine's default SMPL-X skeleton.

The armature's data is in SMPL-X's axes (+Y up, +Z forward, +X the character's left, metres) and
the object is turned 90 degrees about X, so the character stands on Blender's ground facing -Y
(Blender's front view). Bones: one per SMPL-X joint, named like it, head at the joint, tail at
the joint the chain continues to (or a short stub for leaves), +Z axis toward the character's
front where the bone allows it (otherwise up). The mesh, when asked for, is parented with an
Armature modifier and one vertex group per joint from its skinning weights.
"""

from __future__ import annotations

import math

import numpy as np

from .dependencies import engine

# Where the chain continues from joints with several children.
CHAIN_CHILD = {
    "pelvis": "spine1",
    "spine3": "neck",
    "left_wrist": "left_middle1",
    "right_wrist": "right_middle1",
}
# Leaves (and the head) point in a fixed SMPL-X direction: (direction, length in metres).
FIXED_TAILS = {
    "head": ((0.0, 1.0, 0.0), 0.2),
    "jaw": ((0.0, -0.3, 1.0), 0.08),
    "left_eye_smplhf": ((0.0, 0.0, 1.0), 0.025),
    "right_eye_smplhf": ((0.0, 0.0, 1.0), 0.025),
    "left_foot": ((0.0, 0.0, 1.0), 0.07),
    "right_foot": ((0.0, 0.0, 1.0), 0.07),
}
# Other leaves continue their parent bone's direction at this fraction of its length.
LEAF_FRACTION = 0.8
FORWARD = np.array([0.0, 0.0, 1.0])
UP = np.array([0.0, 1.0, 0.0])


def bone_tails(skeleton) -> np.ndarray:
    """(J, 3) tail of every SMPL-X bone in the rest pose, SMPL-X axes, metres."""
    heads = skeleton.rest_positions()
    names = skeleton.joint_names
    parents = skeleton.parents
    tails = np.empty_like(heads)
    for j, name in enumerate(names):
        children = np.flatnonzero(parents == j)
        if name in FIXED_TAILS:
            direction, length = FIXED_TAILS[name]
            direction = np.asarray(direction, dtype=np.float64)
            tails[j] = heads[j] + length * direction / np.linalg.norm(direction)
        elif name in CHAIN_CHILD:
            tails[j] = heads[skeleton.index(CHAIN_CHILD[name])]
        elif len(children) == 1:
            tails[j] = heads[children[0]]
        elif len(children) > 1:
            tails[j] = heads[children].mean(axis=0)
        else:
            p = parents[j]
            tails[j] = heads[j] + LEAF_FRACTION * (heads[j] - heads[p])
    return tails


def bone_z_axis(head: np.ndarray, tail: np.ndarray) -> np.ndarray:
    """The direction a bone's +Z should take: forward, or up for bones along forward."""
    y = (tail - head) / np.linalg.norm(tail - head)
    return UP if abs(float(y @ FORWARD)) > 0.9 else FORWARD


def create_smplx_armature(context, name: str = "SMPL-X", with_mesh: bool = True, location=(0.0, 0.0, 0.0)):
    """Create, link and select the SMPL-X armature (and mesh); return the armature object."""
    import bpy
    from mathutils import Vector

    ik = engine()
    skeleton = ik.load_skeleton("smplx")
    heads = skeleton.rest_positions()
    tails = bone_tails(skeleton)
    names = skeleton.joint_names

    armature = bpy.data.armatures.new(name)
    armature.display_type = "OCTAHEDRAL"
    obj = bpy.data.objects.new(name, armature)
    obj.location = location
    obj.rotation_euler = (math.pi / 2, 0.0, 0.0)
    obj.show_in_front = True
    context.collection.objects.link(obj)
    for other in context.selected_objects:
        other.select_set(False)
    obj.select_set(True)
    context.view_layer.objects.active = obj

    previous_mode = obj.mode
    bpy.ops.object.mode_set(mode="EDIT")
    edit_bones = armature.edit_bones
    for j, bone_name in enumerate(names):
        eb = edit_bones.new(bone_name)
        eb.head = Vector(heads[j].tolist())
        eb.tail = Vector(tails[j].tolist())
        eb.align_roll(Vector(bone_z_axis(heads[j], tails[j]).tolist()))
        eb.use_deform = True
    for j, bone_name in enumerate(names):
        p = skeleton.parents[j]
        if p >= 0:
            edit_bones[bone_name].parent = edit_bones[names[p]]
            edit_bones[bone_name].use_connect = False
    bpy.ops.object.mode_set(mode=previous_mode if previous_mode != "EDIT" else "OBJECT")
    for pb in obj.pose.bones:
        pb.rotation_mode = "QUATERNION"

    if with_mesh:
        create_body_mesh(context, obj, skeleton)
    return obj


def create_body_mesh(context, armature_object, skeleton):
    """The shipped CC0 body mesh, skinned to ``armature_object`` (vertex groups + Armature modifier)."""
    import bpy

    ik = engine()
    mesh_data = ik.load_default_mesh()
    mesh_data.check_skeleton(skeleton)
    mesh = bpy.data.meshes.new(armature_object.name + " body")
    vertices = mesh_data.vertices.astype(np.float32)
    faces = mesh_data.faces.astype(np.int32)
    mesh.vertices.add(len(vertices))
    mesh.vertices.foreach_set("co", vertices.ravel())
    mesh.loops.add(faces.size)
    mesh.loops.foreach_set("vertex_index", faces.ravel())
    mesh.polygons.add(len(faces))
    mesh.polygons.foreach_set("loop_start", np.arange(0, faces.size, 3, dtype=np.int32))
    mesh.polygons.foreach_set("loop_total", np.full(len(faces), 3, dtype=np.int32))
    mesh.update()
    mesh.validate()
    mesh.shade_smooth()
    body = bpy.data.objects.new(armature_object.name + " body", mesh)
    context.collection.objects.link(body)
    body.parent = armature_object
    names = skeleton.joint_names
    groups = [body.vertex_groups.new(name=n) for n in names]
    indices, weights = mesh_data.joint_indices, mesh_data.joint_weights
    # One add() per (joint, weight value) keeps the Python calls few.
    for k in range(indices.shape[1]):
        for joint in np.unique(indices[:, k]):
            rows = np.flatnonzero((indices[:, k] == joint) & (weights[:, k] > 0))
            if not len(rows):
                continue
            w = weights[rows, k]
            for value in np.unique(w):
                group_rows = rows[w == value]
                groups[int(joint)].add(group_rows.tolist(), float(value), "ADD")
    modifier = body.modifiers.new("Armature", "ARMATURE")
    modifier.object = armature_object
    return body
