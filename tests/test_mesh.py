# Copyright ik-engine developers. Licensed under the Apache License, Version 2.0.
"""Tests of ik_engine/mesh.py (the shipped mesh, linear blend skinning), ik_engine/export.py
(glTF) and ik_engine/render.py (PNG), and of the mesh derivation script."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import ik_engine as ik
from ik_engine.errors import SkeletonError
from ik_engine.mesh import Mesh, load_default_mesh, skin

REPO_ROOT = Path(__file__).resolve().parent.parent
MESH_FILE = REPO_ROOT / "skeletons" / "data" / "smplx_default_mesh.npz"
SCRIPT = REPO_ROOT / "scripts" / "derive_default_mesh.py"
MAKEHUMAN_DIR = REPO_ROOT / ".." / "shared" / "data" / "makehuman"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def mesh() -> Mesh:
    return load_default_mesh()


def rot_y(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def winding_numbers(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Generalised winding number of each point w.r.t. a triangle mesh (1 inside, 0 outside),
    from the solid angles of the triangles (Van Oosterom and Strackee)."""
    tri = vertices[faces]
    out = []
    for p in points:
        a, b, c = (tri[:, i] - p for i in range(3))
        la, lb, lc = (np.linalg.norm(x, axis=1) for x in (a, b, c))
        det = np.einsum("ij,ij->i", a, np.cross(b, c))
        dot = lambda x, y: np.einsum("ij,ij->i", x, y)  # noqa: E731
        den = la * lb * lc + dot(a, b) * lc + dot(b, c) * la + dot(c, a) * lb
        out.append(2.0 * np.arctan2(det, den).sum() / (4.0 * np.pi))
    return np.array(out)


def sample_pose(skel) -> ik.Pose:
    """Elbows and knees bent, arms lowered, head turned: a moderate pose within typical limits."""
    r = np.zeros((skel.num_joints, 3))
    r[skel.index("left_shoulder")] = [0.0, 0.0, -0.9]
    r[skel.index("right_shoulder")] = [0.0, 0.0, 0.9]
    r[skel.index("left_elbow")] = [0.0, -1.2, 0.0]
    r[skel.index("right_elbow")] = [0.0, 1.0, 0.0]
    r[skel.index("left_hip")] = [-0.8, 0.0, 0.0]
    r[skel.index("left_knee")] = [1.2, 0.0, 0.0]
    r[skel.index("neck")] = [0.0, 0.5, 0.0]
    return ik.Pose(r, [0.1, 0.0, -0.2])


# ------------------------------------------------------------------ the shipped file


def test_file_is_small_and_well_typed():
    assert MESH_FILE.stat().st_size < 3 * 2**20
    with np.load(MESH_FILE, allow_pickle=False) as data:
        assert data["vertices"].dtype == np.float32 and data["vertices"].shape[1] == 3
        assert data["faces"].dtype == np.int32 and data["faces"].shape[1] == 3
        assert data["joint_indices"].dtype == np.int16 and data["joint_indices"].shape == (len(data["vertices"]), 4)
        assert data["joint_weights"].dtype == np.float32 and data["joint_weights"].shape == (len(data["vertices"]), 4)
        w = data["joint_weights"].astype(np.float64)
        np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-6)
        assert (w >= 0).all()
        # Sorted by weight, heaviest first; padding slots carry zero weight.
        assert (np.diff(w, axis=1) <= 0).all()
        assert data["joint_indices"].min() >= 0 and data["joint_indices"].max() < 55


def test_default_mesh_loads(mesh, smplx):
    assert mesh.num_vertices > 10_000 and mesh.num_faces > 20_000
    assert mesh.joint_names == tuple(smplx.joint_names)
    assert set(np.unique(mesh.faces)) == set(range(mesh.num_vertices))  # no unused vertices
    np.testing.assert_allclose(mesh.joint_weights.sum(axis=1), 1.0, atol=1e-12)
    assert load_default_mesh() is mesh  # cached
    with pytest.raises(ValueError):
        mesh.vertices[0, 0] = 1.0  # read-only


def test_plausible_size_and_placement(mesh):
    v = mesh.vertices
    height = v[:, 1].max() - v[:, 1].min()
    assert 1.6 < height < 1.8
    assert abs(v[:, 1].min()) < 0.01  # soles on the ground, y = 0
    span = v[:, 0].max() - v[:, 0].min()  # T-pose: arm span about the stature
    assert 0.9 * height < span < 1.1 * height
    assert abs(v[:, 0].mean()) < 1e-3
    # Faces forward: the nose and toes are the frontmost points, at +Z.
    assert v[:, 2].max() > 0.15 and v[:, 2].min() > -0.2


def test_mirror_symmetric(mesh):
    """Every mirrored vertex (x -> -x) has a vertex within 1 mm (checked on a sample)."""
    v = mesh.vertices
    sample = v[::7] * np.array([-1.0, 1.0, 1.0])
    d2 = (sample**2).sum(1)[:, None] - 2.0 * sample @ v.T + (v**2).sum(1)[None]
    assert np.sqrt(np.maximum(d2.min(axis=1), 0.0)).max() < 1e-3


def test_skeleton_lies_inside_the_mesh(mesh, smplx):
    """All 55 rest joints have winding number 1 (inside; this also says the faces point out),
    and stay inside in a moderate pose."""
    w = winding_numbers(smplx.rest_positions(), mesh.vertices, mesh.faces)
    assert np.all(np.abs(w - 1.0) < 0.05), dict(zip(smplx.joint_names, np.round(w, 2)))
    far = winding_numbers(np.array([[0.0, 2.5, 0.0], [0.6, 0.5, 0.0]]), mesh.vertices, mesh.faces)
    assert np.all(np.abs(far) < 1e-6)
    pose = sample_pose(smplx)
    posed = skin(mesh, smplx, pose)
    w = winding_numbers(smplx.world_positions(pose), posed, mesh.faces)
    assert np.all(w > 0.5), dict(zip(smplx.joint_names, np.round(w, 2)))


# ------------------------------------------------------------------ skinning


def test_rest_pose_returns_rest_vertices_exactly(mesh, smplx):
    v = skin(mesh, smplx, smplx.rest_pose())
    assert v.shape == (mesh.num_vertices, 3)
    np.testing.assert_array_equal(v, mesh.vertices)


def test_root_translation_moves_every_vertex(mesh, smplx):
    t = np.array([0.3, -0.1, 2.0])
    v = skin(mesh, smplx, ik.Pose(np.zeros((55, 3)), t))
    np.testing.assert_allclose(v - mesh.vertices, np.broadcast_to(t, v.shape), atol=1e-12)


def test_single_joint_rotation_is_rigid_for_fully_weighted_vertices(mesh, smplx):
    """Rotate the left elbow by 70 deg about Y: the vertices that follow only the forearm or the
    hand turn about the elbow by that closed-form rotation, keeping their distance to it;
    vertices that follow nothing below the elbow stay."""
    elbow = smplx.index("left_elbow")
    below = {j for j in range(55) if elbow in smplx.ancestors[j]}
    angle = np.radians(70.0)
    r = np.zeros((55, 3))
    r[elbow] = [0.0, angle, 0.0]
    posed = skin(mesh, smplx, ik.Pose(r))
    p_elbow = smplx.rest_positions()[elbow]

    w, idx = mesh.joint_weights, mesh.joint_indices
    share_below = (w * np.isin(idx, list(below))).sum(axis=1)
    rigid = np.flatnonzero(share_below > 1.0 - 1e-9)
    still = np.flatnonzero(share_below < 1e-12)
    assert len(rigid) > 500 and len(still) > 10_000
    expected = (mesh.vertices[rigid] - p_elbow) @ rot_y(angle).T + p_elbow
    np.testing.assert_allclose(posed[rigid], expected, atol=1e-12)
    np.testing.assert_allclose(
        np.linalg.norm(posed[rigid] - p_elbow, axis=1), np.linalg.norm(mesh.vertices[rigid] - p_elbow, axis=1), atol=1e-12
    )
    np.testing.assert_array_equal(posed[still], mesh.vertices[still])


def test_blending_of_two_joints_in_closed_form(arm2):
    """A hand-made mesh on the planar arm: a vertex split 50/50 between shoulder and elbow
    lands at the mean of its two rigidly moved copies."""
    verts = np.array([[0.1, 0.02, 0.0], [0.3, 0.0, 0.01], [0.45, -0.03, 0.0]])
    mesh = Mesh(verts, [[0, 1, 2]], [[0, 0], [0, 1], [1, 2]], [[1.0, 0.0], [1.0, 1.0], [3.0, 1.0]])
    np.testing.assert_allclose(mesh.joint_weights, [[1.0, 0.0], [0.5, 0.5], [0.75, 0.25]])
    a, b = 0.4, 0.9
    posed = skin(mesh, arm2, ik.Pose([[0, 0, a], [0, 0, b], [0, 0, 0]]))
    elbow = np.array([0.3, 0.0, 0.0])
    elbow_posed = rot_z(a) @ elbow

    def by_shoulder(x):
        return rot_z(a) @ x

    def by_elbow(x):  # elbow and hand frames both turn by a + b about the moved elbow
        return elbow_posed + rot_z(a + b) @ (x - elbow)

    np.testing.assert_allclose(posed[0], by_shoulder(verts[0]), atol=1e-12)
    np.testing.assert_allclose(posed[1], 0.5 * by_shoulder(verts[1]) + 0.5 * by_elbow(verts[1]), atol=1e-12)
    # elbow and hand (no rotation of its own) move the same way
    np.testing.assert_allclose(posed[2], by_elbow(verts[2]), atol=1e-12)


def test_mismatched_skeleton_is_refused(mesh, arm2):
    with pytest.raises(SkeletonError, match="55 joints"):
        skin(mesh, arm2, arm2.rest_pose())
    small = Mesh([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [[0, 1, 2]], [[0], [1], [7]], [[1.0], [1.0], [1.0]])
    with pytest.raises(SkeletonError, match="joint index 7"):
        skin(small, arm2, arm2.rest_pose())


def test_malformed_meshes_are_refused():
    v = np.zeros((3, 3))
    with pytest.raises(SkeletonError, match=r"\(V, 3\)"):
        Mesh(np.zeros((3, 2)), [[0, 1, 2]], np.zeros((3, 1)), np.ones((3, 1)))
    with pytest.raises(SkeletonError, match="outside"):
        Mesh(v, [[0, 1, 3]], np.zeros((3, 1)), np.ones((3, 1)))
    with pytest.raises(SkeletonError, match="shape"):
        Mesh(v, [[0, 1, 2]], np.zeros((2, 1)), np.ones((2, 1)))
    with pytest.raises(SkeletonError, match="no skinning weight"):
        Mesh(v, [[0, 1, 2]], np.zeros((3, 1)), [[1.0], [0.0], [1.0]])
    with pytest.raises(SkeletonError, match=">= 0"):
        Mesh(v, [[0, 1, 2]], np.zeros((3, 1)), [[1.0], [-1.0], [1.0]])


# ------------------------------------------------------------------ glTF export


def test_export_glb_round_trip(tmp_path, mesh, smplx):
    trimesh = pytest.importorskip("trimesh", reason="trimesh (the [mesh] extra) is not installed")
    from ik_engine.export import export_glb

    pose = sample_pose(smplx)
    path = tmp_path / "pose.glb"
    export_glb(path, smplx, pose, mesh=mesh)
    assert path.read_bytes()[:4] == b"glTF"
    scene = trimesh.load(path)
    body = scene.geometry["body"]
    assert len(body.vertices) == mesh.num_vertices and len(body.faces) == mesh.num_faces
    np.testing.assert_allclose(body.vertices, skin(mesh, smplx, pose), atol=1e-6)  # Y up, metres
    bones = scene.geometry["skeleton"]
    lo, hi = bones.bounds
    joints = smplx.world_positions(pose)
    assert np.all(lo <= joints.min(axis=0)) and np.all(hi >= joints.max(axis=0))
    assert np.all(hi - lo < joints.max(axis=0) - joints.min(axis=0) + 0.05)


def test_export_glb_without_mesh(tmp_path, smplx):
    trimesh = pytest.importorskip("trimesh", reason="trimesh (the [mesh] extra) is not installed")
    from ik_engine.export import export_glb

    path = tmp_path / "rest.glb"
    export_glb(path, smplx, smplx.rest_pose())
    assert set(trimesh.load(path).geometry) == {"skeleton"}


def test_export_glb_names_the_extra_when_trimesh_is_missing(tmp_path, smplx, monkeypatch):
    from ik_engine.export import export_glb

    monkeypatch.setitem(sys.modules, "trimesh", None)  # makes `import trimesh` fail
    with pytest.raises(ImportError, match=r"pip install \"trimesh>=4\".*extra 'mesh'"):
        export_glb(tmp_path / "x.glb", smplx, smplx.rest_pose())


# ------------------------------------------------------------------ pictures


def _assert_png(path: Path, min_bytes: int = 10_000) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > min_bytes


def test_render_poses_writes_png(tmp_path, mesh, smplx):
    from ik_engine.render import render_poses

    path = tmp_path / "poses.png"
    render_poses(path, smplx, [smplx.rest_pose(), sample_pose(smplx)], mesh=mesh,
                 views=("front", "side", "top"), title="test", labels=["rest", "posed"])
    _assert_png(path, 40_000)
    stick = tmp_path / "stick.png"
    render_poses(stick, smplx, sample_pose(smplx))
    _assert_png(stick)


def test_render_strip_writes_png(tmp_path, mesh, smplx):
    from ik_engine.render import render_strip

    frames = [ik.Pose(sample_pose(smplx).rotations * a, [0.0, 0.0, 0.5 * a]) for a in np.linspace(0, 1, 9)]
    path = tmp_path / "strip.png"
    render_strip(path, smplx, frames, every=4, mesh=mesh, view="side", title="clip")
    _assert_png(path)
    with pytest.raises(ValueError, match="every"):
        render_strip(tmp_path / "bad.png", smplx, frames, every=0)


def test_shaded_triangles_cull_back_faces(mesh):
    from ik_engine.render import shaded_triangles

    front, colours = shaded_triangles(mesh.vertices, mesh.faces, "front")
    back, _ = shaded_triangles(mesh.vertices, mesh.faces, "back")
    assert 0.3 * mesh.num_faces < len(front) < 0.7 * mesh.num_faces
    assert len(front) + len(back) <= mesh.num_faces
    assert front.shape[1:] == (3, 2) and colours.shape == (len(front), 3)
    assert colours.min() >= 0.0 and colours.max() <= 1.0


# ------------------------------------------------------------------ derivation


def test_derivation_reproduces_the_shipped_file():
    if not (MAKEHUMAN_DIR / "base.obj").exists():
        pytest.skip(f"the MakeHuman source files are not at {MAKEHUMAN_DIR.resolve()} (only in the development checkout)")
    spec = importlib.util.spec_from_file_location("_derive_default_mesh", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    arrays, report = module.derive(MAKEHUMAN_DIR, REPO_ROOT / "skeletons" / "data" / "smplx_default.json")
    with np.load(MESH_FILE, allow_pickle=False) as shipped:
        assert set(shipped.files) == set(arrays)
        for key in ("faces", "joint_indices", "joint_names"):
            np.testing.assert_array_equal(shipped[key], arrays[key], err_msg=key)
        for key in ("vertices", "joint_weights"):
            assert shipped[key].dtype == arrays[key].dtype
            np.testing.assert_allclose(shipped[key], arrays[key], atol=1e-6, err_msg=key)
    # Every bone with weights maps onto a joint, and the segment rule holds for a few bones.
    assert report["bone_map"]["upperarm02.L"] == "left_shoulder"
    assert report["bone_map"]["lowerarm02.R"] == "right_elbow"
    assert report["bone_map"]["metacarpal3.L"] == "left_wrist"
    assert report["bone_map"]["toe1-1.L"] == "left_foot"
    assert report["bone_map"]["spine01"] == "spine3"
