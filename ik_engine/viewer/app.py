"""The viewer: a viser server that shows a body, solves when a target moves, and plays clips.

    viewer = ik.view("smplx")                       # or a Skeleton, a model file, a .bvh
    viewer.url                                      # http://127.0.0.1:8080
    result = viewer.set_target("left_hand", position=[0.5, 1.3, 0.3])
    viewer.pose, viewer.result; viewer.stop()

``Viewer`` is the controller: the gizmos (scene.py), the GUI (panel.py) and the Python handle
all call its methods, so a target set from code runs exactly the code a dragged gizmo runs:
``move_target`` -> a warm-started solve (posing.py) -> the new pose drawn (scene.py).
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from ..errors import IKError
from ..mesh import Mesh, load_default_mesh
from ..motion import Motion
from ..pose import Pose
from ..result import IKResult
from ..rotations import matrix_to_quaternion
from ..skeleton import Skeleton
from ..skeleton_loading import load_skeleton
from .clip_player import ClipPlayer
from .panel import NO_JOINT, Panel
from .posing import PosingSession, moving_joint_choices
from .report import joints_at_limit, solve_text
from .scene import BodyScene
from .sources import Body, ViewerInputError, clip_targets, is_clip, open_body, open_clip

INSTALL_HINT = "the viewer needs viser: pip install \"viser>=1.1\" (ik-engine's extra 'viewer')"


class ViewerPortError(OSError):
    """The port asked for is taken."""


def import_viser():
    """The viser module, or an ImportError that says how to install it."""
    try:
        import viser
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    return viser


class Viewer:
    """A running viewer (see the module docstring). Use ``ik.view(...)`` to make one.

    Args:
        body: what to show (sources.Body).
        pose: the starting pose; clip: a Motion to load on the timeline.
        constraints: extra constraints added to every solve.
        joints: the moving joints (default: the body without fingers, for SMPL-X).
        host, port: where to serve (port 0: a free port).
    """

    def __init__(self, body: Body, pose: Pose | None = None, clip: Motion | None = None, constraints=None,
                 joints=None, host: str = "127.0.0.1", port: int = 8080, show_skeleton: bool = True) -> None:
        viser = import_viser()
        self.server = viser.ViserServer(host=host, port=port, label="ik-engine", verbose=False)
        if port and self.server.get_port() != port:  # viser moves to the next free port silently
            self.server.stop()
            raise ViewerPortError(f"port {port} on {host} is in use: pick another with --port (0: any free port)")
        self.host = host
        self.latencies: list[float] = []
        self._syncing = False
        self.clip: Motion | None = None
        self.clip_targets: tuple[list[str], np.ndarray] | None = None  # (names, (T, K, 3)) of a tracked clip
        self.frame = 0
        self._extra = list(constraints or [])
        self._joints = joints
        self._show_skeleton = show_skeleton
        self.scene: BodyScene | None = None
        self.panel = Panel(self.server, self, list(moving_joint_choices(body.skeleton)))
        self.player = ClipPlayer(self._advance)
        self._set_body(body, pose)
        if clip is not None:
            self._load_clip(clip, "the clip given")
        elif self._extra:
            self._update(time.perf_counter())

    # ------------------------------------------------------------------ the handle
    @property
    def port(self) -> int:
        return self.server.get_port()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pose(self) -> Pose:
        """The pose shown now."""
        return self.session.pose

    @property
    def result(self) -> IKResult | None:
        """The last solve's result (None before the first)."""
        return None if self.session.last is None else self.session.last.result

    @property
    def report(self) -> str:
        """The solver text the panel shows."""
        return self.panel.report.content

    @property
    def message(self) -> str:
        """The message at the top of the panel (errors start with "**Error:**")."""
        return self.panel.status.content

    @property
    def mesh_vertices(self) -> np.ndarray | None:
        """(V, 3) float32: the vertices last handed to the scene (what browsers are sent)."""
        return None if self.scene.mesh is None else np.asarray(self.scene.mesh.vertices)

    @property
    def target_names(self) -> list[str]:
        return list(self.session.targets)

    def set_target(self, name: str, position=None, rotation=None, *, enabled: bool | None = None,
                   weight: float | None = None, priority: int | None = None) -> IKResult | None:
        """Move a target as its gizmo would (and switch it on unless ``enabled=False``), solve and
        redraw. ``rotation``: a 3x3 world rotation or a wxyz quaternion (hands). Returns the result."""
        entry = time.perf_counter()
        target = self.session.target(name)
        wxyz = None
        if rotation is not None:
            r = np.asarray(rotation, dtype=np.float64)
            wxyz = np.asarray(matrix_to_quaternion(r, np), dtype=np.float64) if r.shape == (3, 3) else r
        with self.session.lock:
            self.session.move_target(name, position, wxyz)
            target.enabled = True if enabled is None else bool(enabled)
            if weight is not None:
                target.weight = float(weight)
            if priority is not None:
                target.priority = int(priority)
            self.scene.place_gizmo(target)
            self._sync_controls(name)
            return self._update(entry)

    def stop(self) -> None:
        """Stop playback and the server."""
        self.player.close()
        self.server.stop()

    # ------------------------------------------------------------ what the GUI calls
    def move_target(self, name: str, position, wxyz) -> IKResult | None:
        """A gizmo moved (the callback's entry): solve from the current pose and redraw."""
        entry = time.perf_counter()
        with self.session.lock:
            self.session.move_target(name, position, wxyz)
            return self._update(entry)

    def set_target_option(self, name: str, **options) -> None:
        """On/off, weight, priority, rotation or pin of a target, from its GUI controls."""
        if self._syncing:
            return
        target = self.session.target(name)
        with self.session.lock:
            if options.get("enabled") and not target.enabled:
                self.session.snap_target(name)  # a target switched on starts where its joint is
            for option, value in options.items():
                setattr(target, option, type(getattr(target, option))(value))
            self.scene.place_gizmo(target)
            self._update(time.perf_counter())

    def set_moving_joints(self, choice: str) -> None:
        choices = moving_joint_choices(self.session.skeleton)
        if choice in choices:
            self.session.joints = choices[choice]
            self._update(time.perf_counter())

    def set_move_root(self, move_root: bool) -> None:
        self.session.move_root = bool(move_root)
        self._update(time.perf_counter())

    def set_visible(self, mesh: bool | None = None, skeleton: bool | None = None) -> None:
        if mesh is not None and self.scene.mesh is not None:
            self.scene.mesh.visible = bool(mesh)
        if skeleton is not None:
            self.scene.sticks.visible = bool(skeleton) or self.scene.mesh is None

    def show_limit_region(self, joint: str | None) -> None:
        """Draw the region ``joint``'s child bone can reach within its limits (None: hide it)."""
        with self.session.lock:
            self.scene.show_limit_region(joint)
            self._draw()

    def reset(self) -> None:
        """Back to the rest pose, with every target at its joint."""
        with self.session.lock:
            self.session.reset()
            for target in self.session.targets.values():
                self.scene.place_gizmo(target)
            self._draw()
            self.panel.report.content = "Reset to the rest pose."

    def open(self, path: str | os.PathLike) -> str:
        """Open a clip or a body file; a bad file leaves everything as it was and says why.
        Returns the message shown."""
        path = os.fspath(path).strip()
        try:
            if not path:
                raise ViewerInputError("give a file path first")
            if is_clip(path):
                motion, skeleton = open_clip(path, self.session.skeleton)
                if skeleton is not self.session.skeleton:
                    self._set_body(Body(skeleton, None, path))
                self._load_clip(motion, path, clip_targets(path, len(motion)))
            else:
                self._set_body(open_body(path))
                self.panel.say(f"Opened the body of {path!r}.")
        except (IKError, OSError) as exc:
            self.panel.say(str(exc), error=True)
        return self.message

    def open_uploaded(self, name: str, content: bytes) -> str:
        """Open a file sent through the upload button (saved to a temporary folder first)."""
        folder = Path(tempfile.mkdtemp(prefix="ik-engine-viewer-"))
        path = folder / (re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name) or "upload")
        path.write_bytes(content)
        return self.open(path)

    def show_frame(self, t: int) -> None:
        """Show frame ``t`` of the clip (what the timeline slider calls)."""
        if self.clip is None or not 0 <= t < len(self.clip):
            return
        with self.session.lock:
            self.frame = self.player.frame = t
            self.session.show(self.clip[t])  # the targets follow the body: posing starts from this frame
            for target in self.session.targets.values():
                self.scene.place_gizmo(target)
            self.scene.show_clip_targets(None if self.clip_targets is None else self.clip_targets[1][t])
            self._draw()

    def set_playing(self, playing: bool) -> None:
        self.player.playing = bool(playing) and self.clip is not None

    def set_fps(self, fps: float) -> None:
        self.player.fps = max(0.1, float(fps))

    # ------------------------------------------------------------------ internals
    def _update(self, entry: float) -> IKResult | None:
        """Solve from the current pose and draw the result; ``entry`` is when the update came in."""
        with self.session.lock:
            try:
                report = self.session.solve()
            except IKError as exc:  # e.g. a target none of the moving joints can reach: say so, keep the pose
                self.panel.say(f"cannot solve: {exc}", error=True)
                self.panel.report.content = "Not solved (see the message above)."
                return None
            self._draw()
            self.latencies.append(time.perf_counter() - entry)
            if self.message.startswith("**Error:** cannot solve"):
                self.panel.say("Solving again.")
            self.panel.report.content = solve_text(report, self.session.skeleton, self.session.joints)
            return None if report is None else report.result

    def _draw(self) -> None:
        pose = self.session.pose
        self.scene.draw(pose, joints_at_limit(self.session.skeleton, pose, self.session.joints))

    def _advance(self, frame: int) -> None:
        self.panel.timeline.value = frame

    def _sync_controls(self, name: str) -> None:
        """Show a target's options set from code in its GUI controls (without solving again)."""
        target, controls = self.session.targets[name], self.panel.target_controls.get(name, {})
        self._syncing = True
        try:
            for option in ("enabled", "weight", "priority"):
                if option in controls:
                    controls[option].value = getattr(target, option)
        finally:
            self._syncing = False

    def _set_body(self, body: Body, pose: Pose | None = None) -> None:
        session = PosingSession(body.skeleton, pose, self._joints if self.scene is None else None,
                                self._extra if self.scene is None else None)
        if self.scene is not None:
            self.scene.remove()
        self.session, self.clip, self.clip_targets = session, None, None
        self.scene = BodyScene(self.server, body, self._show_skeleton)
        for target in session.targets.values():
            self.scene.add_gizmo(target, self.move_target)
        choices = list(moving_joint_choices(body.skeleton))
        self.panel.moving.options = tuple(choices)
        self.panel.moving.value = choices[0]
        with_children = [n for j, n in enumerate(body.skeleton.joint_names) if j in set(body.skeleton.parents.tolist())]
        self.panel.limit_region.value = NO_JOINT
        self.panel.limit_region.options = (NO_JOINT, *with_children)
        self.panel.add_targets(session.targets)
        self.player.load(0, 30.0)
        self._draw()

    def _load_clip(self, motion: Motion, where: str, targets: tuple[list[str], np.ndarray] | None = None) -> None:
        """Put ``motion`` on the timeline; ``targets``: the (names, (T, K, 3) positions) it was
        solved to follow, drawn beside the body frame by frame."""
        motion.check_skeleton(self.session.skeleton)
        self.clip, self.clip_targets = motion, targets
        self.player.load(len(motion), motion.fps)
        self.panel.show_clip(len(motion), motion.fps)
        self.show_frame(0)
        self.panel.say(f"Opened {where}: {len(motion)} frames at {motion.fps:g} fps.")


def _body_of(skeleton, mesh: Mesh | None, betas) -> Body:
    if isinstance(skeleton, Skeleton):
        if mesh is None:
            default = load_skeleton("smplx")
            same = (skeleton.joint_names == default.joint_names
                    and np.allclose(skeleton.rest_offsets, default.rest_offsets))
            mesh = load_default_mesh() if same else None
        return Body(skeleton, mesh, skeleton.name)
    body = open_body(skeleton, betas=betas)
    return body if mesh is None else Body(body.skeleton, mesh, body.source)


def view(skeleton="smplx", poses=None, constraints=None, *, mesh: Mesh | None = None, betas=None,
         joints=None, host: str = "127.0.0.1", port: int = 8080, show_skeleton: bool = True) -> Viewer:
    """Start the interactive viewer and return its handle (the server runs in the background).

    Args:
        skeleton: a Skeleton, ``"smplx"`` (the shipped skeleton and CC0 mesh), an SMPL-X model
            file (with ``betas``) or a .bvh file.
        poses: a Pose to start from, or a Motion / list of Poses to play on the timeline.
        constraints: constraints added to every solve (e.g. ``[ik.Floor()]``).
        mesh: a Mesh skinned to ``skeleton`` (default: the CC0 mesh for the SMPL-X skeleton).
        joints: the moving joints (default: the SMPL-X body without fingers; every joint otherwise).
        host, port: where to serve; port 0 picks a free one. ``viewer.url`` says where it is.
    """
    body = _body_of(skeleton, mesh, betas)
    pose, clip = None, None
    if isinstance(poses, Pose):
        pose = poses
    elif isinstance(poses, Motion):
        clip = poses
    elif poses is not None:
        clip = Motion.from_poses(list(poses), joint_names=body.skeleton.joint_names)
    return Viewer(body, pose=pose, clip=clip, constraints=constraints, joints=joints, host=host, port=port,
                  show_skeleton=show_skeleton)
