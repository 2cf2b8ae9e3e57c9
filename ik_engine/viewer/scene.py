"""The 3D scene the browser shows: floor, skinned body, stick skeleton, joints at a limit, gizmos.

``BodyScene`` owns viser scene nodes for one body and redraws them from a pose
(``draw(pose, at_limit)``). Coordinates are SMPL-X's: +Y up, metres; the scene's up direction
is set to +Y so the camera orbits the way a character artist expects.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..pose import Pose
from ..skeleton import Skeleton
from .limit_region import LimitRegion
from .skinning import Skinner
from .sources import Body
from .targets import Target

BODY_COLOUR = (205, 185, 165)
BONE_COLOUR = (40, 90, 200)
LIMIT_COLOUR = (230, 30, 30)
REGION_COLOUR = (250, 150, 20)
TARGET_COLOUR = (20, 170, 60)
CAMERA_POSITION, CAMERA_LOOK_AT = (0.4, 1.0, 2.6), (0.4, 0.85, 0.0)  # in front of the body (left of the panel), metres
GIZMO_SCALE = {"hand": 0.25, "foot": 0.2, "look": 0.2, "pole": 0.15}


class BodyScene:
    """Scene nodes of one body; ``draw`` updates them in place."""

    def __init__(self, server: Any, body: Body, show_skeleton: bool = True) -> None:
        self.server = server
        self.skeleton: Skeleton = body.skeleton
        self.skinner = None if body.mesh is None else Skinner(body.skeleton, body.mesh)
        scene = server.scene
        scene.set_up_direction("+y")
        server.initial_camera.position = CAMERA_POSITION
        server.initial_camera.look_at = CAMERA_LOOK_AT
        self.floor = scene.add_grid("/floor", width=4.0, height=4.0, plane="xz", cell_size=0.25,
                                    section_size=1.0)
        rest = self.skeleton.rest_pose()
        self.mesh = None
        if self.skinner is not None:
            self.mesh = scene.add_mesh_simple("/body/mesh", self.skinner.posed(self.skeleton, rest),
                                              body.mesh.faces, color=BODY_COLOUR)
        self._bones = np.array([(j, p) for j, p in enumerate(self.skeleton.parents) if p >= 0], dtype=np.int64)
        positions = self.skeleton.world_positions(rest)
        self.sticks = scene.add_line_segments("/body/skeleton", self._segments(positions), colors=BONE_COLOUR,
                                              thickness=0.012, visible=show_skeleton or self.mesh is None)
        self.limits = scene.add_point_cloud("/body/at_limit", positions[:1], colors=LIMIT_COLOUR,
                                            point_size=0.05, point_shape="circle", precision="float32",
                                            visible=False)
        self.region: LimitRegion | None = None
        self.region_cloud = scene.add_point_cloud("/body/limit_region", positions[:1], colors=REGION_COLOUR,
                                                  point_size=0.012, point_shape="circle", precision="float32",
                                                  visible=False)
        self.gizmos: dict[str, Any] = {}
        # A clip's tracked targets (``ik-engine track --npz`` stores them), drawn per frame.
        self.clip_targets = scene.add_point_cloud("/clip/targets", positions[:1], colors=TARGET_COLOUR,
                                                  point_size=0.04, point_shape="diamond", precision="float32",
                                                  visible=False)

    def _segments(self, positions: np.ndarray) -> np.ndarray:
        """(B, 2, 3) float32: each bone from its joint to the parent."""
        return np.stack([positions[self._bones[:, 0]], positions[self._bones[:, 1]]], axis=1).astype(np.float32)

    def draw(self, pose: Pose, at_limit: list[int]) -> None:
        """Show ``pose``: mesh vertices, bones and the joints at a limit (red)."""
        R_world, p_world = self.skeleton.world_transforms(pose)
        if self.mesh is not None:
            self.mesh.vertices = self.skinner.vertices(R_world, p_world)
        self.sticks.points = self._segments(p_world)
        if at_limit:
            self.limits.points = p_world[at_limit].astype(np.float32)
            self.limits.colors = np.tile(np.array(LIMIT_COLOUR, dtype=np.uint8), (len(at_limit), 1))
        self.limits.visible = bool(at_limit)
        if self.region is not None and self.region.child is not None:
            self.region_cloud.points = self.region.points(R_world, p_world).astype(np.float32)
        self.region_cloud.visible = self.region is not None and self.region.child is not None

    def show_limit_region(self, joint: str | None) -> None:
        """Show the region ``joint``'s child bone can reach within its limits from the next
        ``draw`` on (None: hide it)."""
        self.region = None if joint is None else LimitRegion(self.skeleton, self.skeleton.index(joint))
        if self.region is not None and self.region.child is not None:
            self.region_cloud.colors = np.tile(np.array(REGION_COLOUR, dtype=np.uint8), (len(self.region.coordinates), 1))

    def add_gizmo(self, target: Target, on_move: Callable[[str, np.ndarray, np.ndarray], None]) -> None:
        """A transform gizmo for ``target``; dragging it calls ``on_move(name, position, wxyz)``."""
        gizmo = self.server.scene.add_transform_controls(
            f"/targets/{target.name}", scale=GIZMO_SCALE[target.kind], disable_rotations=target.kind != "hand",
            position=tuple(target.position), wxyz=tuple(target.wxyz), visible=target.enabled, depth_test=False)

        @gizmo.on_update
        def _(event) -> None:
            if event.phase != "start":
                on_move(target.name, np.array(event.target.position), np.array(event.target.wxyz))

        self.gizmos[target.name] = gizmo

    def place_gizmo(self, target: Target) -> None:
        """Move a gizmo where its target is (after code set it, or a reset) and show it if on."""
        gizmo = self.gizmos[target.name]
        gizmo.position = tuple(target.position)
        gizmo.wxyz = tuple(target.wxyz)
        gizmo.visible = target.enabled

    def show_clip_targets(self, positions: np.ndarray | None) -> None:
        """Draw a clip frame's tracked targets (K, 3), metres; None hides them."""
        if positions is None or len(positions) == 0:
            self.clip_targets.visible = False
            return
        self.clip_targets.points = np.asarray(positions, dtype=np.float32)
        self.clip_targets.visible = True

    def remove(self) -> None:
        """Take this body's nodes out of the scene (before another body is shown)."""
        for node in [self.mesh, self.sticks, self.limits, self.region_cloud, self.clip_targets, *self.gizmos.values()]:
            if node is not None:
                node.remove()
        self.gizmos.clear()
