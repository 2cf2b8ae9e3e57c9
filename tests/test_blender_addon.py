"""The Blender add-on (blender/ik_engine_blender) against real Blender: bpy 4.2 headless, in-process.

Every check of a pose reads Blender's own evaluation (the depsgraph-evaluated armature's pose
bone matrices and world matrix), never the engine's FK; limits are checked on rotations recovered
from those matrices with scipy. Each test starts from Blender's factory settings with the add-on
enabled. Constraint structures are shared between tests where possible: each new one compiles.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy", reason="Blender as a Python module (pip install bpy==4.2.0, Python 3.11)")
import addon_utils  # noqa: E402  (ships with bpy)
from scipy.spatial.transform import Rotation  # noqa: E402

import ik_engine as ik  # noqa: E402

REPOSITORY = Path(__file__).resolve().parent.parent
ADDON = "ik_engine_blender"
BVH_FILE = REPOSITORY / "tests" / "data" / "cmu" / "131_01.bvh"
# CMU BVH units (inches / 0.45) to metres.
BVH_SCALE = 0.056444
MM = 1e-3
# A met target: within the solver's 0.1 mm position tolerance (README: "ends within 0.1 mm of
# the targets as Blender evaluates them"), plus 1 micrometre for float32 rounding.
TOLERANCE = 1e-4 + 1e-6
# Rounding of float32 pose matrices when a rotation is recovered from them (radians).
ANGLE_TOLERANCE = 2e-4
REACH_BONES = ("left_wrist", "right_wrist", "left_ankle", "right_ankle")

if str(REPOSITORY / "blender") not in sys.path:
    sys.path.insert(0, str(REPOSITORY / "blender"))


def addon_module(name: str = ""):
    return sys.modules[ADDON + ("." + name if name else "")]


@pytest.fixture
def scene():
    """A fresh empty scene with the add-on enabled (factory settings disable add-ons)."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable(ADDON, default_set=True)
    assert ADDON in bpy.context.preferences.addons
    yield bpy.context.scene
    addon_utils.disable(ADDON, default_set=True)


# ------------------------------------------------------------------ Blender's own evaluation
def evaluated(obj):
    bpy.context.view_layer.update()
    return obj.evaluated_get(bpy.context.evaluated_depsgraph_get())


def world_bone(obj, bone: str) -> tuple[np.ndarray, np.ndarray]:
    """(R_world_bone (3, 3) unit axes, head (3,)) of a pose bone as Blender evaluates it."""
    ev = evaluated(obj)
    T = np.array(ev.matrix_world) @ np.array(ev.pose.bones[bone].matrix)
    return T[:3, :3] / np.linalg.norm(T[:3, :3], axis=0), T[:3, 3]


def world_point(obj, bone: str, point: str = "head") -> np.ndarray:
    ev = evaluated(obj)
    p = np.array(getattr(ev.pose.bones[bone], point))
    return (np.array(ev.matrix_world) @ np.append(p, 1.0))[:3]


def location(target) -> np.ndarray:
    bpy.context.view_layer.update()
    return np.array(target.matrix_world.translation)


def pose_state(obj) -> np.ndarray:
    flat = np.empty(16 * len(obj.pose.bones), dtype=np.float32)
    obj.pose.bones.foreach_get("matrix_basis", flat)
    return flat


def smplx_local_rotations(obj, names) -> np.ndarray:
    """(len(names), 3) SMPL-X axis-angles recovered from Blender's evaluated pose bones.

    The add-on's SMPL-X armature has the SMPL-X axes as armature axes, so a joint's posed SMPL-X
    frame in armature space is ``pose_bone.matrix @ bone.matrix_local^-1`` (rotation parts).
    """
    ev = evaluated(obj)

    def frame(name):
        pb = ev.pose.bones[name]
        return np.array(pb.matrix)[:3, :3] @ np.array(pb.bone.matrix_local)[:3, :3].T

    out = []
    for name in names:
        parent = ev.pose.bones[name].parent
        R_parent = frame(parent.name) if parent is not None else np.eye(3)
        out.append(Rotation.from_matrix(R_parent.T @ frame(name)).as_rotvec())
    return np.array(out)


def new_armature(name: str, chains: dict[str, list[tuple[str, tuple, tuple]]]):
    """A user-made armature: ``chains`` maps a root to [(bone, head, tail), ...] parented in order."""
    armature = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, armature)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    for chain in chains.values():
        parent = None
        for bone, head, tail in chain:
            eb = armature.edit_bones.new(bone)
            eb.head, eb.tail = head, tail
            eb.roll = 0.4  # rest frames that are not aligned with the armature
            eb.parent = parent
            parent = eb
    bpy.ops.object.mode_set(mode="OBJECT")
    return obj


def add_smplx(with_targets=True, with_mesh=False):
    assert bpy.ops.ik_engine.add_smplx_armature(with_mesh=with_mesh, with_targets=with_targets) == {"FINISHED"}
    obj = bpy.context.view_layer.objects.active
    assert obj.type == "ARMATURE"
    return obj


# A straight chain along the armature's +x, 0.9 units long.
CHAIN = [("a", (0, 0, 0), (0.3, 0, 0)), ("b", (0.3, 0, 0), (0.6, 0, 0)), ("c", (0.6, 0, 0), (0.9, 0, 0))]


def chain_armature(scale: float = 1.0):
    """A turned and moved three-bone chain (no limits) with a Reach on the tail of its last bone.

    Returns (armature object, the Reach item)."""
    obj = new_armature("Chain", {"a": CHAIN})
    obj.location = (0.5, -0.2, 0.1)
    obj.rotation_euler = (0.3, 0.0, 0.6)
    obj.scale = (scale, scale, scale)
    bpy.context.view_layer.update()
    assert bpy.ops.ik_engine.constraint_add(kind="REACH", bone="c") == {"FINISHED"}
    reach = obj.ik_engine.constraints[0]
    reach.point = "TAIL"
    return obj, reach


def message_millimetres(message: str) -> float:
    return float(re.search(r"position error ([0-9.]+) mm", message).group(1))


def random_smplx_targets(obj, rng, spread=0.5):
    """World targets for the four reaches and the head look-at from a random in-limit pose.

    Uses the engine's table skeleton only to make targets that are reachable.
    """
    skeleton = ik.load_skeleton("smplx")
    pose = skeleton.random_pose(rng, skeleton.joint_names[:22])
    pose = ik.Pose(pose.rotations * spread, rng.uniform(-0.1, 0.1, 3))
    R, p = skeleton.world_transforms(pose)
    M = np.array(obj.matrix_world)
    to_world = lambda x: (M @ np.append(x, 1.0))[:3]  # noqa: E731
    targets = {b: to_world(p[skeleton.index(b)]) for b in REACH_BONES}
    h = skeleton.index("head")
    targets["head"] = to_world(p[h] + R[h] @ np.array([0.0, 0.0, 0.6]))
    return targets


def set_targets(obj, targets):
    for item in obj.ik_engine.constraints:
        item.target.location = targets[item.bone].tolist()
    bpy.context.view_layer.update()


def assert_targets_met(obj, targets, tolerance=TOLERANCE):
    for bone in REACH_BONES:
        assert np.linalg.norm(world_point(obj, bone) - targets[bone]) <= tolerance, bone
    R_world_head, head = world_bone(obj, "head")
    to_target = (targets["head"] - head) / np.linalg.norm(targets["head"] - head)
    # The add-on's SMPL-X bones have +Z forward where they can: the head's look axis.
    assert np.degrees(np.arccos(np.clip(R_world_head[:, 2] @ to_target, -1, 1))) <= 0.1


def assert_smplx_within_limits(obj):
    """Blender's local rotations of the 21 body bones, read as the shipped skeleton's pose,
    lie inside its limits (the default table the add-on uses: boxes, Euler elbows), by the
    skeleton's own limit reading; returns (skeleton, pose, indices of those joints)."""
    skeleton = ik.load_skeleton("smplx")
    names = skeleton.joint_names[1:22]
    idx = skeleton.indices(names)
    rotations = np.zeros((skeleton.num_joints, 3))
    rotations[idx] = smplx_local_rotations(obj, names)
    pose = ik.Pose(rotations, np.zeros(3))
    excess = skeleton.joint_limit_excess(pose)[idx]
    assert (excess <= ANGLE_TOLERANCE).all(), {names[i]: float(excess[i]) for i in np.flatnonzero(excess > ANGLE_TOLERANCE)}
    return skeleton, pose, idx


# ------------------------------------------------------------------ packaging and registration
def build_blender_addon_module():
    sys.path.insert(0, str(REPOSITORY / "scripts"))
    try:
        import build_blender_addon
    finally:
        sys.path.remove(str(REPOSITORY / "scripts"))
    return build_blender_addon


def test_manifest_and_zip_pass_blenders_own_validator(tmp_path):
    archive = build_blender_addon_module().build(tmp_path)
    assert archive.name == "ik_engine_blender-0.1.0.zip"
    import zipfile

    names = zipfile.ZipFile(archive).namelist()
    assert names[0] == "blender_manifest.toml" and "__init__.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    validator = next(Path(p) / "bl_pkg" / "cli" / "blender_ext.py" for p in addon_utils.paths() if (Path(p) / "bl_pkg").is_dir())
    for source in (REPOSITORY / "blender" / ADDON, archive):
        done = subprocess.run([sys.executable, str(validator), "validate", str(source)], capture_output=True, text=True)
        assert done.returncode == 0 and "Success" in done.stdout, done.stdout + done.stderr


def installed_in_a_clean_blender(archive: Path, tmp_path: Path) -> str:
    """Install the extension zip in a separate Blender with its own user folder; what it printed:
    REQUIREMENT (the preferences' package), OPERATOR (registered) and FOLDER (pip's target)."""
    script = (
        "import sys, bpy\n"
        "bpy.ops.wm.read_factory_settings(use_empty=True)\n"
        f"assert bpy.ops.extensions.package_install_files(filepath={str(archive)!r}, repo='user_default', enable_on_install=True) == {{'FINISHED'}}\n"
        "module = 'bl_ext.user_default.ik_engine_blender'\n"
        "prefs = bpy.context.preferences.addons[module].preferences\n"
        "print('REQUIREMENT', prefs.requirement)\n"
        "print('OPERATOR', hasattr(bpy.ops.ik_engine, 'solve'))\n"
        "print('FOLDER', sys.modules[module + '.dependencies'].site_packages_dir(), flush=True)\n"
        # Blender as a module may crash at exit while Python classes are registered: unregister.
        "bpy.ops.preferences.addon_disable(module=module)\n"
    )
    env = {"BLENDER_USER_RESOURCES": str(tmp_path / "user"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_zip_installs_as_an_extension_in_a_clean_blender(tmp_path):
    """Blender's extension installer takes the zip; the add-on registers as bl_ext.* with its
    preferences and operators (a separate Blender with its own user folder)."""
    printed = installed_in_a_clean_blender(build_blender_addon_module().build(tmp_path / "dist"), tmp_path)
    assert "REQUIREMENT ik-engine" in printed and "OPERATOR True" in printed
    assert f"FOLDER {tmp_path / 'user'}" in printed


def test_a_zip_with_the_wheel_installs_ik_engine_from_it(tmp_path):
    """--with-wheel packs the ik-engine wheel; the installed extension offers it as the package to
    install, and pip installs ik-engine from that file (no index: --no-deps here, its
    dependencies being this environment's)."""
    builder = build_blender_addon_module()
    wheel = builder.engine_wheel(tmp_path / "wheel")
    printed = installed_in_a_clean_blender(builder.build(tmp_path / "dist", wheel=wheel), tmp_path)
    requirement = re.search(r"REQUIREMENT (\S+)", printed).group(1)
    assert requirement.endswith(wheel.name) and Path(requirement).is_file() and "OPERATOR True" in printed
    target = tmp_path / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(target), requirement],
                         capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr[-2000:]
    check = subprocess.run([sys.executable, "-c", "import ik_engine, sys; print(ik_engine.__file__)"], capture_output=True,
                           text=True, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}, cwd=tmp_path, timeout=300)
    assert check.returncode == 0 and check.stdout.strip().startswith(str(target)), check.stderr[-2000:]


def test_register_unregister_register_again(scene):
    live_mode = addon_module("live_mode")
    ours = lambda: [f for f in bpy.app.handlers.depsgraph_update_post if live_mode.is_handler(f)]  # noqa: E731
    assert len(ours()) == 1
    addon_utils.disable(ADDON, default_set=True)
    assert ours() == [] and not hasattr(bpy.types.Object, "ik_engine")
    assert not hasattr(bpy.types, "VIEW3D_PT_ik_engine")
    addon_utils.enable(ADDON, default_set=True)
    assert len(ours()) == 1 and hasattr(bpy.types.Object, "ik_engine")
    addon_utils.disable(ADDON, default_set=True)
    addon_utils.enable(ADDON, default_set=True)
    assert len(ours()) == 1
    panel = bpy.types.Panel.bl_rna_get_subclass_py("VIEW3D_PT_ik_engine")
    assert panel.bl_space_type == "VIEW_3D" and panel.bl_region_type == "UI" and panel.bl_category == "IK Engine"
    obj = add_smplx(with_targets=True)
    assert len(obj.ik_engine.constraints) == 5


# ------------------------------------------------------------------ the SMPL-X armature
def test_smplx_armature_matches_the_skeleton_and_the_mesh_follows(scene):
    obj = add_smplx(with_targets=False, with_mesh=True)
    skeleton = ik.load_skeleton("smplx")
    parent_of = {b.name: (b.parent.name if b.parent else None) for b in obj.data.bones}
    assert parent_of == {n: (skeleton.joint_names[p] if p >= 0 else None) for n, p in zip(skeleton.joint_names, skeleton.parents)}
    # Heads at the skeleton's joints (the object turns SMPL-X's +Y up into Blender's +Z up).
    heads = np.array([world_point(obj, n) for n in skeleton.joint_names])
    M = np.array(obj.matrix_world)
    expected = (M[:3, :3] @ skeleton.rest_positions().T).T + M[:3, 3]
    assert np.abs(heads - expected).max() < 1e-6
    assert heads[:, 2].min() > 0.0 and world_point(obj, "head")[2] > 1.4  # standing on the ground
    body = next(o for o in bpy.data.objects if o.type == "MESH")
    mesh = ik.load_default_mesh()
    assert len(body.data.vertices) == mesh.num_vertices and len(body.data.polygons) == mesh.num_faces
    assert body.parent == obj and body.modifiers[0].type == "ARMATURE" and body.modifiers[0].object == obj
    v = int(np.argmax(mesh.joint_weights[:, 0]))
    groups = {body.vertex_groups[g.group].name: g.weight for g in body.data.vertices[v].groups}
    k = int(mesh.joint_indices[v, 0])
    assert groups[skeleton.joint_names[k]] == pytest.approx(mesh.joint_weights[v, 0], abs=1e-6)
    # Blender's Armature modifier moves the mesh with the bones.
    before = np.array([tuple(x.co) for x in body.evaluated_get(bpy.context.evaluated_depsgraph_get()).data.vertices[:50]])
    obj.pose.bones["pelvis"].location = (0.0, 0.5, 0.0)
    bpy.context.view_layer.update()
    after = np.array([tuple(x.co) for x in body.evaluated_get(bpy.context.evaluated_depsgraph_get()).data.vertices[:50]])
    assert np.abs(after - before).max() > 0.1


def test_solve_reaches_targets_within_0_1mm_as_blender_evaluates_and_stays_in_limits(scene):
    obj = add_smplx()
    obj.ik_engine.move_root = True
    kinds = sorted((c.kind, c.bone) for c in obj.ik_engine.constraints)
    assert kinds == sorted([("REACH", b) for b in REACH_BONES] + [("LOOK_AT", "head")])
    assert obj.ik_engine.constraints[4].axis == "Z"  # the SMPL-X head looks along its +Z
    assert addon_module("panel").limits_summary(obj) == "Limits: SMPL-X table on 55 bones"
    rng = np.random.default_rng(3)
    for _ in range(2):
        targets = random_smplx_targets(obj, rng)
        set_targets(obj, targets)
        assert bpy.ops.ik_engine.solve() == {"FINISHED"}
        assert_targets_met(obj, targets)
        assert_smplx_within_limits(obj)
        assert not obj.ik_engine.message_is_error
    # Targets out of reach: the best pose still respects every limit (some joint at its bound).
    targets = {bone: location(t) for bone, t in ((c.bone, c.target) for c in obj.ik_engine.constraints)}
    targets["left_wrist"] = targets["left_wrist"] + np.array([0.0, 2.0, 1.5])
    targets["right_wrist"] = targets["right_wrist"] + np.array([0.0, 2.0, -1.0])
    set_targets(obj, targets)
    bpy.ops.ik_engine.solve()
    skeleton, pose, idx = assert_smplx_within_limits(obj)
    # Some joint on its bound: its coordinates pushed 0.2 % away from their centre leave the limits.
    pushed = skeleton.from_coordinates(skeleton.to_coordinates(pose.rotations) * 1.002)
    assert (skeleton.joint_limit_excess(ik.Pose(pushed, pose.translation))[idx] > 1e-5).any()


def test_solve_is_undone_by_undo(scene):
    obj = add_smplx()
    obj.ik_engine.move_root = True  # the structure of the other SMPL-X tests: compiled once
    bpy.ops.ed.undo_push(message="targets placed")
    rest = pose_state(obj)
    target = obj.ik_engine.constraints[0].target
    target.location.x += 0.1
    bpy.ops.ed.undo_push(message="target moved")
    assert bpy.ops.ik_engine.solve() == {"FINISHED"}
    assert np.abs(pose_state(obj) - rest).max() > 1e-3
    bpy.ops.ed.undo()
    obj = bpy.data.objects["SMPL-X"]
    assert np.abs(pose_state(obj) - rest).max() < 1e-7


def test_bake_is_undone_by_undo(scene):
    obj = add_smplx()
    obj.ik_engine.move_root = True
    bpy.ops.ed.undo_push(message="targets placed")
    obj.ik_engine.constraints[0].target.location.x -= 0.1
    bpy.ops.ed.undo_push(message="target moved")
    before = pose_state(obj)
    assert bpy.ops.ik_engine.bake(frame_start=1, frame_end=3) == {"FINISHED"}
    assert obj.animation_data.action is not None and np.abs(pose_state(obj) - before).max() > 1e-3
    bpy.ops.ed.undo()
    obj = bpy.data.objects["SMPL-X"]
    assert obj.animation_data is None or obj.animation_data.action is None
    assert np.abs(pose_state(obj) - before).max() < 1e-7


def test_bake_keyframes_every_frame_and_follows_animated_targets(scene):
    obj = add_smplx()
    obj.ik_engine.move_root = True
    rng = np.random.default_rng(5)
    start_targets, end_targets = random_smplx_targets(obj, rng, 0.3), random_smplx_targets(obj, rng, 0.3)
    for item in obj.ik_engine.constraints:
        for frame, targets in ((1, start_targets), (8, end_targets)):
            item.target.location = targets[item.bone].tolist()
            item.target.keyframe_insert("location", frame=frame)
    assert bpy.ops.ik_engine.bake(frame_start=1, frame_end=8) == {"FINISHED"}
    action = obj.animation_data.action
    frames_of = {}
    for fc in action.fcurves:
        frames_of.setdefault(fc.data_path, []).append(sorted(int(k.co[0]) for k in fc.keyframe_points))
    for bone in ("left_elbow", "spine1", "neck", "head", "right_knee"):
        channels = frames_of[f'pose.bones["{bone}"].rotation_quaternion']
        assert len(channels) == 4 and all(frames == list(range(1, 9)) for frames in channels)
    assert all(f == list(range(1, 9)) for f in frames_of['pose.bones["pelvis"].location'])
    assert 'pose.bones["left_index1"].rotation_quaternion' not in frames_of  # nothing asked the fingers to move
    for frame in (1, 4, 8):
        bpy.context.scene.frame_set(frame)
        targets = {item.bone: location(item.target) for item in obj.ik_engine.constraints}
        assert_targets_met(obj, targets)


def test_live_mode_follows_a_moved_target_and_stops(scene):
    obj = add_smplx()
    obj.ik_engine.move_root = True
    assert bpy.ops.ik_engine.live_toggle() == {"FINISHED"} and obj.ik_engine.live
    bpy.context.view_layer.update()
    item = obj.ik_engine.constraints[0]
    item.target.location.x -= 0.1  # toward the body: the elbow bends
    item.target.location.y -= 0.05
    bpy.context.view_layer.update()  # the handler solves and writes the pose
    assert obj.ik_engine.message.startswith("Live: solved"), obj.ik_engine.message
    targets = {c.bone: location(c.target) for c in obj.ik_engine.constraints}
    assert_targets_met(obj, targets)
    # Its own writes do not trigger more solves: further updates leave the pose alone.
    live_mode = addon_module("live_mode")
    solves = live_mode.solve_count
    settled = pose_state(obj)
    obj.pose.bones["left_index1"].rotation_quaternion = (0.9, 0.0, 0.0, 0.3)  # a user edit, no target moved
    for _ in range(3):
        bpy.context.view_layer.update()
    assert np.abs(pose_state(obj) - settled).max() > 0.1  # the user's finger edit stayed
    idx = [i for i, pb in enumerate(obj.pose.bones) if pb.name != "left_index1"]
    assert np.abs(pose_state(obj).reshape(-1, 16)[idx] - settled.reshape(-1, 16)[idx]).max() < 1e-7
    assert live_mode.solve_count == solves
    item.target.location.x += 0.02
    bpy.context.view_layer.update()
    assert live_mode.solve_count == solves + 1
    addon_utils.disable(ADDON, default_set=True)
    assert not [f for f in bpy.app.handlers.depsgraph_update_post if live_mode.is_handler(f)]
    addon_utils.enable(ADDON, default_set=True)


# ------------------------------------------------------------------ any armature
def test_bvh_imported_armature_reaches_with_feet_pinned(scene):
    """Blender's BVH importer (Euler bones, non-SMPL-X names): a far reach moves the root while
    Pin keeps both feet where they were, and the head looks at its target."""
    bpy.ops.preferences.addon_enable(module="io_anim_bvh")
    bpy.ops.import_anim.bvh(filepath=str(BVH_FILE), global_scale=BVH_SCALE)
    obj = bpy.context.view_layer.objects.active
    scene.frame_set(30)
    assert obj.pose.bones["LeftWrist"].rotation_mode not in ("QUATERNION", "AXIS_ANGLE")
    for kind, bone in (("REACH", "LeftWrist"), ("LOOK_AT", "Head"), ("PIN", "LeftToe"), ("PIN", "RightToe")):
        obj.data.bones.active = obj.data.bones[bone]
        assert bpy.ops.ik_engine.constraint_add(kind=kind) == {"FINISHED"}
    reach, look, _, _ = obj.ik_engine.constraints
    assert look.axis == "Y"  # non-SMPL-X names: along the bone, like Damped Track
    obj.ik_engine.move_root = True
    feet = {bone: world_point(obj, bone) for bone in ("LeftToe", "RightToe")}
    hips = world_point(obj, "Hips")
    shoulder = world_point(obj, "LeftShoulder")
    wrist = world_point(obj, "LeftWrist")
    # Beyond the arm's reach from where the shoulder is now: the body has to lean.
    away = (wrist - shoulder) / np.linalg.norm(wrist - shoulder)
    reach.target.location = (shoulder + away * (np.linalg.norm(wrist - shoulder) + 0.25)).tolist()
    look.target.location = (np.array(look.target.location) + np.array([0.3, -0.2, 0.0])).tolist()
    assert bpy.ops.ik_engine.solve() == {"FINISHED"}, obj.ik_engine.message
    assert np.linalg.norm(world_point(obj, "LeftWrist") - location(reach.target)) <= TOLERANCE
    for bone, before in feet.items():
        assert np.linalg.norm(world_point(obj, bone) - before) <= TOLERANCE
    assert np.linalg.norm(world_point(obj, "Hips") - hips) > 0.01  # the root moved
    R_world_head, head = world_bone(obj, "Head")
    to_target = location(look.target) - head
    assert np.degrees(np.arccos(R_world_head[:, 1] @ to_target / np.linalg.norm(to_target))) <= 0.1


def test_user_armature_with_two_roots_ik_limits_pole_and_floor(scene):
    """Non-SMPL-X names, two root bones, rolled rest frames, a turned and scaled armature object,
    bones in axis-angle, Euler and quaternion modes; Reach with rotation, Pole, Floor."""
    obj = new_armature("Rig", {
        "arm": [("shoulder", (0, 0, 1.0), (0.3, 0, 1.0)), ("elbow", (0.3, 0, 1.0), (0.6, 0, 1.0)),
                ("hand", (0.6, 0, 1.0), (0.7, 0, 1.0)), ("finger", (0.7, 0, 1.0), (0.75, 0, 1.0))],
        "tail": [("tail_base", (0, 0.1, 0.5), (0, 0.3, 0.5)), ("tail_tip", (0, 0.3, 0.5), (0, 0.5, 0.4))],
    })
    obj.location = (1.0, -2.0, 0.3)
    obj.rotation_euler = (0.0, 0.0, 0.7)
    obj.scale = (1.3, 1.3, 1.3)
    pose_bones = obj.pose.bones
    pose_bones["shoulder"].rotation_mode = "AXIS_ANGLE"
    pose_bones["elbow"].rotation_mode = "XZY"
    elbow = pose_bones["elbow"]
    elbow.lock_ik_x = True
    # (Blender keeps ik_min <= 0 <= ik_max.)
    elbow.use_ik_limit_z, elbow.ik_min_z, elbow.ik_max_z = True, np.radians(-50), np.radians(5)
    elbow.use_ik_limit_y, elbow.ik_min_y, elbow.ik_max_y = True, np.radians(-30), np.radians(30)
    elbow.rotation_euler = (0.0, 0.0, -0.6)  # bent, so the Pole sees a limb with a bend
    bpy.context.view_layer.update()
    settings = obj.ik_engine
    bpy.ops.object.mode_set(mode="POSE")
    for kind, bone in (("REACH", "hand"), ("POLE", "elbow"), ("FLOOR", "")):
        obj.data.bones.active = obj.data.bones[bone or "shoulder"]
        assert bpy.ops.ik_engine.constraint_add(kind=kind, bone=bone) == {"FINISHED"}
    reach, pole, floor = settings.constraints
    assert addon_module("panel").limits_summary(obj) == "Limits: IK settings on 1 bones, none on 5 bones"
    reach.use_rotation = True
    pole.priority = 1
    # A floor above the tail tip: the tail must swing up to clear it by 2 cm.
    floor_height = world_point(obj, "tail_tip")[2] + 0.05
    floor.bone, floor.clearance = "tail_tip", 0.02
    floor.target = bpy.data.objects.new("floor height", None)
    scene.collection.objects.link(floor.target)
    floor.target.location = (5.0, 5.0, floor_height)  # only its height counts
    # A target rotation (about the world's z) and position the hand can reach.
    R_turn = Rotation.from_rotvec([0.0, 0.0, 0.5]).as_matrix()
    hand_R, hand_head = world_bone(obj, "hand")
    from mathutils import Matrix

    T = np.eye(4)
    T[:3, :3] = R_turn @ hand_R
    T[:3, 3] = hand_head + np.array([-0.1, 0.15, 0.05])
    reach.target.matrix_world = Matrix(T.tolist())
    assert bpy.ops.ik_engine.solve() == {"FINISHED"}, settings.message
    R_hand, head = world_bone(obj, "hand")
    assert np.linalg.norm(head - T[:3, 3]) <= TOLERANCE
    assert np.degrees(Rotation.from_matrix(R_hand.T @ T[:3, :3]).magnitude()) <= 0.1
    assert world_point(obj, "tail_tip")[2] >= floor_height + 0.02 - TOLERANCE
    # The elbow's IK settings, read back from Blender's stored rotation as Blender's IK reads
    # them (x locked: a bend about z, then a twist about y; tests/test_blender_ik_limits.py).
    def bend_twist():
        q = pose_bones["elbow"].matrix_basis.to_quaternion()
        return Rotation.from_quat([q.x, q.y, q.z, q.w]).as_euler("ZXY")  # (bend z, x, twist y)

    bend, x, twist = bend_twist()
    assert abs(x) <= ANGLE_TOLERANCE
    assert np.radians(-30) - ANGLE_TOLERANCE <= twist <= np.radians(30) + ANGLE_TOLERANCE
    assert np.radians(-50) - ANGLE_TOLERANCE <= bend <= np.radians(5) + ANGLE_TOLERANCE
    # The elbow bends toward the pole: the bend direction and the pole lie on the same side.
    a, b, c = (world_point(obj, n) for n in ("shoulder", "elbow", "hand"))
    line = (c - a) / np.linalg.norm(c - a)
    bend = (b - a) - line * ((b - a) @ line)
    toward = (location(pole.target) - a) - line * ((location(pole.target) - a) @ line)
    assert bend @ toward > 0
    # Close to the shoulder: the elbow bends as far as its limit lets it, no further.
    T[:3, 3] = a + (T[:3, 3] - a) * 0.3
    reach.target.matrix_world = Matrix(T.tolist())
    bpy.ops.ik_engine.solve()
    bend, x, twist = bend_twist()
    assert abs(x) <= ANGLE_TOLERANCE and abs(twist) <= np.radians(30) + ANGLE_TOLERANCE
    assert bend == pytest.approx(np.radians(-50), abs=1e-3)
    # Two root bones: the root's location cannot be solved for; the message says so.
    settings.move_root = True
    with pytest.raises(RuntimeError, match="single root bone"):
        bpy.ops.ik_engine.solve()


# ------------------------------------------------------------------ bad states
def assert_reported_without_traceback(capfd, call, *phrases):
    with pytest.raises(RuntimeError) as caught:
        call()
    for phrase in phrases:
        assert phrase in str(caught.value), str(caught.value)
    assert "Traceback" not in capfd.readouterr().err


def test_no_armature_selected_gives_a_message(scene, capfd):
    bpy.ops.object.empty_add()
    panel = addon_module("panel")
    assert any("Select an armature" in text for _, text in panel.panel_messages(bpy.context))
    assert_reported_without_traceback(capfd, lambda: bpy.ops.ik_engine.solve(), "Select an armature")
    assert_reported_without_traceback(capfd, lambda: bpy.ops.ik_engine.bake(), "Select an armature")
    assert len(bpy.data.objects) == 1


def test_deleted_target_renamed_bone_and_missing_constraints_give_messages(scene, capfd):
    obj = add_smplx()
    obj.ik_engine.move_root = True  # the structure of the other SMPL-X tests: compiled once
    bpy.ops.ik_engine.solve()
    before, objects = pose_state(obj), len(bpy.data.objects)
    panel = addon_module("panel")
    # A target deleted.
    bpy.data.objects.remove(obj.ik_engine.constraints[1].target)
    assert_reported_without_traceback(capfd, lambda: bpy.ops.ik_engine.solve(), "Reach constraint 2 (right_wrist)", "deleted")
    assert_reported_without_traceback(capfd, lambda: bpy.ops.ik_engine.bake(frame_start=1, frame_end=3), "deleted")
    assert any("no target object" in text for _, text in panel.panel_messages(bpy.context))
    assert np.array_equal(pose_state(obj), before) and obj.animation_data is None
    # A target taken out of the scene (still referenced, so not deleted from the file).
    obj.ik_engine.constraints.remove(1)
    target = obj.ik_engine.constraints[0].target
    for collection in list(target.users_collection):
        collection.objects.unlink(target)
    assert_reported_without_traceback(capfd, lambda: bpy.ops.ik_engine.solve(), "not in the scene")
    obj.ik_engine.constraints.remove(0)
    # A bone renamed: the constraint follows it, as Blender's own constraints do.
    item = next(c for c in obj.ik_engine.constraints if c.bone == "left_ankle")
    obj.data.bones["left_ankle"].name = "LeftAnkle"
    bpy.context.view_layer.update()
    assert item.bone == "LeftAnkle"
    # A bone name that names no bone (typed in the panel): reported, nothing changed.
    item.bone = "left_ankel"
    assert_reported_without_traceback(capfd, lambda: bpy.ops.ik_engine.solve(), "'left_ankel' is not in the armature")
    assert item.bone == "left_ankel"
    assert any("renamed" in text for _, text in panel.panel_messages(bpy.context))
    assert np.array_equal(pose_state(obj), before)
    # No constraints at all.
    obj.ik_engine.constraints.clear()
    assert_reported_without_traceback(capfd, lambda: bpy.ops.ik_engine.solve(), "no enabled IK Engine constraints")
    assert obj.ik_engine.message_is_error
    assert len(bpy.data.objects) == objects - 1  # only the deleted target is gone


def test_a_reach_switched_to_tail_moves_its_target_to_the_tail_and_back(scene):
    obj = new_armature("Switch", {"a": CHAIN})
    obj.rotation_euler = (0.2, 0.0, 0.5)
    bpy.context.view_layer.update()
    assert bpy.ops.ik_engine.constraint_add(kind="REACH", bone="c") == {"FINISHED"}
    reach = obj.ik_engine.constraints[0]
    assert np.linalg.norm(location(reach.target) - world_point(obj, "c", "head")) <= 1e-6
    # The panel's Head / Tail buttons (the operator): the empty moves with the point.
    assert bpy.ops.ik_engine.reach_point(point="TAIL") == {"FINISHED"}
    assert reach.point == "TAIL"
    assert np.linalg.norm(location(reach.target) - world_point(obj, "c", "tail")) <= 1e-6
    before = pose_state(obj)
    assert bpy.ops.ik_engine.solve() == {"FINISHED"}
    assert np.abs(pose_state(obj) - before).max() <= 1e-5  # met where it stands: nothing moved
    assert bpy.ops.ik_engine.reach_point(point="HEAD") == {"FINISHED"}
    assert np.linalg.norm(location(reach.target) - world_point(obj, "c", "head")) <= 1e-6


def test_a_target_nothing_can_carry_says_why_and_suggests_move_root(scene):
    obj = new_armature("Root", {"a": CHAIN})
    bpy.context.view_layer.update()
    assert bpy.ops.ik_engine.constraint_add(kind="REACH", bone="a") == {"FINISHED"}
    reach = obj.ik_engine.constraints[0]
    reach.target.location = (0.3, 0.4, 0.0)  # the root bone's head: only Move Root moves it
    assert bpy.ops.ik_engine.solve() == {"FINISHED"}
    assert obj.ik_engine.message_is_error
    assert "Reach constraint 1 (a)" in obj.ik_engine.message and "turn on Move Root" in obj.ik_engine.message
    obj.ik_engine.move_root = True
    assert bpy.ops.ik_engine.solve() == {"FINISHED"}
    assert not obj.ik_engine.message_is_error
    assert np.linalg.norm(world_point(obj, "a") - np.array([0.3, 0.4, 0.0])) <= TOLERANCE


def watch_compilations(monkeypatch) -> list:
    """``ik.IKSolver.solve`` watched: returns a list that gets, per solve, the solver's
    compilations in that solve's thread (the solve's own compile, if it blocked on one)."""
    compiled_in_solve = []
    real_solve = ik.IKSolver.solve

    def solve(self, constraints, init=None):
        before = self.compilations
        result = real_solve(self, constraints, init)
        compiled_in_solve.append(self.compilations - before)
        return result

    monkeypatch.setattr(ik.IKSolver, "solve", solve)
    return compiled_in_solve


def test_a_new_constraint_structure_solves_at_once_without_compiling(scene, monkeypatch):
    """Live, Solve and a Rotation target added after solving: every solve of a new structure
    answers in the main thread, met, without compiling (the engine interprets it; compiles are
    the engine's, in its background thread, for structures solved again)."""
    obj = add_smplx()
    obj.ik_engine.move_root = True
    live_mode, solving = addon_module("live_mode"), addon_module("solving")
    solving.forget_solvers()  # a fresh cache: nothing compiled for this armature yet
    compiled_in_solve = watch_compilations(monkeypatch)
    solves = live_mode.solve_count
    item = obj.ik_engine.constraints[0]
    item.target.location.x -= 0.1
    assert bpy.ops.ik_engine.live_toggle() == {"FINISHED"} and obj.ik_engine.live
    assert obj.ik_engine.message.startswith("Live: solved"), obj.ik_engine.message
    assert live_mode.solve_count == solves + 1
    assert np.linalg.norm(world_point(obj, item.bone) - location(item.target)) <= TOLERANCE
    bpy.ops.ik_engine.live_toggle()
    # A Rotation on the same reach: a new structure, solved by Solve at once.
    item.use_rotation = True
    bpy.context.view_layer.update()
    assert bpy.ops.ik_engine.solve() == {"FINISHED"}
    assert not obj.ik_engine.message_is_error, obj.ik_engine.message
    assert np.linalg.norm(world_point(obj, item.bone) - location(item.target)) <= TOLERANCE
    assert compiled_in_solve and not any(compiled_in_solve)  # no solve compiled in its own thread


@pytest.mark.parametrize("object_scale, unit_scale, beyond, met", [
    (10.0, 1.0, 5e-4, False),  # 0.5 mm beyond reach: more than the 0.1 mm tolerance
    (0.01, 1.0, 5e-5, True),   # 0.05 mm beyond reach: within it
    (1.0, 10.0, 5e-4, False),  # a Blender unit of 10 m
])
def test_tolerance_and_errors_are_world_millimetres(scene, object_scale, unit_scale, beyond, met):
    """Distances in metres are Blender units (as Blender evaluates them, object scale included)
    times the scene's Unit Scale; the solve's 0.1 mm tolerance and the message's error use them."""
    obj, reach = chain_armature(object_scale)
    scene.unit_settings.scale_length = unit_scale
    root, tip = world_point(obj, "a"), world_point(obj, "c", "tail")
    length = np.linalg.norm(tip - root)  # the straight chain's reach, Blender units
    direction = np.array([0.2, 0.6, 0.77]) / np.linalg.norm([0.2, 0.6, 0.77])
    reach.target.location = (root + 0.6 * length * direction).tolist()
    assert bpy.ops.ik_engine.solve() == {"FINISHED"}, obj.ik_engine.message
    assert np.linalg.norm(world_point(obj, "c", "tail") - location(reach.target)) * unit_scale <= TOLERANCE
    assert obj.ik_engine.message.startswith("Solved")
    # Beyond reach by ``beyond`` metres: the chain stretches out toward the target.
    reach.target.location = (root + (length + beyond / unit_scale) * direction).tolist()
    bpy.ops.ik_engine.solve()
    error = np.linalg.norm(world_point(obj, "c", "tail") - location(reach.target)) * unit_scale
    assert beyond - 1e-6 <= error <= 1e-4 if met else beyond - 1e-6 <= error <= MM
    message = obj.ik_engine.message
    assert message.startswith("Solved" if met else "Best effort"), message
    assert message_millimetres(message) == pytest.approx(error * 1e3, abs=0.01), message


def test_live_mode_shows_problems_in_the_panel_instead_of_raising(scene, capfd):
    obj = add_smplx()
    obj.ik_engine.move_root = True  # the structure of the other SMPL-X tests: compiled once
    assert bpy.ops.ik_engine.live_toggle() == {"FINISHED"} and obj.ik_engine.live
    bpy.context.view_layer.update()
    bpy.data.objects.remove(obj.ik_engine.constraints[0].target)
    bpy.context.view_layer.update()
    assert obj.ik_engine.message_is_error and "deleted" in obj.ik_engine.message
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize("failure", [KeyError('key "left_wrist" not found'), ReferenceError("StructRNA has been removed")])
def test_live_mode_shows_a_failed_pose_write_in_the_panel(scene, capfd, monkeypatch, failure):
    """Writing the pose fails (a bone renamed, an object deleted meanwhile): a panel message."""
    obj = add_smplx()
    obj.ik_engine.move_root = True
    live_mode = addon_module("live_mode")

    def write_fails(armature_object, solution):
        raise failure

    monkeypatch.setattr(live_mode, "apply_solution", write_fails)
    obj.ik_engine.constraints[0].target.location.x -= 0.05
    assert bpy.ops.ik_engine.live_toggle() == {"FINISHED"} and obj.ik_engine.live
    obj.ik_engine.constraints[1].target.location.x += 0.05
    bpy.context.view_layer.update()  # the handler, too
    assert obj.ik_engine.message_is_error and type(failure).__name__ in obj.ik_engine.message
    assert str(failure.args[0]) in obj.ik_engine.message
    assert "Traceback" not in capfd.readouterr().err


def test_live_mode_solves_a_loaded_file_with_the_same_names_and_inputs(scene, tmp_path):
    """What live mode solved in one file does not count in the next (same object names)."""
    obj = add_smplx()
    obj.ik_engine.move_root = True
    live_mode = addon_module("live_mode")
    item = obj.ik_engine.constraints[0]
    item.target.location.x -= 0.1
    path = tmp_path / "not_solved_yet.blend"
    with live_mode.suspended():
        obj.ik_engine.live = True
        bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    live_mode.start_live(obj, bpy.context)  # as the Live button does: solves at once
    assert obj.ik_engine.message.startswith("Live: solved"), obj.ik_engine.message
    bpy.ops.wm.open_mainfile(filepath=str(path))  # the same names and inputs, not solved
    obj = bpy.data.objects["SMPL-X"]
    item = obj.ik_engine.constraints[0]
    bpy.data.objects.new("unrelated", None)
    bpy.context.scene.collection.objects.link(bpy.data.objects["unrelated"])
    bpy.context.view_layer.update()  # an update that changes none of the armature's inputs
    assert obj.ik_engine.message.startswith("Live: solved"), obj.ik_engine.message
    assert np.linalg.norm(world_point(obj, item.bone) - location(item.target)) <= TOLERANCE


def test_missing_engine_registers_explains_and_changes_nothing(scene, capfd, monkeypatch):
    obj = add_smplx()
    before, objects = pose_state(obj), len(bpy.data.objects)
    monkeypatch.setitem(sys.modules, "ik_engine", None)  # `import ik_engine` now fails
    panel = addon_module("panel")
    addon_module("dependencies").forget_status()
    assert any("ik-engine package cannot be imported" in text for _, text in panel.panel_messages(bpy.context))
    assert_reported_without_traceback(capfd, lambda: bpy.ops.ik_engine.solve(), "cannot be imported", "Install dependencies")
    assert_reported_without_traceback(capfd, lambda: bpy.ops.ik_engine.add_smplx_armature(), "cannot be imported")
    assert np.array_equal(pose_state(obj), before) and len(bpy.data.objects) == objects
    # The add-on imports and registers from scratch without the engine.
    addon_utils.disable(ADDON, default_set=True)
    for name in [n for n in sys.modules if n == ADDON or n.startswith(ADDON + ".")]:
        del sys.modules[name]  # for good: the fixture disables the fresh import at the end
    addon_utils.enable(ADDON, default_set=True)
    assert hasattr(bpy.ops.ik_engine, "solve") and ADDON in bpy.context.preferences.addons
    assert "Traceback" not in capfd.readouterr().err
    monkeypatch.undo()  # the engine is back (as after an install, which forgets the failure)
    addon_module("dependencies").forget_status()
    assert addon_module("dependencies").engine_status()[0]


def test_install_dependencies_runs_pip_into_the_addon_folder(scene, monkeypatch, tmp_path):
    dependencies = addon_module("dependencies")
    commands = []

    def fake_run(command):
        commands.append(command)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(dependencies, "run_command", fake_run)
    monkeypatch.setattr(dependencies, "site_packages_dir", lambda create=False: str(tmp_path))
    assert bpy.ops.ik_engine.install_dependencies(requirement="ik-engine==0.1.0") == {"FINISHED"}
    pip = commands[-1]
    assert pip[:4] == [sys.executable, "-m", "pip", "install"]
    assert pip[pip.index("--target") + 1] == str(tmp_path) and pip[-1] == "ik-engine==0.1.0"
    assert str(tmp_path) == sys.path[0]
    sys.path.remove(str(tmp_path))
    monkeypatch.setattr(dependencies, "run_command", lambda c: subprocess.CompletedProcess(c, 1, "", "No matching distribution"))
    with pytest.raises(RuntimeError, match="No matching distribution.*not on PyPI: give the path of an ik-engine wheel"):
        bpy.ops.ik_engine.install_dependencies(requirement="ik-engine")
