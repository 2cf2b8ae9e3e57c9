"""BVH import/export (skeletons/bvh.py) and the Motion clip (ik_engine/motion.py).

The reference for the file's meaning is an independent evaluation written here: a plain
per-joint loop over the raw text with scipy's intrinsic Euler rotations (upper-case order,
degrees), compared with the engine's batched FK of the imported Motion.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from ik_engine.errors import PoseError, SkeletonError, SkeletonFileError
from ik_engine.motion import Motion
from ik_engine.pose import Pose
from ik_engine.skeleton import Skeleton
from ik_engine.skeletons.bvh import load_bvh
from ik_engine.skeletons.bvh_write import matrix_to_euler, save_bvh

CMU = Path(__file__).parent / "data" / "cmu"
ORDERS = ["XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"]


# --------------------------------------------------------------------------- reference
def reference_world_positions(text: str, frames) -> tuple[list, np.ndarray]:
    """(names with None for End Sites, (len(frames), N, 3)) from BVH text, one joint at a time.

    Assumes one keyword per line (as the CMU files and the files below are written).
    """
    lines = text.splitlines()
    joints: list[dict] = []
    stack: list[int] = []
    k = 0
    while lines[k].strip() != "MOTION":
        tok = lines[k].split()
        k += 1
        if not tok:
            continue
        if tok[0] in ("ROOT", "JOINT"):
            joints.append({"name": tok[1], "parent": stack[-1] if stack else -1, "channels": []})
        elif tok[0] == "End":
            joints.append({"name": None, "parent": stack[-1], "channels": []})
        elif tok[0] == "{":
            stack.append(len(joints) - 1)
        elif tok[0] == "}":
            stack.pop()
        elif tok[0] == "OFFSET":
            joints[stack[-1]]["offset"] = np.array([float(v) for v in tok[1:4]])
        elif tok[0] == "CHANNELS":
            joints[stack[-1]]["channels"] = tok[2:]
    data = [line.split() for line in lines[k + 3:] if line.strip()]
    out = []
    for f in frames:
        values = [float(v) for v in data[f]]
        column = 0
        R_world, p_world = [], []
        for j in joints:
            position = j["offset"].copy()
            order, angles = "", []
            for ch in j["channels"]:
                if ch.endswith("position"):
                    position["XYZ".index(ch[0])] = values[column]
                else:
                    order += ch[0]
                    angles.append(values[column])
                column += 1
            R_local = Rotation.from_euler(order, angles, degrees=True).as_matrix() if order else np.eye(3)
            if j["parent"] < 0:
                R_world.append(R_local)
                p_world.append(position)
            else:
                Rp, pp = R_world[j["parent"]], p_world[j["parent"]]
                R_world.append(Rp @ R_local)
                p_world.append(pp + Rp @ position)
        out.append(p_world)
    return [j["name"] for j in joints], np.array(out)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# A small hierarchy with every rotation order, fewer-than-three channels, no channels,
# branching and End Sites (the root's channels put rotation before position).
MIXED_HIERARCHY = """HIERARCHY
ROOT root
{
OFFSET 1.0 2.0 3.0
CHANNELS 6 Yrotation Xrotation Zrotation Xposition Yposition Zposition
JOINT a
{
OFFSET 0.0 5.0 0.5
CHANNELS 3 Xrotation Yrotation Zrotation
JOINT b
{
OFFSET 1.5 4.0 0.0
CHANNELS 3 Zrotation Xrotation Yrotation
JOINT c
{
OFFSET 0.0 3.0 -1.0
CHANNELS 3 Yrotation Xrotation Zrotation
End Site
{
OFFSET 0.0 2.0 0.0
}
}
}
JOINT d
{
OFFSET -2.0 3.0 1.0
CHANNELS 3 Xrotation Zrotation Yrotation
JOINT e
{
OFFSET 0.0 0.0 4.0
CHANNELS 3 Yrotation Zrotation Xrotation
End Site
{
OFFSET 1.0 1.0 1.0
}
}
JOINT f
{
OFFSET 0.5 0.0 -3.0
CHANNELS 2 Zrotation Xrotation
JOINT g
{
OFFSET 0.0 -2.0 0.0
CHANNELS 1 Yrotation
JOINT h
{
OFFSET 0.0 -1.0 0.0
CHANNELS 0
End Site
{
OFFSET 0.0 -0.5 0.0
}
}
}
}
}
}
}
MOTION
"""
MIXED_CHANNELS = 6 + 3 * 5 + 2 + 1


def mixed_bvh(frames: int = 12, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    data = rng.uniform(-180.0, 180.0, size=(frames, MIXED_CHANNELS))
    data[:, 3:6] = rng.uniform(-50.0, 50.0, size=(frames, 3))
    data[0] = 0.0
    # Gimbal lock in the file's own orders: the middle angle at +-90 degrees.
    for frame, column, value in ((1, 1, 90.0), (2, 6 + 1, -90.0), (3, 6 + 3 + 1, 90.0)):
        if frame < frames:
            data[frame, column] = value
    rows = "\n".join(" ".join(f"{v:.6f}" for v in row) for row in data)
    return MIXED_HIERARCHY + f"Frames: {frames}\nFrame Time: 0.04\n" + rows + "\n"


# --------------------------------------------------------------------------- (a) CMU clips
@pytest.mark.parametrize("file, frames", [("131_01.bvh", 994), ("131_02.bvh", 1247), ("131_03.bvh", 1102)])
def test_cmu_clips_parse(file, frames):
    skel, motion = load_bvh(CMU / file)
    ends = [n for n in skel.joint_names if n.endswith("_end")]
    assert skel.num_joints == 31 + len(ends)
    assert sorted(ends) == sorted(
        ["LeftToe_end", "RightToe_end", "Head_end", "LFingers_end", "LThumb_end", "RFingers_end", "RThumb_end"]
    )
    assert skel.joint_names[0] == "Hips" and skel.parents[0] == -1
    assert skel.name == Path(file).stem
    assert len(motion) == frames and motion.rotations.shape == (frames, skel.num_joints, 3)
    assert motion.fps == pytest.approx(120.0, rel=1e-5)
    assert motion.joint_names == tuple(skel.joint_names)
    assert skel.rest_rotations is None and skel.radii is None
    # End Sites are locked leaves; every other joint is unlimited.
    for j, name in enumerate(skel.joint_names):
        if name.endswith("_end"):
            assert not skel.free_dofs[j].any()
            assert skel.joint_names[skel.parents[j]] + "_end" == name
            assert j not in skel.parents
        else:
            np.testing.assert_array_equal(skel.lower[j], -np.pi)
            np.testing.assert_array_equal(skel.upper[j], np.pi)
    if file == "131_01.bvh":  # values as printed in the file
        np.testing.assert_array_equal(skel.rest_offsets[skel.index("LeftHip")], [1.24777, -1.64261, 0.71711])
        np.testing.assert_array_equal(skel.rest_offsets[skel.index("Head_end")], [-0.00458, 1.63304, -0.00592])


def test_cmu_scale_gives_metres():
    skel, motion = load_bvh(CMU / "131_01.bvh")
    skel_m, motion_m = load_bvh(CMU / "131_01.bvh", scale=0.056444)
    np.testing.assert_allclose(skel_m.rest_offsets, skel.rest_offsets * 0.056444)
    np.testing.assert_allclose(motion_m.world_positions(skel_m), motion.world_positions(skel) * 0.056444, atol=1e-12)
    np.testing.assert_array_equal(motion_m.rotations, motion.rotations)
    heights = motion_m.world_positions(skel_m)[:, skel_m.index("Head_end"), 1]
    assert 1.2 < heights.mean() < 2.0  # a standing person, in metres
    with pytest.raises(SkeletonError, match="scale"):
        load_bvh(CMU / "131_01.bvh", scale=0.0)


# --------------------------------------------------------------------------- (b) independent FK
@pytest.mark.parametrize("file", ["131_01.bvh", "131_03.bvh"])
def test_cmu_fk_matches_independent_evaluation(file):
    path = CMU / file
    skel, motion = load_bvh(path)
    frames = [0, 1, 137, 500, len(motion) - 1]
    names, expected = reference_world_positions(path.read_text(), frames)
    assert len(names) == skel.num_joints
    assert [n for n in names if n] == [n for n in skel.joint_names if not n.endswith("_end")]
    got = motion.world_positions(skel)[frames]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    # Motion.world_positions agrees with Skeleton.world_positions frame by frame.
    np.testing.assert_allclose(got[2], skel.world_positions(motion[frames[2]]), atol=1e-12)


def test_mixed_orders_fk_matches_independent_evaluation(tmp_path):
    text = mixed_bvh()
    skel, motion = load_bvh(write(tmp_path / "mixed.bvh", text))
    frames = list(range(len(motion)))
    names, expected = reference_world_positions(text, frames)
    assert skel.joint_names == ["root", "a", "b", "c", "c_end", "d", "e", "e_end", "f", "g", "h", "h_end"]
    assert [n for n in names if n] == [n for n in skel.joint_names if not n.endswith("_end")]
    np.testing.assert_allclose(motion.world_positions(skel), expected, rtol=0, atol=1e-9)
    assert motion.fps == pytest.approx(25.0)
    # Root position channels are world positions: the translation is relative to the OFFSET.
    np.testing.assert_allclose(skel.rest_offsets[0], [1.0, 2.0, 3.0])
    np.testing.assert_allclose(motion.translations[0], [-1.0, -2.0, -3.0])


def test_crlf_tabs_scientific_notation_and_inline_braces(tmp_path):
    plain = mixed_bvh(frames=4, seed=5)
    skel, motion = load_bvh(write(tmp_path / "plain.bvh", plain))
    # Same file, differently dressed: CRLF, tabs, braces on the keyword line, exponents.
    lines = []
    for line in plain.splitlines():
        tok = line.split()
        if tok and tok[0] in ("OFFSET",) or (tok and tok[0][0] in "-0123456789"):
            line = "\t".join(f"{float(v):.9e}" if v[0] in "-0123456789." else v for v in tok)
        lines.append("\t" + line)
    dressed = "\r\n".join(lines).replace("\r\n\t{", " {").replace("Frame Time: 0.04", "Frame Time:\t4e-2") + "\r\n"
    assert "\r\n" in dressed and "e+00" in dressed and "ROOT root {" in dressed
    path = tmp_path / "dressed.bvh"
    path.write_bytes(dressed.encode())
    skel2, motion2 = load_bvh(path)
    assert skel2.joint_names == skel.joint_names
    np.testing.assert_allclose(skel2.rest_offsets, skel.rest_offsets, atol=1e-12)
    np.testing.assert_allclose(motion2.world_positions(skel2), motion.world_positions(skel), atol=1e-9)
    assert motion2.fps == pytest.approx(25.0)


# --------------------------------------------------------------------------- (c) round trips
def assert_round_trip(tmp_path, skel, motion, order="ZYX", atol=1e-6):
    out = tmp_path / f"round_{order}.bvh"
    save_bvh(out, skel, motion, rotation_order=order)
    skel2, motion2 = load_bvh(out)
    assert skel2.joint_names == skel.joint_names
    np.testing.assert_array_equal(skel2.parents, skel.parents)
    np.testing.assert_allclose(skel2.rest_offsets, skel.rest_offsets, atol=1e-9)
    np.testing.assert_array_equal(skel2.lower, skel.lower)
    assert len(motion2) == len(motion)
    assert motion2.fps == pytest.approx(motion.fps, rel=1e-9)
    np.testing.assert_allclose(motion2.world_positions(skel2), motion.world_positions(skel), rtol=0, atol=atol)
    # The orientations of joints with channels survive too (End Sites have none).
    R1, _ = motion.world_transforms(skel)
    R2, _ = motion2.world_transforms(skel2)
    real = [j for j, n in enumerate(skel.joint_names) if not n.endswith("_end")]
    np.testing.assert_allclose(R2[:, real], R1[:, real], atol=1e-8)
    return out


def test_cmu_round_trip(tmp_path):
    skel, motion = load_bvh(CMU / "131_01.bvh")
    out = assert_round_trip(tmp_path, skel, motion)
    text = out.read_text()
    assert "CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation" in text
    assert text.count("CHANNELS 3 Zrotation Yrotation Xrotation") == 30
    assert text.count("End Site") == 7
    assert "Frames: 994" in text


@pytest.mark.parametrize("order", ORDERS)
def test_mixed_round_trip_in_every_order(tmp_path, order):
    skel, motion = load_bvh(write(tmp_path / "mixed.bvh", mixed_bvh(frames=30, seed=1)))
    assert_round_trip(tmp_path, skel, motion, order)


@pytest.mark.parametrize("order", ORDERS)
def test_round_trip_through_gimbal_lock(tmp_path, order):
    """Rotations whose middle Euler angle in the written order is exactly or nearly +-90 degrees."""
    skel, _ = load_bvh(write(tmp_path / "mixed.bvh", mixed_bvh(frames=1)))
    rng = np.random.default_rng(7)
    T, J = 8, skel.num_joints
    angles = rng.uniform(-np.pi, np.pi, size=(T, J, 3))
    angles[:, :, 1] = np.array([1, -1, 1, -1, 1, -1, 1, -1])[:, None] * (
        np.pi / 2 - np.array([0, 0, 1e-12, 1e-12, 1e-9, 1e-9, 1e-6, 1e-6])[:, None]
    )
    R = Rotation.from_euler(order, angles.reshape(-1, 3)).as_matrix()
    rotations = Rotation.from_matrix(R).as_rotvec().reshape(T, J, 3)
    motion = Motion(rotations, rng.normal(size=(T, 3)), 30.0, skel.joint_names)
    assert_round_trip(tmp_path, skel, motion, order)


def test_round_trip_of_a_skeleton_with_rest_rotations_and_plain_leaves(tmp_path):
    """Rest rotations are folded into the channels; a leaf that is no End Site gets one at a zero
    offset, which reading drops: the skeleton comes back with its own joints."""
    rest = Rotation.from_euler("xyz", [[0, 0, 0], [30, 0, 10], [0, -45, 90]], degrees=True).as_matrix()
    skel = Skeleton(["base", "mid", "tip"], [-1, 0, 1], [[0, 1, 0], [0, 2, 0], [1, 0, 0]], rest_rotations=rest)
    rng = np.random.default_rng(3)
    motion = Motion(rng.normal(size=(5, 3, 3)), rng.normal(size=(5, 3)), 60.0)
    out = tmp_path / "rest.bvh"
    save_bvh(out, skel, motion, rotation_order="YZX")
    skel2, motion2 = load_bvh(out)
    assert skel2.joint_names == ["base", "mid", "tip"]
    assert "End Site" in out.read_text()  # the format's leaf marker is still written
    np.testing.assert_allclose(motion2.world_positions(skel2), motion.world_positions(skel), atol=1e-6)


def test_a_saved_smplx_clip_reads_back_with_its_55_joints(tmp_path, smplx):
    rng = np.random.default_rng(2)
    poses = [smplx.random_pose(rng) for _ in range(3)]
    motion = Motion(np.stack([p.rotations for p in poses]), rng.normal(size=(3, 3)) * 0.1, 30.0)
    save_bvh(tmp_path / "smplx.bvh", smplx, motion)
    skel2, motion2 = load_bvh(tmp_path / "smplx.bvh")
    assert sorted(skel2.joint_names) == sorted(smplx.joint_names)
    order = [skel2.index(n) for n in smplx.joint_names]
    np.testing.assert_allclose(motion2.world_positions(skel2)[:, order], motion.world_positions(smplx), atol=1e-6)


def test_save_scale_and_argument_checks(tmp_path):
    skel, motion = load_bvh(CMU / "131_01.bvh", scale=0.056444)
    short = motion[:5]
    out = tmp_path / "cmu_units.bvh"
    save_bvh(out, skel, short, scale=1 / 0.056444, precision=6)
    skel2, motion2 = load_bvh(out)
    original_skel, original = load_bvh(CMU / "131_01.bvh")
    np.testing.assert_allclose(skel2.rest_offsets, original_skel.rest_offsets, atol=1e-6)
    np.testing.assert_allclose(motion2.world_positions(skel2), original[:5].world_positions(original_skel), atol=1e-5)
    with pytest.raises(SkeletonError, match="permutation"):
        save_bvh(out, skel, short, rotation_order="XXY")
    with pytest.raises(PoseError, match="joints"):
        save_bvh(out, skel, Motion(np.zeros((2, 3, 3))))
    with pytest.raises(SkeletonFileError, match="cannot write"):
        save_bvh(tmp_path / "no" / "such" / "dir.bvh", skel, short)


@pytest.mark.parametrize("order", ORDERS)
def test_matrix_to_euler_reproduces_the_matrix(order):
    rng = np.random.default_rng(11)
    angles = rng.uniform(-np.pi, np.pi, size=(200, 3))
    angles[:50, 1] = np.sign(angles[:50, 1]) * (np.pi / 2 - np.geomspace(1e-16, 1e-3, 50))
    angles[50:60, 1] = np.pi / 2 * np.array([1, -1] * 5)
    R = Rotation.from_euler(order, angles).as_matrix()
    euler = matrix_to_euler(R, order)
    np.testing.assert_allclose(Rotation.from_euler(order, euler).as_matrix(), R, atol=1e-13)
    assert np.all(np.abs(euler[:, 1]) <= np.pi / 2 + 1e-15)
    # Away from the lock the angles themselves are recovered (scipy agrees).
    free = slice(60, None)
    np.testing.assert_allclose(euler[free], Rotation.from_matrix(R[free]).as_euler(order), atol=1e-9)


# --------------------------------------------------------------------------- (d) closed form
def test_hand_written_two_joint_file(tmp_path):
    text = """HIERARCHY
ROOT base
{
\tOFFSET 1 2 3
\tCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
\tJOINT arm
\t{
\t\tOFFSET 0 0 1
\t\tCHANNELS 3 Zrotation Yrotation Xrotation
\t\tEnd Site
\t\t{
\t\t\tOFFSET 2 0 0
\t\t}
\t}
}
MOTION
Frames: 3
Frame Time: 0.5
1 2 3 90 0 0 0 0 0
10 20 30 90 90 0 0 0 0
1 2 3 0 0 0 0 0 90
"""
    skel, motion = load_bvh(write(tmp_path / "two.bvh", text))
    assert skel.joint_names == ["base", "arm", "arm_end"]
    assert motion.fps == 2.0
    p = motion.world_positions(skel)
    # Frame 0: base turned 90 degrees about Z. arm's offset (0,0,1) is unaffected, and the
    # end site's (2,0,0) becomes (0,2,0).
    np.testing.assert_allclose(p[0], [[1, 2, 3], [1, 2, 4], [1, 4, 4]], atol=1e-12)
    # Frame 1: base at (10,20,30), R = Rz(90) @ Rx(90) (intrinsic, in the listed order):
    # (0,0,1) -> Rx: (0,-1,0) -> Rz: (1,0,0). The extrinsic reading would give (0,-1,0).
    # (2,0,0) -> Rx: (2,0,0) -> Rz: (0,2,0).
    np.testing.assert_allclose(p[1], [[10, 20, 30], [11, 20, 30], [11, 22, 30]], atol=1e-12)
    np.testing.assert_allclose(motion.translations[1], [9, 18, 27])
    # Frame 2: arm turned 90 degrees about X: (2,0,0) stays (2,0,0).
    np.testing.assert_allclose(p[2], [[1, 2, 3], [1, 2, 4], [3, 2, 4]], atol=1e-12)
    np.testing.assert_allclose(motion.rotations[1, 0], Rotation.from_euler("ZX", [90, 90], degrees=True).as_rotvec())
    np.testing.assert_allclose(motion.rotations[0, 0], [0, 0, np.pi / 2])


def test_constant_position_channels_on_non_root_joints(tmp_path):
    text = """HIERARCHY
ROOT r
{
OFFSET 0 0 0
CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
JOINT j
{
OFFSET 9 9 9
CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
End Site
{
OFFSET 0 1 0
}
}
}
MOTION
Frames: 2
Frame Time: 0.1
0 0 0 0 0 0 0 2 0 0 0 0
0 0 0 0 0 0 0 2 0 90 0 0
"""
    skel, motion = load_bvh(write(tmp_path / "six.bvh", text))
    np.testing.assert_allclose(skel.rest_offsets[1], [0, 2, 0])  # the channels replace the OFFSET
    np.testing.assert_allclose(motion.world_positions(skel)[1, 2], [-1, 2, 0], atol=1e-12)
    varying = text.replace("0 0 0 0 0 0 0 2 0 90 0 0", "0 0 0 0 0 0 0 3 0 90 0 0")
    with pytest.raises(SkeletonFileError, match=r"'j'.*Yposition.*changes over the clip"):
        load_bvh(write(tmp_path / "stretch.bvh", varying))


def test_end_site_names_stay_unique(tmp_path):
    text = """HIERARCHY
ROOT r
{
OFFSET 0 0 0
CHANNELS 3 Zrotation Yrotation Xrotation
JOINT r_end
{
OFFSET 1 0 0
CHANNELS 3 Zrotation Yrotation Xrotation
End Site
{
OFFSET 1 0 0
}
}
End Site
{
OFFSET 0 1 0
}
End Site
{
OFFSET 0 0 1
}
}
MOTION
Frames: 1
Frame Time: 0.1
0 0 0 0 0 0
"""
    skel, motion = load_bvh(write(tmp_path / "names.bvh", text))
    assert skel.joint_names == ["r", "r_end", "r_end_end", "r_end2", "r_end3"]
    assert np.all(motion.translations == 0)  # no position channels: the root stays at its OFFSET
    assert_round_trip(tmp_path, skel, motion)


# --------------------------------------------------------------------------- (e) bad files
GOOD_SMALL = mixed_bvh(frames=3)


@pytest.mark.parametrize(
    "text, message",
    [
        (GOOD_SMALL[: GOOD_SMALL.index("JOINT e")], r"line \d+: the hierarchy ends"),
        (GOOD_SMALL[: GOOD_SMALL.index("Frames:")] + "Frames: 3\n", r"line \d+: the file ends .*Frame Time"),
        (GOOD_SMALL.rsplit("\n", 2)[0] + "\n", r"line \d+: 'Frames: 3' but only 2 frame lines"),
        (GOOD_SMALL[:-40] + "\n", r"line 64: frame 2 has \d+ values but the hierarchy declares 24 channels"),
        (GOOD_SMALL.replace("OFFSET 1.5 4.0 0.0", "OFFSET 1.5 4.0.1 0.0"), r"line 12: OFFSET y of 'b' must be a number, got '4.0.1'"),
        (GOOD_SMALL.replace("Frames: 3\nFrame Time: 0.04\n0.0", "Frames: 3\nFrame Time: 0.04\n0.0x"), r"line 62: frame 0: '0\.0x0*' is not a number"),
        ("HIERARCHY\nMOTION\nFrames: 0\nFrame Time: 0.1\n", r"line 1: the hierarchy has no joints"),
        ("", r"is empty"),
        ("\n \r\n", r"is empty"),
        ("MOTION\nFrames: 0\nFrame Time: 0.1\n", r"starts with HIERARCHY, got nothing"),
        (GOOD_SMALL.replace("Frames: 3", "Frames: 2"), r"line 64: frame line 3 is one more than 'Frames: 2' declares \(3 frame lines in all\)"),
        (GOOD_SMALL.replace("Frames: 3", "Frames: three"), r"line 60: 'Frames:' must be a whole number"),
        (GOOD_SMALL.replace("Frame Time: 0.04", "Frame Time: 0"), r"'Frame Time:' must be > 0"),
        (GOOD_SMALL.replace("CHANNELS 3 Xrotation Zrotation Yrotation", "CHANNELS 3 Xrotation Zrotation Wrotation"),
         r"line 27: unknown channel 'Wrotation' of joint 'd'"),
        (GOOD_SMALL.replace("CHANNELS 2 Zrotation Xrotation", "CHANNELS 3 Zrotation Xrotation"),
         r"line 41: CHANNELS 3 of joint 'f' lists only 2 channel names before 'JOINT'"),
        (GOOD_SMALL.replace("CHANNELS 2 Zrotation Xrotation", "CHANNELS 2 Zrotation Zrotation"), r"lists channel 'Zrotation' twice"),
        (GOOD_SMALL.replace("MOTION", "ROOT other\n{\nOFFSET 0 0 0\n}\nMOTION"), r"a second ROOT"),
        (GOOD_SMALL[: GOOD_SMALL.index("MOTION")], r"no MOTION section"),
        (GOOD_SMALL.replace("OFFSET 0.0 -0.5 0.0\n", ""), r"the End Site of 'h' has no OFFSET"),
        # Binary garbage before a brace once loaded without error (found by fuzzing).
        (GOOD_SMALL.replace("{", "\x00\xff{", 1), r"line 3: control character '\\x00' \(a binary or corrupted file\?\)"),
    ],
)
def test_bad_files_raise_skeleton_file_error(tmp_path, text, message):
    path = write(tmp_path / "bad.bvh", text)
    with pytest.raises(SkeletonFileError, match=message) as info:
        load_bvh(path)
    assert "bad.bvh" in str(info.value)


def test_truncated_cmu_file(tmp_path):
    raw = (CMU / "131_01.bvh").read_bytes()
    for cut in (300, len(raw) // 2, len(raw) - 100):
        path = tmp_path / "cut.bvh"
        path.write_bytes(raw[:cut])
        with pytest.raises(SkeletonFileError, match=r"cut\.bvh.*line \d+.*(truncated|frame 993 has)"):
            load_bvh(path)


def test_missing_file_and_duplicate_joint_names(tmp_path):
    with pytest.raises(SkeletonFileError, match=r"nowhere\.bvh.*does not exist"):
        load_bvh(tmp_path / "nowhere.bvh")
    with pytest.raises(SkeletonFileError, match=r"cannot read BVH file"):
        load_bvh(tmp_path)
    dup = GOOD_SMALL.replace("JOINT g", "JOINT a")
    with pytest.raises(SkeletonFileError, match=r"dup\.bvh.*'a' appears twice"):
        load_bvh(write(tmp_path / "dup.bvh", dup))


# --------------------------------------------------------------------------- (f) Motion
def test_motion_validation():
    R = np.zeros((4, 3, 3))
    with pytest.raises(PoseError, match=r"\(T, J, 3\)"):
        Motion(np.zeros((4, 3)))
    with pytest.raises(PoseError, match=r"\(T, J, 3\)"):
        Motion(np.zeros((4, 0, 3)))
    with pytest.raises(PoseError, match="must be numbers"):
        Motion([["a"]])
    bad = R.copy()
    bad[2, 1, 0] = np.nan
    with pytest.raises(PoseError, match="frame 2"):
        Motion(bad)
    with pytest.raises(PoseError, match=r"4 frames of rotations but 3 translations"):
        Motion(R, np.zeros((3, 3)))
    with pytest.raises(PoseError, match=r"\(T, 3\)"):
        Motion(R, np.zeros((4, 2)))
    for fps in (0, -1.0, float("nan"), float("inf"), "fast", True):
        with pytest.raises(PoseError, match="fps"):
            Motion(R, None, fps)
    with pytest.raises(PoseError, match="3 joints per frame but 2 joint_names"):
        Motion(R, None, 30, ["a", "b"])
    with pytest.raises(PoseError, match="'a' appears twice"):
        Motion(R, None, 30, ["a", "b", "a"])
    with pytest.raises(PoseError, match="non-empty string"):
        Motion(R, None, 30, ["a", "", "c"])
    with pytest.raises(PoseError, match="not one string"):
        Motion(R, None, 30, "abc")


def test_motion_is_an_immutable_sequence_of_poses():
    rng = np.random.default_rng(0)
    R, t = rng.normal(size=(5, 3, 3)), rng.normal(size=(5, 3))
    motion = Motion(R, t, 24, ["a", "b", "c"])
    assert len(motion) == 5 and motion.num_joints == 3 and motion.fps == 24.0
    assert motion.duration == pytest.approx(5 / 24)
    np.testing.assert_allclose(motion.times, np.arange(5) / 24)
    assert motion[1] == Pose(R[1], t[1]) and motion[-1] == Pose(R[4], t[4])
    assert [p == q for p, q in zip(motion, motion.poses)] == [True] * 5
    part = motion[1:3]
    assert isinstance(part, Motion) and len(part) == 2 and part.joint_names == ("a", "b", "c")
    with pytest.raises(IndexError):
        motion[5]
    with pytest.raises(TypeError):
        motion["a"]
    with pytest.raises(AttributeError):
        motion.fps = 10
    with pytest.raises(ValueError):
        motion.rotations[0, 0, 0] = 1.0
    R[0, 0, 0] = 99.0  # the clip keeps its own copy
    assert motion.rotations[0, 0, 0] != 99.0
    again = Motion.from_poses(motion.poses, 24, motion.joint_names)
    np.testing.assert_array_equal(again.rotations, motion.rotations)
    np.testing.assert_array_equal(again.translations, motion.translations)
    assert len(Motion.from_poses([], 24, ["a"])) == 0
    with pytest.raises(PoseError, match="frame 1 has 2 joints"):
        Motion.from_poses([Pose(np.zeros((3, 3))), Pose(np.zeros((2, 3)))])


def test_motion_world_positions_and_skeleton_checks(arm2):
    rng = np.random.default_rng(1)
    motion = Motion(rng.normal(size=(6, 3, 3)), rng.normal(size=(6, 3)), 30, arm2.joint_names)
    p = motion.world_positions(arm2)
    assert p.shape == (6, 3, 3)
    for f in range(6):
        np.testing.assert_allclose(p[f], arm2.world_positions(motion[f]), atol=1e-12)
    with pytest.raises(PoseError, match="motion joint 1 is 'knee'"):
        Motion(motion.rotations, None, 30, ["shoulder", "knee", "hand"]).world_positions(arm2)
    with pytest.raises(PoseError, match="2 joints per frame"):
        Motion(np.zeros((1, 2, 3))).world_positions(arm2)
    Motion(motion.rotations).world_positions(arm2)  # no names: only the count is checked


def test_motion_npz_round_trip(tmp_path):
    skel, motion = load_bvh(CMU / "131_01.bvh")
    path = tmp_path / "clip.motion"  # any name: nothing is appended
    motion.save_npz(path)
    assert path.exists()
    again = Motion.load_npz(path)
    np.testing.assert_array_equal(again.rotations, motion.rotations)
    np.testing.assert_array_equal(again.translations, motion.translations)
    assert again.fps == motion.fps and again.joint_names == motion.joint_names
    unnamed = Motion(np.zeros((2, 3, 3)), None, 10)
    unnamed.save_npz(tmp_path / "unnamed.npz")
    assert Motion.load_npz(tmp_path / "unnamed.npz").joint_names is None
    with pytest.raises(SkeletonFileError, match=r"missing\.npz.*does not exist"):
        Motion.load_npz(tmp_path / "missing.npz")
    np.savez(tmp_path / "partial.npz", rotations=np.zeros((2, 3, 3)))
    with pytest.raises(SkeletonFileError, match=r"partial\.npz.*lacks the arrays \['translations', 'fps'\]"):
        Motion.load_npz(tmp_path / "partial.npz")
    np.savez(tmp_path / "wrong.npz", rotations=np.zeros((2, 3, 3)), translations=np.zeros((2, 3)), fps=-1.0)
    with pytest.raises(SkeletonFileError, match=r"wrong\.npz.*fps"):
        Motion.load_npz(tmp_path / "wrong.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(SkeletonFileError, match=r"junk\.npz"):
        Motion.load_npz(tmp_path / "junk.npz")


def test_zero_frame_file_round_trip(tmp_path):
    text = "HIERARCHY\nROOT a\n{\nOFFSET 0 0 0\nCHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation\n"
    text += "End Site\n{\nOFFSET 0 1 0\n}\n}\nMOTION\nFrames: 0\nFrame Time: 0.1\n"
    skel, motion = load_bvh(write(tmp_path / "empty_clip.bvh", text))
    assert skel.joint_names == ["a", "a_end"] and len(motion) == 0
    assert motion.world_positions(skel).shape == (0, 2, 3)
    out = tmp_path / "again.bvh"
    save_bvh(out, skel, motion)
    skel2, motion2 = load_bvh(out)
    assert skel2.joint_names == ["a", "a_end"] and len(motion2) == 0 and motion2.fps == pytest.approx(10.0)


def test_motion_pickles_and_copies():
    """A clip survives pickling (a data pipeline's workers) with its frames, rate and names;
    being immutable, its copies are the clip itself."""
    import copy
    import pickle

    rng = np.random.default_rng(1)
    motion = Motion(rng.normal(size=(4, 3, 3)), rng.normal(size=(4, 3)), 24, ["a", "b", "c"])
    loaded = pickle.loads(pickle.dumps(motion))
    np.testing.assert_array_equal(loaded.rotations, motion.rotations)
    np.testing.assert_array_equal(loaded.translations, motion.translations)
    assert loaded.fps == 24.0 and loaded.joint_names == ("a", "b", "c") and not loaded.rotations.flags.writeable
    assert copy.copy(motion) is motion and copy.deepcopy(motion) is motion
