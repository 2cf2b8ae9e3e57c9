"""Loading SMPL-X model files through smplx, and Pose <-> SMPL-X parameters.

No licensed model file is used: a synthetic SMPL-X model (random but well-formed arrays, fixed
seed, joints placed near the shipped CC0 default skeleton's) is written to a temporary folder.
"""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="SMPL-X model loading needs torch (pip install torch==2.13.0)")
smplx = pytest.importorskip("smplx", reason="SMPL-X model loading needs smplx (the extra 'smplx')")

from smplx.joint_names import JOINT_NAMES  # noqa: E402

import ik_engine as ik  # noqa: E402
from ik_engine.benchmarks.synthetic_smplx import synthetic_model  # noqa: E402
from ik_engine.errors import PoseError, SkeletonFileError  # noqa: E402
from ik_engine.skeletons.smplx_model import load_smplx_model, smplx_forward, smplx_module  # noqa: E402
from ik_engine.skeletons.smplx_params import (  # noqa: E402
    PARAM_KEYS,
    load_poses_npz,
    pose_from_smplx,
    pose_to_smplx,
    save_poses_npz,
)

V, F, J, L = 10475, 20908, 55, 51
FK_TOLERANCE = 1e-5  # metres, against smplx in float32
# Against smplx in float64: smplx's Rodrigues adds 1e-8 to each axis-angle component before
# taking the norm, so even float64 agrees only to about 1e-8 m.
TIGHT = 1e-7


def write_npz(path, arrays) -> str:
    np.savez_compressed(path, **arrays)
    return str(path)


@pytest.fixture(scope="module")
def model_arrays():
    return synthetic_model()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, model_arrays):
    folder = tmp_path_factory.mktemp("smplx_models")
    write_npz(folder / "SMPLX_NEUTRAL.npz", model_arrays)
    return folder


@pytest.fixture(scope="module")
def model_path(model_dir):
    return str(model_dir / "SMPLX_NEUTRAL.npz")


def random_pose(rng: np.random.Generator) -> ik.Pose:
    rotations = np.zeros((J, 3))
    axis = rng.normal(size=3)
    rotations[0] = axis / np.linalg.norm(axis) * rng.uniform(0.0, np.pi)  # global orientation
    rotations[1:22] = rng.normal(0.0, 0.5, (21, 3))  # body
    rotations[22] = rng.normal(0.0, 0.2, 3)  # jaw
    rotations[23:25] = rng.normal(0.0, 0.2, (2, 3))  # eyes
    rotations[25:55] = rng.normal(0.0, 0.4, (30, 3))  # both hands
    return ik.Pose(rotations, rng.uniform(-1.0, 1.0, 3))


def smplx_joints(module, pose: ik.Pose, betas, expression) -> np.ndarray:
    """smplx's own joints [:, :55] for a pose, calling the module directly."""
    dtype = module.shapedirs.dtype
    params = {k: torch.as_tensor(v, dtype=dtype) for k, v in pose_to_smplx(pose).items()}
    with torch.no_grad():
        out = module(betas=torch.as_tensor(betas[None], dtype=dtype),
                     expression=torch.as_tensor(expression[None], dtype=dtype), **params)
    return out.joints[0, :J].numpy().astype(np.float64)


# --------------------------------------------------------------------------- (a) FK equality
def test_joint_names_and_parents_are_smplx(model_path):
    skel = load_smplx_model(model_path)
    assert skel.joint_names == list(JOINT_NAMES[:J])
    assert skel.name == "smplx:SMPLX_NEUTRAL.npz"
    np.testing.assert_array_equal(skel.parents, ik.load_skeleton("smplx").parents)
    np.testing.assert_allclose(skel.lower, ik.load_skeleton("smplx").lower)
    np.testing.assert_allclose(skel.upper, ik.load_skeleton("smplx").upper)


def test_forward_kinematics_equals_smplx_for_100_shapes_and_poses(model_path):
    rng = np.random.default_rng(1)
    # The reference is smplx itself, built directly (not through ik_engine), in float32 as most
    # users run it: raw axis-angle hands need use_pca=False and flat_hand_mean=True.
    modules = {dtype: smplx.SMPLX(model_path=model_path, num_betas=10, num_expression_coeffs=10,
                                  use_pca=False, flat_hand_mean=True, dtype=dtype)
               for dtype in (torch.float32, torch.float64)}
    # Reading the file takes a fraction of a second: every 10th skeleton comes from the path,
    # the others from one module built by smplx_module (the same computation, file read once).
    loader = smplx_module(model_path)
    worst = {torch.float32: 0.0, torch.float64: 0.0}
    for i in range(100):
        betas = rng.normal(0.0, 1.5, 10)
        expression = rng.normal(0.0, 1.0, 10)
        skel = load_smplx_model(loader if i % 10 else model_path, betas=betas, expression=expression)
        assert skel.name == "smplx:SMPLX_NEUTRAL.npz"
        pose = random_pose(rng)
        ours = skel.world_positions(pose)
        for dtype, module in modules.items():
            error = np.abs(ours - smplx_joints(module, pose, betas, expression)).max()
            worst[dtype] = max(worst[dtype], float(error))
    print(f"\nmax FK error vs smplx joints[:, :55] over 100 shapes and poses: "
          f"{worst[torch.float32]:.2e} m (smplx float32), {worst[torch.float64]:.2e} m (smplx float64)")
    assert worst[torch.float32] <= FK_TOLERANCE
    assert worst[torch.float64] <= TIGHT


def test_rest_joints_follow_shape_and_expression(model_path):
    mean = load_smplx_model(model_path)
    shaped = load_smplx_model(model_path, betas=np.full(10, 2.0))
    smiling = load_smplx_model(model_path, expression=np.full(10, 2.0))
    assert np.abs(shaped.rest_positions() - mean.rest_positions()).max() > 0.01
    assert np.abs(smiling.rest_positions() - mean.rest_positions()).max() > 0.01
    # a shorter betas vector is the same as zero-padding it
    short = load_smplx_model(model_path, betas=[1.0, -0.5])
    padded = load_smplx_model(model_path, betas=[1.0, -0.5] + [0.0] * 8)
    np.testing.assert_allclose(short.rest_offsets, padded.rest_offsets, atol=1e-12)


def test_translation_maps_to_transl(model_path):
    skel = load_smplx_model(model_path, betas=np.ones(10))
    module = smplx_module(model_path, dtype=torch.float64)
    t = np.array([0.3, -0.2, 1.1])
    rotated = ik.Pose(np.zeros((J, 3)), t).with_rotation(0, [0.0, 1.2, 0.0])
    for pose in (ik.Pose(np.zeros((J, 3)), t), rotated):
        joints, _ = smplx_forward(module, pose, betas=np.ones(10))
        # the root sits at its shaped rest position + transl, whatever the root rotation
        np.testing.assert_allclose(joints[0], skel.rest_offsets[0] + t, atol=TIGHT)
        np.testing.assert_allclose(skel.world_positions(pose), joints, atol=TIGHT)


def test_smplx_forward_matches_direct_call_and_handles_hand_mean(model_path):
    rng = np.random.default_rng(2)
    pose = random_pose(rng)
    betas, expression = rng.normal(0, 1, 10), rng.normal(0, 1, 10)
    skel = load_smplx_model(model_path, betas=betas, expression=expression)
    joints, vertices = smplx_forward(model_path, pose, betas=betas, expression=expression)
    assert joints.shape == (J, 3) and vertices.shape == (V, 3)
    np.testing.assert_allclose(joints, skel.world_positions(pose), atol=TIGHT)
    # flat_hand_mean=False adds the file's mean hand pose to the given one: a raw hand pose
    # fed to it directly gives other joints; smplx_forward takes the mean off first.
    with_mean = smplx.SMPLX(model_path=model_path, use_pca=False, flat_hand_mean=False, dtype=torch.float64)
    direct = smplx_joints(with_mean, pose, betas, expression)
    assert np.abs(direct[25:] - joints[25:]).max() > 1e-3
    joints_mean, vertices_mean = smplx_forward(with_mean, pose, betas=betas, expression=expression)
    np.testing.assert_allclose(joints_mean, joints, atol=TIGHT)
    np.testing.assert_allclose(vertices_mean, vertices, atol=TIGHT)
    with pytest.raises(SkeletonFileError, match="use_pca=False"):
        smplx_forward(smplx.SMPLX(model_path=model_path), pose)
    # the rest pose of a flat_hand_mean=False module is still the flat hand
    np.testing.assert_allclose(load_smplx_model(with_mean, betas, expression=expression).rest_offsets,
                               skel.rest_offsets, atol=TIGHT)


def test_module_input(model_path):
    module = smplx.SMPLX(model_path=model_path, num_betas=4, use_pca=False, flat_hand_mean=True,
                         dtype=torch.float64)
    skel = load_smplx_model(module, betas=[0.5, -1.0])
    assert skel.name == "smplx:module"
    from_path = load_smplx_model(model_path, betas=[0.5, -1.0])
    np.testing.assert_allclose(skel.rest_offsets, from_path.rest_offsets, atol=TIGHT)
    with pytest.raises(SkeletonFileError, match="betas has 5 values but SMPL-X model module offers only 4"):
        load_smplx_model(module, betas=np.zeros(5))
    with pytest.raises(SkeletonFileError, match="num_betas for .*SMPLX_NEUTRAL.npz.* must be an integer in 1..10"):
        smplx_module(model_path, num_betas=11)
    with pytest.raises(SkeletonFileError, match="smplx.SMPLX module, got dict"):
        load_smplx_model({"v_template": 0})


def test_pkl_and_folder_give_the_same_skeleton(model_dir, model_path, model_arrays, tmp_path):
    betas = np.linspace(-1, 1, 10)
    from_npz = load_smplx_model(model_path, betas=betas)
    pkl = tmp_path / "my_model.pkl"
    with open(pkl, "wb") as fp:
        # float16 pose blend shapes halve the file (smplx reads them as float32; they do not move joints)
        pickle.dump(model_arrays | {"posedirs": model_arrays["posedirs"].astype(np.float16)}, fp, protocol=4)
    from_pkl = load_smplx_model(pkl, betas=betas)
    assert from_pkl.name == "smplx:my_model.pkl"
    from_folder = load_smplx_model(model_dir, betas=betas, gender="neutral")
    for skel in (from_pkl, from_folder):
        np.testing.assert_allclose(skel.rest_offsets, from_npz.rest_offsets, atol=1e-12)
    with pytest.raises(SkeletonFileError, match="SMPLX_FEMALE"):
        load_smplx_model(model_dir, gender="female")


def test_model_with_300_shape_components(tmp_path):
    path = write_npz(tmp_path / "SMPLX_MALE.npz", synthetic_model(seed=3, components=400))
    rng = np.random.default_rng(4)
    betas, expression = rng.normal(0, 1, 16), rng.normal(0, 1, 10)
    skel = load_smplx_model(path, betas=betas, expression=expression)
    module = smplx.SMPLX(model_path=path, num_betas=16, use_pca=False, flat_hand_mean=True, dtype=torch.float64)
    pose = random_pose(rng)
    np.testing.assert_allclose(skel.world_positions(pose), smplx_joints(module, pose, betas, expression), atol=TIGHT)
    with pytest.raises(SkeletonFileError, match="301 values"):
        load_smplx_model(path, betas=np.zeros(301))


def test_radii_scale_with_stature(model_path):
    default = ik.load_skeleton("smplx")
    skel = load_smplx_model(model_path, betas=np.full(10, 1.5))
    names = default.joint_names
    head, feet = names.index("head"), [names.index(n) for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")]
    stature = lambda p: p[head, 1] - p[feet, 1].min()  # noqa: E731
    ratio = stature(skel.rest_positions()) / stature(default.rest_positions())
    np.testing.assert_allclose(skel.radii, default.radii * ratio)


# --------------------------------------------------------------------------- (b) parameters
def test_pose_to_smplx_shapes_and_round_trip():
    pose = random_pose(np.random.default_rng(5))
    params = pose_to_smplx(pose)
    shapes = {k: v.shape for k, v in params.items()}
    assert shapes == {"global_orient": (1, 3), "body_pose": (1, 63), "jaw_pose": (1, 3), "leye_pose": (1, 3),
                      "reye_pose": (1, 3), "left_hand_pose": (1, 45), "right_hand_pose": (1, 45), "transl": (1, 3)}
    np.testing.assert_array_equal(params["body_pose"].reshape(21, 3), pose.rotations[1:22])
    np.testing.assert_array_equal(params["right_hand_pose"].reshape(15, 3), pose.rotations[40:55])
    assert pose_from_smplx(params) == pose
    # torch tensors, unbatched and (joints, 3) forms are accepted
    as_torch = {k: torch.as_tensor(v) for k, v in params.items()}
    unbatched = {k: v[0] for k, v in params.items()}
    per_joint = {k: v.reshape(-1, 3) for k, v in params.items()}
    for variant in (as_torch, unbatched, per_joint):
        assert pose_from_smplx(variant) == pose
    # optional blocks default to zero
    minimal = pose_from_smplx({"global_orient": params["global_orient"], "body_pose": params["body_pose"]})
    np.testing.assert_array_equal(minimal.rotations[22:], 0.0)
    np.testing.assert_array_equal(minimal.translation, 0.0)


def test_pose_from_smplx_errors():
    params = pose_to_smplx(random_pose(np.random.default_rng(6)))
    with pytest.raises(PoseError, match="body_pose"):
        pose_from_smplx({"global_orient": params["global_orient"]})
    with pytest.raises(PoseError, match=r"body_pose.*\(1, 60\)"):
        pose_from_smplx(params | {"body_pose": np.zeros((1, 60))})
    with pytest.raises(PoseError, match="SMPL, not SMPL-X"):
        pose_from_smplx(params | {"body_pose": np.zeros((1, 69))})
    with pytest.raises(PoseError, match="PCA"):
        pose_from_smplx(params | {"left_hand_pose": np.zeros((1, 6))})
    with pytest.raises(PoseError, match="batch of 4"):
        pose_from_smplx(params | {"transl": np.zeros((4, 3))})
    with pytest.raises(PoseError, match="finite"):
        pose_from_smplx(params | {"jaw_pose": np.array([[0.0, np.nan, 0.0]])})
    with pytest.raises(PoseError, match="55-joint"):
        pose_to_smplx(ik.Pose(np.zeros((3, 3))))


def test_poses_npz_round_trip_feeds_smplx(tmp_path, model_path):
    rng = np.random.default_rng(7)
    poses = [random_pose(rng) for _ in range(4)]
    path = save_poses_npz(tmp_path / "clip.npz", poses, betas=np.ones(10))
    assert path == tmp_path / "clip.npz" and path.is_file()
    assert load_poses_npz(path).poses == poses
    assert load_poses_npz(save_poses_npz(tmp_path / "one.poses", poses[0])).poses == poses[:1]

    class Clip:  # anything with (T, 55, 3) rotations and (T, 3) translations, like a Motion
        rotations = np.stack([p.rotations for p in poses])
        translations = np.stack([p.translation for p in poses])
        fps = 24.0

    assert load_poses_npz(save_poses_npz(tmp_path / "clip2.npz", Clip())).poses == poses
    with np.load(tmp_path / "clip2.npz") as data:
        assert float(data["fps"]) == float(data["mocap_framerate"]) == 24.0
        # The AMASS names of the same arrays, in SMPL-X joint order; an AMASS-only file reads back.
        np.testing.assert_array_equal(data["poses"], Clip.rotations.reshape(4, 165))
        np.testing.assert_array_equal(data["trans"], Clip.translations)
        np.savez(tmp_path / "amass.npz", poses=data["poses"], trans=data["trans"], mocap_framerate=data["mocap_framerate"],
                 gender=data["gender"])
    amass = load_poses_npz(tmp_path / "amass.npz")
    assert amass.poses == poses and amass.fps == 24.0 and list(amass.joint_names) == list(ik.load_skeleton("smplx").joint_names)
    with pytest.raises(PoseError, match="frame 0 has 3 joints"):
        save_poses_npz(tmp_path / "x.npz", [ik.Pose(np.zeros((3, 3)))])
    # the stored arrays go to smplx as they are, batch T
    with np.load(path) as data:
        assert data["body_pose"].shape == (4, 63) and data["left_hand_pose"].shape == (4, 45)
        module = smplx.SMPLX(model_path=model_path, batch_size=4, use_pca=False, flat_hand_mean=True,
                             dtype=torch.float64)
        with torch.no_grad():
            out = module(**{k: torch.as_tensor(data[k]) for k in PARAM_KEYS},
                         betas=torch.as_tensor(np.tile(data["betas"], (4, 1))))
    skel = load_smplx_model(model_path, betas=np.ones(10))
    for t, pose in enumerate(poses):
        np.testing.assert_allclose(out.joints[t, :J].numpy(), skel.world_positions(pose), atol=TIGHT)
    # malformed pose files
    np.savez(tmp_path / "bad.npz", global_orient=np.zeros((4, 3)), body_pose=np.zeros((3, 63)))
    with pytest.raises(SkeletonFileError, match="bad.npz.*frame count"):
        load_poses_npz(tmp_path / "bad.npz")
    np.savez(tmp_path / "nobody.npz", global_orient=np.zeros((4, 3)))
    with pytest.raises(SkeletonFileError, match="nobody.npz.*body_pose"):
        load_poses_npz(tmp_path / "nobody.npz")
    with pytest.raises(SkeletonFileError, match="missing.npz"):
        load_poses_npz(tmp_path / "missing.npz")


# --------------------------------------------------------------------------- (c) bad input
@pytest.mark.parametrize(
    "change, message",
    [
        ({"posedirs": None}, r"lacks the arrays \['posedirs'\]"),
        ({"J_regressor": np.zeros((54, V), np.float32)}, r"J_regressor must have shape \(55, 10475\), got \(54, 10475\)"),
        ({"kintree_table": np.zeros((2, 54), np.int64)}, r"kintree_table must have shape \(2, 55\)"),
        ({"weights": np.zeros((V - 1, J), np.float32)}, r"weights has shape \(10474, 55\) but other arrays give V = 10475"),
        ({"posedirs": np.zeros((V, 3, 207), np.float32)}, r"posedirs must have shape \(10475, 3, 486\)"),
        ({"shapedirs": np.zeros((V, 3, 10), np.float32)}, "at least 20"),
        ({"f": np.zeros((F, 3), np.float32)}, "f must hold integers"),
        ({"kintree_table": "parents"}, "parent"),
    ],
)
def test_malformed_model_files(tmp_path, model_arrays, change, message):
    arrays = dict(model_arrays)
    for key, value in change.items():
        if value is None:
            del arrays[key]
        elif isinstance(value, str):  # a tree that is not SMPL-X's: swap two parents
            table = arrays["kintree_table"].copy()
            table[0, 4], table[0, 5] = table[0, 5], table[0, 4]
            arrays["kintree_table"] = table
        else:
            arrays[key] = value
    path = write_npz(tmp_path / "broken.npz", arrays)
    with pytest.raises(SkeletonFileError, match=message) as info:
        load_smplx_model(path)
    assert "broken.npz" in str(info.value)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"betas": np.zeros(11)}, "betas has 11 values but .*SMPLX_NEUTRAL.npz.* offers only 10"),
        ({"betas": np.zeros((1, 10))}, r"betas for .*SMPLX_NEUTRAL.npz.* must be a non-empty 1-D vector, got shape \(1, 10\)"),
        ({"betas": [0.0, np.inf]}, "betas .* must be finite; entry 1"),
        ({"betas": []}, "non-empty"),
        ({"expression": np.zeros(12)}, "expression has 12 values"),
        ({"gender": "other"}, "gender must be one of"),
    ],
)
def test_bad_shape_arguments(model_path, kwargs, message):
    with pytest.raises(SkeletonFileError, match=message):
        load_smplx_model(model_path, **kwargs)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(SkeletonFileError, match=r"nowhere\.npz.* does not exist"):
        load_smplx_model(tmp_path / "nowhere.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(SkeletonFileError, match=r"text\.npz.* is not a readable \.npz"):
        load_smplx_model(tmp_path / "text.npz")
    (tmp_path / "text.pkl").write_text("not a pickle")
    with pytest.raises(SkeletonFileError, match=r"text\.pkl.* is not a readable pickle"):
        load_smplx_model(tmp_path / "text.pkl")
    (tmp_path / "model.obj").write_text("v 0 0 0")
    with pytest.raises(SkeletonFileError, match=r"model\.obj.* must end in \.npz or \.pkl"):
        load_smplx_model(tmp_path / "model.obj")
    with open(tmp_path / "list.pkl", "wb") as fp:
        pickle.dump([1, 2, 3], fp)
    with pytest.raises(SkeletonFileError, match=r"list\.pkl.* not a dict"):
        load_smplx_model(tmp_path / "list.pkl")


def test_missing_smplx_says_what_to_install(model_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "smplx", None)  # makes `import smplx` fail
    with pytest.raises(ImportError, match=r'pip install torch==2.13.0.*pip install smplx==0.1.28'):
        load_smplx_model(model_path)


def test_the_users_mesh_skins_like_smplx_without_pose_correctives(model_path, tmp_path):
    from ik_engine.skeletons.smplx_model import smplx_forward, smplx_mesh

    betas = np.linspace(-1.0, 1.0, 10)
    skel = ik.load_skeleton(model_path, betas=betas)
    # All 55 weights per vertex: the engine's skinning is then smplx's, less its correctives.
    mesh = smplx_mesh(model_path, betas=betas, weights_per_vertex=55)
    rest_vertices = smplx_forward(model_path, skel.rest_pose(), betas=betas)[1]
    np.testing.assert_allclose(ik.skin(mesh, skel, skel.rest_pose()), rest_vertices, atol=1e-7)
    pose = random_pose(np.random.default_rng(5))
    ours = ik.skin(mesh, skel, pose)
    theirs = smplx_forward(model_path, pose, betas=betas)[1]
    # The synthetic file's pose-corrective blend shapes touch only its first 300 vertices.
    untouched = np.arange(300, mesh.num_vertices)
    np.testing.assert_allclose(ours[untouched], theirs[untouched], atol=1e-6)
    assert smplx_mesh(model_path, betas=betas).joint_indices.shape == (mesh.num_vertices, 4)
    ik.export_glb(tmp_path / "user.glb", skel, pose, mesh)
    assert (tmp_path / "user.glb").stat().st_size > 1000


def test_render_command_with_a_model_file(model_path, tmp_path):
    from ik_engine.cli import main

    out = tmp_path / "user.png"
    assert main(["render", "--model", str(model_path), "--betas", "0.5", "-0.5", "--out", str(out), "--views", "front"]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
