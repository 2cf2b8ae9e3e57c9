"""Render the README picture: the add-on's SMPL-X armature posed by the add-on, in headless Blender.

    python blender/render_pose_image.py                    # -> docs/images/blender_pose.png
    python blender/render_pose_image.py --output /tmp/pose.png --size 600

Runs Blender as a Python module (bpy 4.2): adds the SMPL-X armature with its body mesh and the
hand, foot and head targets, moves the target empties, runs the add-on's Solve operator, then
renders with the Workbench engine. Render engines do not draw armatures or empties, so the
picture adds plain meshes built from Blender's evaluated pose: an octahedron per bone (like
Blender's bone display) and a ball per target, with a line from the head to what it looks at.
The body is drawn half transparent so that the bones show through.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parent.parent
OUTPUT = REPOSITORY / "docs" / "images" / "blender_pose.png"

# Targets in SMPL-X coordinates (+Y up, +Z forward, +X the character's left), metres.
TARGETS_SMPLX = {
    "left_wrist": (0.30, 1.72, 0.28),   # reaching up and forward
    "right_wrist": (-0.28, 1.02, 0.30),  # low, in front
    "left_ankle": (0.16, 0.07, 0.08),    # standing
    "right_ankle": (-0.14, 0.30, -0.28),  # the right foot lifted behind
    "head": (1.0, 1.6, 0.8),             # looking to its left, ahead
}
STUDIO_LIGHT = "paint.sl"
# The backdrop: the shade the studio light gives the floor far away, so the horizon disappears.
BACKGROUND = (0.43, 0.43, 0.43)
COLORS = {
    "body": (0.85, 0.80, 0.74, 0.5),
    "bones": (0.10, 0.33, 0.85, 1.0),
    "reach": (0.90, 0.20, 0.15, 1.0),
    "look": (0.95, 0.70, 0.10, 1.0),
    "floor": (1.0, 1.0, 1.0, 1.0),
}


def smplx_to_world(obj, p) -> np.ndarray:
    return (np.array(obj.matrix_world) @ np.append(np.asarray(p, dtype=np.float64), 1.0))[:3]


def material(bpy, name: str, rgba) -> object:
    mat = bpy.data.materials.new(name)
    mat.diffuse_color = rgba
    if rgba[3] < 1.0:
        mat.blend_method = "BLEND"
        mat.show_transparent_back = False
    return mat


def mesh_object(bpy, name: str, vertices, faces, mat) -> object:
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([tuple(v) for v in vertices], [], [tuple(f) for f in faces])
    mesh.update()
    mesh.materials.append(mat)
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def bone_shapes(armature_object, depsgraph) -> tuple[list, list]:
    """Octahedral bones (vertices, faces) at Blender's evaluated pose, world space."""
    ev = armature_object.evaluated_get(depsgraph)
    M = np.array(ev.matrix_world)
    vertices, faces = [], []
    for pb in ev.pose.bones:
        T = M @ np.array(pb.matrix)
        length = pb.bone.length
        w = 0.1 * length
        local = np.array([[0, 0, 0], [w, 0.1 * length, w], [-w, 0.1 * length, w], [-w, 0.1 * length, -w],
                          [w, 0.1 * length, -w], [0, length, 0]], dtype=np.float64)
        # pose_bone.matrix has unit axes for unscaled bones: bone-space points map straight to world.
        base = len(vertices)
        vertices.extend((T @ np.append(p, 1.0))[:3] for p in local)
        for a, b in ((1, 2), (2, 3), (3, 4), (4, 1)):
            faces.append((base, base + b, base + a))
            faces.append((base + 5, base + a, base + b))
    return vertices, faces


def ball(center, radius, rings=12, segments=24) -> tuple[list, list]:
    vertices = [np.asarray(center) + radius * np.array([0.0, 0.0, 1.0])]
    for i in range(1, rings):
        theta = math.pi * i / rings
        for k in range(segments):
            phi = 2 * math.pi * k / segments
            vertices.append(np.asarray(center) + radius * np.array(
                [math.sin(theta) * math.cos(phi), math.sin(theta) * math.sin(phi), math.cos(theta)]))
    vertices.append(np.asarray(center) - radius * np.array([0.0, 0.0, 1.0]))
    faces = []
    for k in range(segments):
        faces.append((0, 1 + k, 1 + (k + 1) % segments))
    for i in range(rings - 2):
        for k in range(segments):
            a = 1 + i * segments + k
            b = 1 + i * segments + (k + 1) % segments
            faces.append((a, a + segments, b + segments, b))
    last = len(vertices) - 1
    for k in range(segments):
        a = 1 + (rings - 2) * segments + k
        b = 1 + (rings - 2) * segments + (k + 1) % segments
        faces.append((last, b, a))
    return vertices, faces


def rod(start, end, radius, segments=12) -> tuple[list, list]:
    start, end = np.asarray(start), np.asarray(end)
    axis = (end - start) / np.linalg.norm(end - start)
    u = np.cross(axis, [0.0, 0.0, 1.0] if abs(axis[2]) < 0.9 else [1.0, 0.0, 0.0])
    u /= np.linalg.norm(u)
    v = np.cross(axis, u)
    ring = [radius * (math.cos(2 * math.pi * k / segments) * u + math.sin(2 * math.pi * k / segments) * v)
            for k in range(segments)]
    vertices = [start + r for r in ring] + [end + r for r in ring]
    faces = [(k, (k + 1) % segments, segments + (k + 1) % segments, segments + k) for k in range(segments)]
    return vertices, faces


def look_at(camera, target) -> None:
    from mathutils import Vector

    direction = Vector(target) - camera.location
    camera.rotation_euler = direction.to_track_quat("-Z", "Y").to_euler()


def render(output: Path, size: int) -> str:
    import bpy
    import addon_utils  # ships with bpy; importable once bpy is

    sys.path.insert(0, str(REPOSITORY / "blender"))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable("ik_engine_blender", default_set=True)
    bpy.ops.ik_engine.add_smplx_armature(with_mesh=True, with_targets=True)
    armature = bpy.context.view_layer.objects.active
    armature.ik_engine.move_root = True
    for item in armature.ik_engine.constraints:
        item.target.location = smplx_to_world(armature, TARGETS_SMPLX[item.bone]).tolist()
    bpy.context.view_layer.update()
    if bpy.ops.ik_engine.solve() != {"FINISHED"}:
        raise SystemExit(f"solve failed: {armature.ik_engine.message}")
    message = armature.ik_engine.message
    bpy.context.view_layer.update()
    depsgraph = bpy.context.evaluated_depsgraph_get()

    scene = bpy.context.scene
    body = next(o for o in scene.objects if o.type == "MESH")
    body.data.materials.append(material(bpy, "body", COLORS["body"]))
    vertices, faces = bone_shapes(armature, depsgraph)
    bones = mesh_object(bpy, "bones", vertices, faces, material(bpy, "bones", COLORS["bones"]))
    bones.show_in_front = True  # drawn over the body, as Blender shows an armature "In Front"
    reach_mat, look_mat = material(bpy, "reach", COLORS["reach"]), material(bpy, "look", COLORS["look"])
    ev = armature.evaluated_get(depsgraph)
    M = np.array(ev.matrix_world)
    for item in armature.ik_engine.constraints:
        center = np.array(item.target.matrix_world.translation)
        look = item.kind == "LOOK_AT"
        v, f = ball(center, 0.035 if not look else 0.045)
        mesh_object(bpy, f"target {item.bone}", v, f, look_mat if look else reach_mat).show_in_front = True
        if look:
            head = (M @ np.append(np.array(ev.pose.bones["head"].head), 1.0))[:3]
            v, f = rod(head, center, 0.006)
            mesh_object(bpy, "gaze", v, f, look_mat).show_in_front = True
    v, f = [(-30, -30, 0), (30, -30, 0), (30, 30, 0), (-30, 30, 0)], [(0, 1, 2, 3)]
    mesh_object(bpy, "floor", v, f, material(bpy, "floor", COLORS["floor"]))

    camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    scene.collection.objects.link(camera)
    camera.location = (1.9, -3.1, 1.45)
    look_at(camera, (0.1, 0.0, 0.98))
    camera.data.lens = 55
    camera.data.clip_end = 200.0
    scene.camera = camera
    scene.render.engine = "BLENDER_WORKBENCH"
    shading = scene.display.shading
    shading.light = "STUDIO"
    shading.studio_light = STUDIO_LIGHT
    shading.color_type = "MATERIAL"
    shading.show_shadows = True
    shading.show_cavity = True
    shading.cavity_type = "WORLD"
    scene.display.render_aa = "8"
    scene.render.resolution_x = scene.render.resolution_y = size
    scene.render.film_transparent = False
    scene.world = bpy.data.worlds.new("world") if scene.world is None else scene.world
    scene.world.color = BACKGROUND
    scene.view_settings.view_transform = "Standard"
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.render.image_settings.compression = 100
    scene.render.filepath = str(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.render.render(write_still=True)
    return message


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the add-on's posed SMPL-X armature (Workbench, PNG).")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--size", type=int, default=800, help="width and height in pixels")
    args = parser.parse_args(argv)
    message = render(args.output.resolve(), args.size)
    print(f"{message}\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
