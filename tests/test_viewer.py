"""The browser viewer (ik-engine view, ik.view) with a real server and a real browser.

Headless Debian Chromium (/usr/bin/chromium, installed by `python3 dev.py test`, never here)
renders the page with WebGL on SwiftShader; the checks read the screenshot's pixels, the page's
text and every request the page makes. Truths: the float64 reference FK of tests/reference.py
and a skinning written here from the mesh's arrays.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest

import ik_engine as ik
from reference import reference_world

CHROMIUM = "/usr/bin/chromium"
# The flags that give WebGL here (no GPU): ANGLE on SwiftShader.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                 "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 1000, 700


@pytest.fixture(scope="module")
def viewer():
    handle = ik.view(port=0)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def page(viewer, tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"the viewer tests need Debian's chromium at {CHROMIUM}: run `python3 dev.py test` as root "
                    "(it installs it with apt-get) or `sudo apt-get install chromium`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": WIDTH, "height": HEIGHT})
        page = browser.pages[0] if browser.pages else browser.new_page()
        page.requests = []
        page.on("request", lambda request: page.requests.append(request.url))
        page.goto(viewer.url)
        page.get_by_text("Drag a gizmo").wait_for(timeout=60_000)
        close = page.locator(".mantine-Notification-closeButton")  # viser's "software WebGL" notice
        if close.count():
            close.first.click()
        yield page
        browser.close()


def body_pixels(page, viewer, path: Path) -> int:
    """Pixels of the 3D view (left of the panel) that change when the body is hidden."""
    def shot(name):
        page.wait_for_timeout(2500)  # software rendering: let a few frames draw
        page.screenshot(path=str(path / name))
        import matplotlib.image

        return matplotlib.image.imread(str(path / name))[..., :3]

    shown = shot("body.png")
    viewer.set_visible(mesh=False, skeleton=False)
    hidden = shot("hidden.png")
    viewer.set_visible(mesh=True, skeleton=True)
    region = (slice(int(0.1 * HEIGHT), int(0.95 * HEIGHT)), slice(int(0.1 * WIDTH), int(0.55 * WIDTH)))
    return int((np.abs(shown[region] - hidden[region]).max(axis=-1) > 0.1).sum())


def test_the_page_shows_the_body_and_fetches_nothing_from_elsewhere(viewer, page, tmp_path):
    assert urlparse(viewer.url).hostname == "127.0.0.1"
    viewer.set_target("left_hand", position=[0.45, 1.55, 0.25])  # a posed body for the README's picture
    changed = body_pixels(page, viewer, tmp_path)
    viewer.reset()
    assert changed > 8_000, f"only {changed} pixels of the 3D view show the body"
    if os.environ.get("IK_ENGINE_UPDATE_IMAGES"):
        shutil.copy(tmp_path / "body.png", ROOT / "docs" / "images" / "viewer.png")
    outside = [u for u in page.requests if urlparse(u).scheme not in ("data", "blob")
               and urlparse(u).hostname != "127.0.0.1"]
    assert page.requests and outside == []


def test_a_gizmo_dragged_in_the_browser_moves_the_hand(viewer, page, tmp_path):
    """A real drag: the mouse grabs the hand gizmo's red (x) arrow in Chromium and pulls it;
    viser's gizmo updates reach the viewer, which solves each one."""
    import matplotlib.image

    viewer.reset()
    viewer.set_target("right_hand", enabled=False)
    viewer.set_target("left_hand", position=[0.6, 1.3, 0.2])
    gizmo = viewer.scene.gizmos["left_hand"]

    def shot(name):
        page.wait_for_timeout(2500)
        page.screenshot(path=str(tmp_path / name))
        return matplotlib.image.imread(str(tmp_path / name))[..., :3]

    shown = shot("gizmo.png")
    gizmo.visible = False
    hidden = shot("no_gizmo.png")
    gizmo.visible = True
    page.wait_for_timeout(1500)
    red = (np.abs(shown - hidden).max(axis=-1) > 0.1) & (shown[..., 0] > 0.8) & (shown[..., 1] < 0.4) & (shown[..., 2] < 0.55)
    ys, xs = np.nonzero(red)
    assert len(xs) > 30, "the gizmo's red arrow is not on the screenshot"
    tip = np.argmax(xs)  # the arrow points to +x, the screen's right: grab it near its tip
    x0, y0 = float(xs[tip] - 3), float(ys[tip])
    updates, before = len(viewer.latencies), viewer.session.targets["left_hand"].position.copy()
    page.mouse.move(x0, y0)
    page.mouse.down()
    for k in range(1, 11):  # 40 pixels toward the body
        page.mouse.move(x0 - 4 * k, y0)
        page.wait_for_timeout(50)
    page.mouse.up()
    page.wait_for_timeout(1500)
    assert len(viewer.latencies) > updates  # solves came from the gizmo's callback
    after = viewer.session.targets["left_hand"].position
    assert after[0] < before[0] - 0.05 and np.allclose(after[1:], before[1:], atol=1e-6)  # dragged along -x only
    assert np.asarray(gizmo.position) == pytest.approx(after)
    skel = viewer.session.skeleton
    _, p = reference_world(skel, viewer.pose.rotations, viewer.pose.translation)
    assert viewer.result.converged and np.linalg.norm(p[skel.index("left_wrist")] - after) < 1e-3
    viewer.set_target("right_hand", enabled=True)
    viewer.reset()


def independent_vertices(skel: ik.Skeleton, mesh: ik.Mesh, pose: ik.Pose) -> np.ndarray:
    """Linear blend skinning from the reference FK: sum_k w_k (R_k R_rest_k^T (v - p_rest_k) + p_k)."""
    R_rest, p_rest = reference_world(skel, np.zeros((skel.num_joints, 3)), np.zeros(3))
    R, p = reference_world(skel, pose.rotations, pose.translation)
    out = np.zeros_like(mesh.vertices)
    for k in range(mesh.joint_indices.shape[1]):
        j, w = mesh.joint_indices[:, k], mesh.joint_weights[:, k, None]
        local = np.einsum("vba,vb->va", R_rest[j], mesh.vertices - p_rest[j])
        out += w * (np.einsum("vab,vb->va", R[j], local) + p[j])
    return out


def test_a_target_set_from_python_moves_the_hand_and_the_mesh(viewer, page):
    viewer.reset()
    before = viewer.mesh_vertices.copy()
    goal = np.array([0.55, 1.15, 0.3])
    result = viewer.set_target("left_hand", position=goal, rotation=np.eye(3))
    assert result is not None and result.converged
    skel = viewer.session.skeleton
    _, p = reference_world(skel, viewer.pose.rotations, viewer.pose.translation)
    assert np.linalg.norm(p[skel.index("left_wrist")] - goal) < 1e-3
    assert viewer.scene.gizmos["left_hand"].position == pytest.approx(goal)
    after = viewer.mesh_vertices
    assert np.abs(after - before).max() > 0.1  # the arm's vertices moved by more than 10 cm
    np.testing.assert_allclose(after, independent_vertices(skel, ik.load_default_mesh(), viewer.pose), atol=2e-5)
    page.get_by_text("converged;").first.wait_for(timeout=30_000)
    assert "not converged" not in page.inner_text("body")
    # Out of reach: the panel says so, in the browser.
    result = viewer.set_target("left_hand", position=[3.0, 1.2, 0.3])
    assert not result.converged
    page.get_by_text("not converged").first.wait_for(timeout=30_000)
    # Only the left arm moving (the viewer re-skins only the vertices of joints that moved).
    viewer.reset()
    viewer.set_target("right_hand", enabled=False)
    viewer.set_moving_joints("left arm")
    goal = np.array([0.5, 1.25, 0.25])
    assert viewer.set_target("left_hand", position=goal).converged
    _, p = reference_world(skel, viewer.pose.rotations, viewer.pose.translation)
    assert np.linalg.norm(p[skel.index("left_wrist")] - goal) < 1e-3
    np.testing.assert_allclose(viewer.mesh_vertices, independent_vertices(skel, ik.load_default_mesh(), viewer.pose), atol=2e-5)
    viewer.set_moving_joints("body")
    viewer.set_target("right_hand", enabled=True)
    viewer.reset()


def test_a_clip_frame_on_the_timeline_is_that_frame_of_the_motion(viewer, tmp_path):
    skel = viewer.session.skeleton
    rng = np.random.default_rng(3)
    poses = [skel.random_pose(rng, joints=skel.joint_names[:22]) for _ in range(12)]
    for t, pose in enumerate(poses):
        poses[t] = ik.Pose(pose.rotations, [0.1 * t, 0.0, 0.0])
    ik.save_poses_npz(tmp_path / "clip.npz", ik.Motion.from_poses(poses, fps=24.0))
    assert "12 frames at 24 fps" in viewer.open(tmp_path / "clip.npz")
    mesh = ik.load_default_mesh()
    for t in (7, 0, 11):
        viewer.panel.timeline.value = t  # as the slider does
        np.testing.assert_allclose(viewer.mesh_vertices, independent_vertices(skel, mesh, poses[t]), atol=2e-5)
    viewer.panel.playing.value = True  # plays: the frame advances, and what is shown is that frame
    deadline = time.monotonic() + 30
    while viewer.frame == 11 and time.monotonic() < deadline:
        time.sleep(0.05)
    viewer.panel.playing.value = False
    time.sleep(0.2)
    assert viewer.frame != 11
    np.testing.assert_allclose(viewer.mesh_vertices, independent_vertices(skel, mesh, poses[viewer.frame]), atol=2e-5)


def test_a_tracked_clip_shows_the_targets_it_followed_beside_the_body(viewer, tmp_path):
    """``ik-engine track --npz`` stores the tracks; the viewer draws frame t's beside the body."""
    npz = tmp_path / "tracked.npz"
    done = subprocess.run([sys.executable, "-m", "ik_engine.cli", "track", str(ROOT / "tests" / "data" / "cmu" / "131_01.bvh"),
                           "--frames", "24", "--out", str(tmp_path / "tracked.bvh"), "--npz", str(npz)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    with np.load(npz) as data:
        names, positions = [str(n) for n in data["target_names"]], data["target_positions"]
    assert positions.shape == (24, len(names), 3) and "left_wrist" in names
    assert "24 frames" in viewer.open(npz)
    skel = viewer.session.skeleton
    for t in (0, 13, 23):
        viewer.panel.timeline.value = t
        drawn = np.asarray(viewer.scene.clip_targets.points, dtype=np.float64)
        np.testing.assert_allclose(drawn, positions[t], atol=1e-5)  # float32 in the scene
        assert viewer.scene.clip_targets.visible
        # Beside the body: the shown frame's joints (float64 reference FK) are on their tracks.
        pose = viewer.clip[t]
        _, p_world = reference_world(skel, pose.rotations, pose.translation)
        distance = {n: np.linalg.norm(p_world[skel.index(n)] - positions[t, k]) for k, n in enumerate(names)}
        assert max(distance[n] for n in ("left_wrist", "right_wrist", "left_ankle", "right_ankle", "head")) <= 1e-3
        assert max(distance.values()) <= 0.02  # elbows and knees are lighter guides
    # A clip without stored targets hides them.
    ik.save_poses_npz(tmp_path / "plain.npz", viewer.clip)
    viewer.open(tmp_path / "plain.npz")
    assert not viewer.scene.clip_targets.visible


def test_bad_files_are_reported_in_the_page_and_nothing_is_lost(viewer, page, tmp_path):
    skel = viewer.session.skeleton
    poses = [skel.rest_pose(), ik.Pose(np.zeros((55, 3)), [0.3, 0.0, 0.0])]
    ik.save_poses_npz(tmp_path / "good.npz", ik.Motion.from_poses(poses, fps=30.0))
    viewer.open(tmp_path / "good.npz")
    viewer.panel.timeline.value = 1
    clip, shown = viewer.clip, viewer.mesh_vertices.copy()
    (tmp_path / "broken.bvh").write_text("HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0\n")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not really a zip file")
    np.savez(tmp_path / "not_smplx.npz", vertices=np.zeros((4, 3)))
    expected = {"broken.bvh": "line", "broken.npz": "not a readable .npz", "not_smplx.npz": "not a usable SMPL-X model file"}
    for name, reason in expected.items():
        message = viewer.open(tmp_path / name)
        assert message.startswith("**Error:**") and name in message and reason in message, message
        page.get_by_text(reason).first.wait_for(timeout=30_000)  # shown in the browser
        assert viewer.clip is clip and viewer.session.skeleton is skel and viewer.frame == 1
        np.testing.assert_array_equal(viewer.mesh_vertices, shown)
    # The server still answers and still solves.
    goal = skel.world_positions(viewer.pose)[skel.index("right_wrist")] + [0.15, 0.05, 0.1]  # inward: within reach
    assert viewer.set_target("right_hand", position=goal).converged
    viewer.reset()


def run_cli(*args: str, prelude: str = "") -> subprocess.CompletedProcess:
    code = f"{prelude}import sys; from ik_engine.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, "view", *args], capture_output=True, text=True, timeout=120)


def test_the_command_line_says_what_is_wrong(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = run_cli("--port", str(port))
    assert out.returncode == 2 and f"port {port} on 127.0.0.1 is in use" in out.stderr, out.stderr
    np.savez(tmp_path / "not_smplx.npz", vertices=np.zeros((4, 3)))
    out = run_cli("--body", str(tmp_path / "not_smplx.npz"), "--port", "0")
    assert out.returncode == 2 and "not a usable SMPL-X model file" in out.stderr, out.stderr
    out = run_cli(prelude="import sys; sys.modules['viser'] = None; ")  # as if the extra were not installed
    assert out.returncode == 2 and 'pip install "viser>=1.1"' in out.stderr, out.stderr


def test_pinned_feet_stay_while_the_root_moves(viewer):
    """The GUI's Pinned and Move root switches (the same controller calls the panel makes)."""
    viewer.reset()
    skel = viewer.session.skeleton
    feet = [skel.index("left_ankle"), skel.index("right_ankle")]
    _, p_before = reference_world(skel, viewer.pose.rotations, viewer.pose.translation)
    viewer.set_target_option("left_foot", pinned=True)
    viewer.set_target_option("right_foot", pinned=True)
    viewer.set_move_root(True)
    goal = np.array([0.3, 0.9, 0.45])  # low and forward: the body must crouch or lean
    result = viewer.set_target("left_hand", position=goal, rotation=None)
    _, p = reference_world(skel, viewer.pose.rotations, viewer.pose.translation)
    assert result.converged and np.linalg.norm(p[skel.index("left_wrist")] - goal) < 1e-3
    assert np.abs(p[feet] - p_before[feet]).max() < 1e-3
    assert np.linalg.norm(viewer.pose.translation) > 0.01  # the root moved
    assert "left_foot pinned" in viewer.report
    for foot in ("left_foot", "right_foot"):
        viewer.set_target_option(foot, pinned=False)
    viewer.set_move_root(False)
    viewer.reset()


def test_the_command_serves_on_127_0_0_1_and_stops_on_sigterm():
    import signal
    import urllib.request

    process = subprocess.Popen([sys.executable, "-m", "ik_engine.cli", "view", "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        url = None
        for line in process.stdout:
            if line.startswith("ik-engine viewer at "):
                url = line.split()[3]
                break
        assert url is not None and urlparse(url).hostname == "127.0.0.1", process.stderr.read()
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200 and b"<html" in response.read(2000).lower()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_a_joints_limit_region_is_where_its_bone_reaches_within_the_limits(viewer):
    """The "Show limits of" dropdown: each drawn point is the child's position, by the reference
    FK, with the joint's coordinates set to that sample (all inside the limit box)."""
    viewer.reset()
    skel = viewer.session.skeleton
    viewer.set_target("left_hand", position=[0.5, 1.2, 0.3])  # the parent frame is not the rest one
    viewer.panel.limit_region.value = "left_elbow"  # as the dropdown does
    region = viewer.scene.region
    points = np.asarray(viewer.scene.region_cloud.points)
    assert viewer.scene.region_cloud.visible and len(points) == len(region.coordinates) >= 100
    elbow, wrist = skel.index("left_elbow"), skel.index("left_wrist")
    lower, upper = skel.lower[elbow], skel.upper[elbow]
    for n in (0, 5, 77, len(points) - 1):
        c = region.coordinates[n]
        assert np.all(c >= np.maximum(lower, -np.pi) - 1e-12) and np.all(c <= np.minimum(upper, np.pi) + 1e-12)
        coordinates = skel.to_coordinates(viewer.pose.rotations)
        coordinates[elbow] = c
        _, p = reference_world(skel, skel.from_coordinates(coordinates), viewer.pose.translation)
        np.testing.assert_allclose(points[n], p[wrist], atol=1e-5)
    viewer.panel.limit_region.value = "(no joint)"
    assert not viewer.scene.region_cloud.visible
    viewer.reset()


def test_a_cmu_bvh_clip_brings_its_own_skeleton_and_smplx_comes_back(viewer):
    """A BVH on another skeleton (CMU) is shown on its own bones, in metres; its frame t is the
    clip's frame t (bones from the reference FK); the SMPL-X body can be opened again."""
    clip_file = ROOT / "benchmarks" / "data" / "131_01.bvh"
    message = viewer.open(clip_file)
    assert "frames at" in message, message
    source, motion = ik.load_bvh(clip_file, scale=ik.CMU_UNIT)
    skel = viewer.session.skeleton
    assert skel.joint_names == source.joint_names and viewer.scene.mesh is None
    assert {"left_hand", "right_hand", "head"} <= set(viewer.target_names)  # found by CMU names
    viewer.panel.timeline.value = 5
    _, p = reference_world(source, motion.rotations[5], motion.translations[5])
    bones = [(j, parent) for j, parent in enumerate(source.parents) if parent >= 0]
    expected = np.stack([p[[j for j, _ in bones]], p[[parent for _, parent in bones]]], axis=1)
    np.testing.assert_allclose(np.asarray(viewer.scene.sticks.points), expected, atol=1e-5)
    goal = p[source.index("LeftWrist")] + [0.0, 0.05, 0.0]
    assert viewer.set_target("left_hand", position=goal, rotation=None).converged  # posing works on it too
    _, p = reference_world(source, viewer.pose.rotations, viewer.pose.translation)
    assert np.linalg.norm(p[source.index("LeftWrist")] - goal) < 1e-3
    assert "Opened the body" in viewer.open("smplx")
    assert viewer.session.skeleton.num_joints == 55 and viewer.mesh_vertices is not None
