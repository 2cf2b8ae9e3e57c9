"""Animated, skinned glTF out (ik.export_gltf), read back by independent readers: Blender's own
glTF importer (bpy 4.2), Khronos' glTF validator (npm, installed by dev.py), pygltflib."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import ik_engine as ik

ROOT = Path(__file__).resolve().parents[1]
VALIDATOR = ROOT / ".venv" / "node_modules" / "gltf-validator"


@pytest.fixture(scope="module")
def clip(smplx):
    """10 frames of random in-limit body poses with root translations, at 30 fps."""
    rng = np.random.default_rng(0)
    poses = [smplx.random_pose(rng, smplx.joint_names[:22]) for _ in range(10)]
    return ik.Motion(np.stack([p.rotations for p in poses]), rng.uniform(-0.3, 0.3, (10, 3)), fps=30)


@pytest.fixture(scope="module")
def glb(smplx, clip, tmp_path_factory):
    path = tmp_path_factory.mktemp("gltf") / "clip.glb"
    ik.export_gltf(path, smplx, clip, ik.load_default_mesh())
    return path


def test_blender_imports_the_clip_with_every_bone_where_the_engine_puts_it(smplx, clip, glb):
    bpy = pytest.importorskip("bpy", reason="Blender as a Python module (pip install bpy==4.2.0, Python 3.11)")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.scene.render.fps = 30  # one glTF key per Blender frame
    bpy.ops.import_scene.gltf(filepath=str(glb))
    armatures = [o for o in bpy.context.scene.objects if o.type == "ARMATURE"]
    assert len(armatures) == 1
    armature = armatures[0]
    assert sorted(b.name for b in armature.pose.bones) == sorted(smplx.joint_names)
    body = bpy.data.objects["body"]
    assert len(body.data.vertices) == len(ik.load_default_mesh().vertices)
    assert body.find_armature() == armature
    for frame in range(len(clip)):
        bpy.context.scene.frame_set(frame)
        heads = np.array([list(armature.matrix_world @ armature.pose.bones[name].head) for name in smplx.joint_names])
        p = smplx.world_positions(clip[frame])
        # Blender's importer turns glTF's +Y up into its +Z up: (x, y, z) -> (x, -z, y).
        expected = np.stack([p[:, 0], -p[:, 2], p[:, 1]], axis=1)
        assert np.abs(heads - expected).max() <= 1e-4, frame


def test_khronos_validator_finds_no_issue(glb):
    node = shutil.which("node")
    if node is None or not VALIDATOR.is_dir():
        pytest.skip("Khronos' gltf-validator is installed by `python3 dev.py test` when npm is on PATH")
    script = ("const v = require(process.argv[1]); const fs = require('fs');"
              "v.validateBytes(new Uint8Array(fs.readFileSync(process.argv[2])))"
              ".then(r => console.log(JSON.stringify(r.issues)), e => { console.error(e); process.exit(2); });")
    out = subprocess.run([node, "-e", script, str(VALIDATOR), str(glb)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    issues = json.loads(out.stdout)
    assert (issues["numErrors"], issues["numWarnings"]) == (0, 0), issues["messages"][:5]


def test_one_pose_is_a_still_skinned_skeleton(smplx, tmp_path):
    pygltflib = pytest.importorskip("pygltflib")
    pose = smplx.random_pose(np.random.default_rng(1), smplx.joint_names[:22])
    path = tmp_path / "pose.glb"
    ik.export_gltf(path, smplx, pose)
    gltf = pygltflib.GLTF2().load(str(path))
    assert not gltf.animations and not gltf.meshes
    assert [n.name for n in gltf.nodes] == list(smplx.joint_names)
    # Each node's rotation is the joint's local rotation (x, y, z, w), its translation the rest offset.
    elbow = smplx.index("left_elbow")
    x, y, z, w = gltf.nodes[elbow].rotation
    angle = 2 * np.arctan2(np.linalg.norm([x, y, z]), w)
    np.testing.assert_allclose(angle * np.array([x, y, z]) / np.linalg.norm([x, y, z]), pose.rotations[elbow], atol=1e-6)
    np.testing.assert_allclose(gltf.nodes[elbow].translation, smplx.rest_offsets[elbow], atol=1e-7)


def test_bad_input_gets_clear_errors(smplx, clip, tmp_path):
    with pytest.raises(ik.PoseError, match="Motion or Pose"):
        ik.export_gltf(tmp_path / "x.glb", smplx, np.zeros((55, 3)))
    bvh_like = ik.Motion(np.zeros((3, 38, 3)))
    with pytest.raises(ik.PoseError, match="38 joints"):
        ik.export_gltf(tmp_path / "x.glb", smplx, bvh_like)
    with pytest.raises(ik.PoseError, match="Mesh"):
        ik.export_gltf(tmp_path / "x.glb", smplx, clip, mesh="body")
