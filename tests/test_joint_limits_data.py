"""Checks of skeletons/data/smplx_joint_limits.json (the anatomical joint-limit table)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / ".." / "skeletons" / "data" / "smplx_joint_limits.json"
GENERATOR = ROOT / "scripts" / "make_joint_limits.py"
DOC = ROOT / "docs" / "joint-limits.md"

# SMPL-X joint order, written out here as an independent truth (the smplx package's JOINT_NAMES[:55]).
SMPLX_JOINTS = [
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "jaw", "left_eye_smplhf", "right_eye_smplhf",
    "left_index1", "left_index2", "left_index3", "left_middle1", "left_middle2", "left_middle3",
    "left_pinky1", "left_pinky2", "left_pinky3", "left_ring1", "left_ring2", "left_ring3",
    "left_thumb1", "left_thumb2", "left_thumb3",
    "right_index1", "right_index2", "right_index3", "right_middle1", "right_middle2",
    "right_middle3", "right_pinky1", "right_pinky2", "right_pinky3", "right_ring1", "right_ring2",
    "right_ring3", "right_thumb1", "right_thumb2", "right_thumb3",
]
MIDLINE = ["pelvis", "spine1", "spine2", "spine3", "neck", "head", "jaw"]
X, Y, Z = 0, 1, 2


@pytest.fixture(scope="module")
def doc():
    with open(DATA, encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def joints(doc):
    return doc["joints"]


def test_header(doc):
    assert doc["units"] == "degrees"
    assert doc["description"].strip()
    assert "axis-angle" in doc["convention"]


def test_all_55_joints_in_smplx_order(joints):
    assert list(joints) == SMPLX_JOINTS


def test_boxes_are_well_formed(joints):
    for name, limit in joints.items():
        lower, upper = limit["lower"], limit["upper"]
        assert len(lower) == 3 and len(upper) == 3, name
        for lo, hi in zip(lower, upper):
            assert isinstance(lo, (int, float)) and isinstance(hi, (int, float)), name
            assert -180 <= lo <= hi <= 180, (name, lower, upper)


def test_every_joint_has_a_source(joints):
    for name, limit in joints.items():
        assert isinstance(limit["source"], str) and limit["source"].strip(), name


def test_right_side_is_the_exact_mirror_of_the_left(joints):
    for name in SMPLX_JOINTS:
        if not name.startswith("left_"):
            continue
        left = joints[name]
        right = joints["right_" + name[len("left_"):]]
        lx, ly, lz = left["lower"]
        ux, uy, uz = left["upper"]
        assert right["lower"] == [lx, -uy, -uz], name
        assert right["upper"] == [ux, -ly, -lz], name


def test_every_joint_is_left_right_or_midline(joints):
    sided = [n for n in joints if n.startswith(("left_", "right_"))]
    assert sorted(set(joints) - set(sided)) == sorted(MIDLINE)


def test_midline_joints_are_symmetric_in_y_and_z(joints):
    for name in MIDLINE:
        lower, upper = joints[name]["lower"], joints[name]["upper"]
        assert lower[Y] == -upper[Y], name
        assert lower[Z] == -upper[Z], name


def test_root_is_unlimited(joints):
    assert joints["pelvis"]["lower"] == [-180, -180, -180]
    assert joints["pelvis"]["upper"] == [180, 180, 180]


def test_knee_bends_one_way(joints):
    for side in ("left", "right"):
        knee = joints[f"{side}_knee"]
        assert knee["lower"][X] >= -10, side  # at most 10 degrees of hyperextension
        assert knee["upper"][X] >= 130, side  # flexion is +rx on both sides


def test_elbow_hyperextension_at_most_5_degrees(joints):
    assert joints["left_elbow"]["upper"][Y] <= 5
    assert joints["right_elbow"]["lower"][Y] >= -5
    # ...and flexion is the other way: -ry on the left, +ry on the right.
    assert joints["left_elbow"]["lower"][Y] <= -130
    assert joints["right_elbow"]["upper"][Y] >= 130


def test_head_cannot_turn_around(joints):
    def reach(name):
        lower, upper = joints[name]["lower"], joints[name]["upper"]
        return max(abs(lower[Y]), abs(upper[Y]))

    assert reach("neck") + reach("head") < 120


def test_main_motions_have_the_expected_sign(joints):
    left = {n[len("left_"):]: joints[n] for n in joints if n.startswith("left_")}
    # hip flexion (knee forward) is -rx, extension +rx
    assert left["hip"]["lower"][X] <= -90 and 0 < left["hip"]["upper"][X] <= 45
    # ankle plantar flexion (toes down) +rx exceeds dorsiflexion -rx
    assert left["ankle"]["upper"][X] > -left["ankle"]["lower"][X] > 0
    # shoulder: arm down is rz -90, arm up +90, forward is -ry
    assert left["shoulder"]["lower"][Z] <= -90 and left["shoulder"]["upper"][Z] >= 80
    assert left["shoulder"]["lower"][Y] < -left["shoulder"]["upper"][Y] < 0
    # wrist: palmar flexion -rz (80) exceeds extension +rz (70); ulnar +ry exceeds radial -ry
    assert left["wrist"]["lower"][Z] == -80 and left["wrist"]["upper"][Z] == 70
    assert left["wrist"]["upper"][Y] > -left["wrist"]["lower"][Y]
    # fingers curl toward the palm: -rz, with at most a little hyperextension at PIP/DIP
    for finger in ("index", "middle", "ring", "pinky"):
        for k in (1, 2, 3):
            box = left[f"{finger}{k}"]
            assert box["lower"][Z] <= -60, (finger, k)
            assert box["upper"][Z] <= (20 if k == 1 else 10), (finger, k)
            if k > 1:  # hinge-like: small but non-zero secondary ranges
                for axis in (X, Y):
                    assert 0 < box["upper"][axis] <= 10 and -10 <= box["lower"][axis] < 0
    # spine flexion (forward) is +rx and larger than extension
    for name in ("spine1", "spine2", "spine3"):
        assert joints[name]["upper"][X] > -joints[name]["lower"][X] > 0


def test_spine_and_cervical_totals_match_the_clinical_figures(joints):
    spine = [joints[n] for n in ("spine1", "spine2", "spine3")]
    assert sum(j["upper"][X] for j in spine) == 90  # flexion
    assert sum(-j["lower"][X] for j in spine) == 30  # extension
    assert sum(j["upper"][Z] for j in spine) == 30  # lateral flexion, each side
    assert sum(j["upper"][Y] for j in spine) == 30  # rotation, each side
    cervical = [joints["neck"], joints["head"]]
    # Flexion 60 instead of 38 CFR's 45: healthy adults and the CMU clips go further (the
    # neck's source says why).
    assert sum(j["upper"][X] for j in cervical) == 60
    assert "Youdas" in joints["neck"]["source"]
    assert sum(-j["lower"][X] for j in cervical) == 45
    assert sum(j["upper"][Z] for j in cervical) == 45
    assert sum(j["upper"][Y] for j in cervical) == 80


def test_generator_reproduces_the_json(tmp_path):
    out = tmp_path / "limits.json"
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(out)], check=True,
                   capture_output=True)
    assert out.read_bytes() == DATA.read_bytes()


def test_doc_table_matches_the_json():
    result = subprocess.run([sys.executable, str(GENERATOR), "--markdown"], check=True,
                            capture_output=True, text=True)
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- BEGIN joint table -->\n(.*?)<!-- END joint table -->", text, re.S)
    assert match, "docs/joint-limits.md lacks the generated joint table"
    assert match.group(1) == result.stdout


def test_elbows_box_euler_angles_and_every_other_joint_axis_angle(joints):
    for name, limit in joints.items():
        expected = "yzx" if name.endswith("_elbow") else "axis_angle"
        assert limit["coordinates"] == expected, name
