# Copyright ik-engine developers. Licensed under the Apache License, Version 2.0.
"""Checks of the shipped default skeleton file ``skeletons/data/smplx_default.json``.

The file is read with the standard ``json`` module only (no package import), so these tests
check the data itself.  Frame: SMPL-X axes (+X the character's left, +Y up, +Z forward),
metres, soles of the feet at y = 0.  The last test re-runs the derivation script and compares
bytes; it needs the MakeHuman files and is skipped without them.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
DATA_FILE = HERE / ".." / "skeletons" / "data" / "smplx_default.json"
SCRIPT = REPO_ROOT / "scripts" / "derive_smplx_default.py"
MAKEHUMAN_DIR = REPO_ROOT / ".." / "shared" / "data" / "makehuman"

_HAND = [f"{finger}{k}" for finger in ("index", "middle", "pinky", "ring", "thumb") for k in (1, 2, 3)]
SMPLX_NAMES = [
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "jaw", "left_eye_smplhf", "right_eye_smplhf",
    *[f"left_{j}" for j in _HAND],
    *[f"right_{j}" for j in _HAND],
]
SMPLX_PARENTS = [
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15,
    20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38,
    21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53,
]
MIDLINE = ["pelvis", "spine1", "spine2", "spine3", "neck", "head", "jaw"]
SIDES = (("left", 1.0), ("right", -1.0))  # side, sign of x along the arm


@pytest.fixture(scope="module")
def doc() -> dict:
    with open(DATA_FILE, encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def pos(doc) -> dict[str, list[float]]:
    """Joint name -> [x, y, z] rest position (metres)."""
    return dict(zip(doc["joint_names"], doc["rest_positions"]))


def _sub(a, b):
    return [a[i] - b[i] for i in range(3)]


def _norm(v) -> float:
    return math.sqrt(sum(c * c for c in v))


def _dist(a, b) -> float:
    return _norm(_sub(a, b))


def _cross(a, b):
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]


def test_metadata(doc):
    assert doc["name"] == "smplx_default"
    assert doc["license"] == "CC0-1.0"
    assert "MakeHuman" in doc["source"] and "derive_smplx_default.py" in doc["source"]
    assert doc["axes"] == "SMPL-X: +X character's left, +Y up, +Z forward; metres"
    assert isinstance(doc["description"], str) and doc["description"]


def test_names_and_parents(doc):
    assert doc["joint_names"] == SMPLX_NAMES
    assert doc["parents"] == SMPLX_PARENTS
    assert doc["parents"][0] == -1
    for child, parent in enumerate(doc["parents"]):
        assert parent < child, (child, parent)
        assert child == 0 or parent >= 0


def test_shapes_and_finite(doc):
    assert len(doc["rest_positions"]) == 55
    assert len(doc["radii"]) == 55
    for row in doc["rest_positions"]:
        assert len(row) == 3
        assert all(isinstance(c, (int, float)) and math.isfinite(c) for c in row)
    for r in doc["radii"]:
        assert isinstance(r, (int, float)) and math.isfinite(r)
        assert 0.005 <= r <= 0.15, r  # metres: from finger phalanges to the pelvis


def test_exact_mirror_symmetry(pos):
    for name in SMPLX_NAMES:
        if name.startswith("left_"):
            x, y, z = pos[name]
            assert pos["right_" + name[5:]] == [-x, y, z], name  # exact, not approximate
    for name in MIDLINE:
        assert pos[name][0] == 0.0, name


def test_arms_horizontal_and_straight(pos):
    for side, sign in SIDES:
        s, e, w = (pos[f"{side}_{j}"] for j in ("shoulder", "elbow", "wrist"))
        for p in (e, w):
            assert abs(p[1] - s[1]) <= 1e-6 and abs(p[2] - s[2]) <= 1e-6, side
        assert sign * (e[0] - s[0]) > 0.1 and sign * (w[0] - e[0]) > 0.1, side


def test_finger_chains_straight(pos):
    for side, sign in SIDES:
        wrist = pos[f"{side}_wrist"]
        for finger in ("index", "middle", "ring", "pinky", "thumb"):
            p1, p2, p3 = (pos[f"{side}_{finger}{k}"] for k in (1, 2, 3))
            d12, d23 = _sub(p2, p1), _sub(p3, p2)
            assert _norm(d12) > 0.005 and _norm(d23) > 0.005, (side, finger)
            # Joint 3 lies on the line through joints 1 and 2 (1e-5 m allows the 1e-6 rounding).
            off_line = _norm(_cross(d12, _sub(p3, p1))) / _norm(d12)
            assert off_line < 1e-5, (side, finger, off_line)
            assert sum(a * b for a, b in zip(d12, d23)) > 0, (side, finger)  # not folded back
            if finger != "thumb":  # along the hand axis, +X / -X
                assert abs(p2[1] - p1[1]) <= 1e-6 and abs(p2[2] - p1[2]) <= 1e-6
                assert abs(p3[1] - p1[1]) <= 1e-6 and abs(p3[2] - p1[2]) <= 1e-6
                assert sign * (p2[0] - p1[0]) > 0 and sign * (p3[0] - p2[0]) > 0
            assert sign * (p1[0] - wrist[0]) > 0.02, (side, finger)  # beyond the wrist


def test_hand_orientation(pos):
    """Middle finger on the hand axis; thumb side forward (+Z), so the palm faces down."""
    for side, _ in SIDES:
        w, m1 = pos[f"{side}_wrist"], pos[f"{side}_middle1"]
        assert abs(m1[1] - w[1]) <= 1e-6 and abs(m1[2] - w[2]) <= 1e-6
        assert pos[f"{side}_index1"][2] > pos[f"{side}_pinky1"][2]
        assert pos[f"{side}_thumb1"][2] > pos[f"{side}_middle1"][2]


def test_ground_and_heights(pos):
    # Soles of the feet at y = 0: the ball of the foot a little above the ground.
    for side, _ in SIDES:
        assert 0.0 <= pos[f"{side}_foot"][1] <= 0.1
        assert 0.03 <= pos[f"{side}_ankle"][1] <= 0.12
    assert min(p[1] for p in pos.values()) >= 0.0
    # Stature: the head joint (top of the neck) of an adult sits about 0.13-0.17 m below the
    # top of the head, so a 1.6-1.8 m stature puts it at about 1.43-1.67 m.  The script's own
    # stature estimate (from the CC0 base mesh) is checked in the reproduction test below.
    assert 1.43 <= pos["head"][1] <= 1.67
    assert pos["head"][1] > pos["neck"][1] > pos["spine3"][1] > pos["spine2"][1] > pos["spine1"][1]


def test_segment_lengths(pos):
    for side, _ in SIDES:
        j = lambda n: pos[f"{side}_{n}"]  # noqa: E731
        assert 0.35 <= _dist(j("hip"), j("knee")) <= 0.5  # thigh
        assert 0.35 <= _dist(j("knee"), j("ankle")) <= 0.5  # shank
        assert 0.2 <= _dist(j("shoulder"), j("elbow")) <= 0.35  # upper arm
        assert 0.2 <= _dist(j("elbow"), j("wrist")) <= 0.3  # forearm
        assert 0.07 <= _dist(j("wrist"), j("index1")) <= 0.13  # palm


def test_script_reproduces_committed_file(tmp_path):
    """The derivation is deterministic: re-running it writes the committed file byte for byte."""
    if not (MAKEHUMAN_DIR / "rig.default.json").is_file() or not (MAKEHUMAN_DIR / "base.obj").is_file():
        pytest.skip(f"MakeHuman source files not found in {MAKEHUMAN_DIR.resolve()} "
                    "(rig.default.json and base.obj); cannot re-run the derivation")
    out = tmp_path / "smplx_default.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--makehuman-dir", str(MAKEHUMAN_DIR), "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == DATA_FILE.read_bytes()
    m = re.search(r"stature \(top of head - soles\): ([0-9.]+) m", proc.stdout)
    assert m is not None, proc.stdout
    assert 1.6 <= float(m.group(1)) <= 1.8
    m = re.search(r"final ([0-9.e+-]+) m", proc.stdout)
    assert m is not None and float(m.group(1)) == 0.0, proc.stdout
