"""Pictures of posed bodies: the skinned mesh, shaded, with the stick skeleton on top (PNG).

Orthographic views with matplotlib (Agg canvas, no display needed).  The mesh is drawn as a 2-D
projection of its triangles: back faces culled, the rest painted far to near with Lambert
shading -- about 0.3 s per view for the shipped 27k-triangle body.

Views are the character's own: each pose (in a strip: the clip, by its first frame) is first
turned about the vertical through its root so that it faces +Z (``facing_forward``), so
``front`` shows the face of a character that has turned as well. Then (SMPL-X axes: +X the
character's left, +Y up, +Z forward): ``front`` looks at the character's face (its left on the picture's right; as ``ik_engine.drawing``); ``side`` has
forward to the right and up up, so it is seen from the character's right (as
``ik_engine.drawing``'s side view); ``back`` looks at its back; ``top`` looks down from above,
the character facing the bottom of the picture.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .errors import PoseError
from .mesh import Mesh, skin
from .pose import Pose
from .rotations import axis_angle_to_matrix, matrix_to_axis_angle
from .skeleton import Skeleton

SKIN_COLOUR = np.array([0.80, 0.74, 0.68])
SKELETON_COLOUR = "#1f3b73"
AMBIENT = 0.35
PANEL_HEIGHT_IN = 4.0

# View name -> (world direction of the picture's right, of its up); the viewer looks along
# -(right x up).
VIEWS = {
    "front": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    "side": ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0)),
    "back": ((-1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    "top": ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0)),
}
_VIEW_TITLES = {"front": "front", "side": "side (from the right)", "back": "back", "top": "top (from above)"}


def _view_frame(view: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World unit vectors of the picture's right, up, and towards-the-viewer directions."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; choose from {', '.join(VIEWS)}")
    right, up = (np.asarray(d) for d in VIEWS[view])
    return right, up, np.cross(right, up)


def draw_bones(ax, skeleton: Skeleton, positions: np.ndarray, view: str = "front", color=None, linewidth: float = 1.2) -> None:
    """Draw a stick skeleton (J, 3) into a matplotlib axes, above any mesh drawn there."""
    from matplotlib.collections import LineCollection

    right, up, _ = _view_frame(view)
    xy = np.stack([positions @ right, positions @ up], axis=-1)
    color = SKELETON_COLOUR if color is None else color
    child = np.flatnonzero(skeleton.parents >= 0)
    segments = np.stack([xy[skeleton.parents[child]], xy[child]], axis=1)
    ax.add_collection(LineCollection(segments, colors=color, linewidths=linewidth, alpha=0.9, capstyle="round", zorder=3))
    ax.scatter(xy[:, 0], xy[:, 1], s=5, color=color, zorder=4, linewidths=0)


def _as_pose_list(poses) -> list[Pose]:
    if isinstance(poses, Pose):
        return [poses]
    poses = list(poses)
    if not poses:
        raise PoseError("no poses to render")
    for k, p in enumerate(poses):
        if not isinstance(p, Pose):
            raise PoseError(f"poses[{k}] is a {type(p).__name__}, not an ik_engine.Pose")
    return poses


def shaded_triangles(vertices: np.ndarray, faces: np.ndarray, view: str) -> tuple[np.ndarray, np.ndarray]:
    """The visible triangles of a mesh in one view, far to near.

    Returns:
        (polygons (F', 3, 2) picture coordinates in metres, colours (F', 3) RGB in 0..1).
    """
    right, up, towards = _view_frame(view)
    tri = vertices[faces]  # (F, 3, 3)
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    length = np.linalg.norm(normal, axis=1)
    keep = (normal @ towards > 0) & (length > 0)
    tri, normal = tri[keep], normal[keep] / length[keep, None]
    order = np.argsort(tri.mean(axis=1) @ towards, kind="stable")
    tri, normal = tri[order], normal[order]
    light = towards + 0.6 * up - 0.4 * right  # from the viewer, above, a little to the left
    light /= np.linalg.norm(light)
    lambert = np.clip(normal @ light, 0.0, 1.0)
    colours = SKIN_COLOUR[None] * (AMBIENT + (1.0 - AMBIENT) * lambert)[:, None]
    polygons = np.stack([tri @ right, tri @ up], axis=-1)
    return polygons, np.clip(colours, 0.0, 1.0)


def draw_mesh(ax, vertices: np.ndarray, faces: np.ndarray, view: str = "front") -> None:
    """Draw a posed mesh (V, 3) shaded into a matplotlib axes, one of the VIEWS."""
    from matplotlib.collections import PolyCollection

    polygons, colours = shaded_triangles(vertices, faces, view)
    # Edges in the face colour hide the hairline seams anti-aliasing leaves between triangles.
    ax.add_collection(PolyCollection(polygons, facecolors=colours, edgecolors=colours, linewidths=0.25, zorder=1))


def _extent(points: np.ndarray, view: str) -> np.ndarray:
    """(2, 2) [[x_min, y_min], [x_max, y_max]] of world points in the picture."""
    right, up, _ = _view_frame(view)
    xy = np.stack([points @ right, points @ up], axis=-1).reshape(-1, 2)
    return np.stack([xy.min(axis=0), xy.max(axis=0)])


def _scale_bar(ax, box: np.ndarray, from_ground: bool) -> None:
    """A vertical scale bar (0.05 .. 1 m, under half the panel's height) near the left edge,
    standing on the ground (y = 0) in the standing views."""
    height = box[1, 1] - box[0, 1]
    length = max([l for l in (1.0, 0.5, 0.2, 0.1, 0.05) if l <= 0.45 * height] or [0.05])
    x = box[0, 0] + 0.08
    y0 = 0.0 if from_ground else box[0, 1] + 0.05 * height
    ax.plot([x, x], [y0, y0 + length], color="0.2", linewidth=2.0, solid_capstyle="butt", zorder=5)
    ax.text(x - 0.015, y0 + 0.5 * length, f"{length:g} m", fontsize=7, va="center", ha="right",
            rotation=90, color="0.2")


def _panel(ax, skeleton: Skeleton, pose: Pose, mesh: Mesh | None, view: str, box: np.ndarray, title: str,
           scale_bar: bool = True) -> None:
    positions = skeleton.world_positions(pose)
    if mesh is not None:
        draw_mesh(ax, skin(mesh, skeleton, pose), mesh.faces, view)
    if view != "top":  # the ground, y = 0
        ax.axhline(0.0, color="0.55", linewidth=0.8, zorder=0)
    draw_bones(ax, skeleton, positions, view)
    ax.set_xlim(box[0, 0], box[1, 0])
    ax.set_ylim(box[0, 1], box[1, 1])
    ax.set_aspect("equal")
    ax.set_axis_off()
    if scale_bar:
        _scale_bar(ax, box, from_ground=view != "top")
    if title:
        ax.set_title(title, fontsize=8)


def _boxes(skeleton: Skeleton, poses: Sequence[Pose], mesh: Mesh | None, views: Sequence[str]) -> dict[str, np.ndarray]:
    """Per view, one picture box that holds every pose (so panels share a scale), with margins."""
    points = []
    for pose in poses:
        points.append(skeleton.world_positions(pose))
        if mesh is not None:
            points.append(skin(mesh, skeleton, pose))
    cloud = np.concatenate(points)
    boxes = {}
    for view in views:
        box = _extent(cloud, view)
        if view != "top":
            box[0, 1] = min(box[0, 1], 0.0)
        pad = 0.06 * max(box[1] - box[0]) + 0.02
        box = box + np.array([[-pad - 0.12, -pad], [pad, pad]])  # extra room on the left: scale bar
        boxes[view] = box
    return boxes


def _new_figure(width_in: float, height_in: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_in, height_in))
    FigureCanvasAgg(figure)
    return figure


def heading(skeleton: Skeleton, pose: Pose) -> float:
    """The root's turn about the vertical (+Y) from its rest heading, radians (0: facing +Z)."""
    # The root's world rotation is its local one: its rest rotation times the pose's.
    R_rest = np.eye(3) if skeleton.rest_rotations is None else skeleton.rest_rotations[0]
    R_root = R_rest @ axis_angle_to_matrix(pose.rotations[0], np) @ R_rest.T
    forward = R_root @ np.array([0.0, 0.0, 1.0])
    if np.hypot(forward[0], forward[2]) < 1e-6:  # facing straight up or down: no heading
        return 0.0
    return float(np.arctan2(forward[0], forward[2]))


def facing_forward(skeleton: Skeleton, pose: Pose, yaw: float) -> Pose:
    """``pose`` turned by ``-yaw`` about the vertical through its root (same shape, same place)."""
    c, s = np.cos(-yaw), np.sin(-yaw)
    R_turn = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    rotations = np.array(pose.rotations)
    root = skeleton.rest_offsets[0] + pose.translation
    R_local_root = axis_angle_to_matrix(rotations[0], np)
    if skeleton.rest_rotations is not None:  # the pose rotation acts in the root's rest frame
        R_rest = skeleton.rest_rotations[0]
        rotations[0] = matrix_to_axis_angle(R_rest.T @ R_turn @ R_rest @ R_local_root, np)
    else:
        rotations[0] = matrix_to_axis_angle(R_turn @ R_local_root, np)
    return Pose(rotations, pose.translation + (R_turn @ root - root) * np.array([1.0, 0.0, 1.0]))


def render_poses(
    path,
    skeleton: Skeleton,
    poses,
    mesh: Mesh | None = None,
    views: Sequence[str] = ("front", "side"),
    title: str = "",
    labels: Sequence[str] | None = None,
    dpi: int = 130,
) -> None:
    """Write a PNG: one row per pose, one column per view; the skinned mesh (if given) with the
    skeleton on top, a ground line (y = 0) and a scale bar; all panels share one scale.

    Args:
        poses: a Pose or a sequence of Poses of ``skeleton``.
        mesh: e.g. :func:`ik_engine.mesh.load_default_mesh` for the default skeleton; None draws
            stick figures only.
        labels: optional text per pose, shown in its row's titles.
    """
    poses = [facing_forward(skeleton, p, heading(skeleton, p)) for p in _as_pose_list(poses)]
    views = tuple(views)
    if not views:
        raise ValueError("no views to render")
    if labels is not None and len(labels) != len(poses):
        raise ValueError(f"{len(labels)} labels for {len(poses)} poses")
    boxes = _boxes(skeleton, poses, mesh, views)
    # One scale (inches per metre) for every panel, so the views compare directly.
    scale = PANEL_HEIGHT_IN / max(float(boxes[v][1, 1] - boxes[v][0, 1]) for v in views)
    widths = [scale * float(boxes[v][1, 0] - boxes[v][0, 0]) for v in views]
    figure = _new_figure(sum(widths), PANEL_HEIGHT_IN * len(poses) + (0.4 if title else 0.1))
    grid = figure.add_gridspec(len(poses), len(views), width_ratios=widths)
    for r, pose in enumerate(poses):
        for c, view in enumerate(views):
            name = _VIEW_TITLES[view] if labels is None else f"{labels[r]} - {_VIEW_TITLES[view]}"
            _panel(figure.add_subplot(grid[r, c]), skeleton, pose, mesh, view, boxes[view], name)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=dpi)


def render_strip(
    path,
    skeleton: Skeleton,
    poses: Sequence[Pose],
    every: int = 10,
    mesh: Mesh | None = None,
    view: str = "front",
    title: str = "",
    columns: int = 8,
    dpi: int = 110,
) -> None:
    """Write a PNG strip of a clip: frames 0, every, 2 * every, ... side by side (wrapping after
    ``columns``), all at one scale, each labelled with its frame number.
    """
    poses = _as_pose_list(poses)
    if int(every) < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    if int(columns) < 1:
        raise ValueError(f"columns must be >= 1, got {columns}")
    frames = list(range(0, len(poses), int(every)))
    yaw = heading(skeleton, poses[0])  # one turn for the whole clip: its own turns stay visible
    shown = [facing_forward(skeleton, poses[k], yaw) for k in frames]
    # Every panel has the same size (the largest frame's), centred on its own frame: a
    # character that walks away stays as large as one standing still.
    boxes = [_boxes(skeleton, [pose], mesh, (view,))[view] for pose in shown]
    size = np.max([b[1] - b[0] for b in boxes], axis=0)
    centres = [0.5 * (b[0] + b[1]) for b in boxes]
    panel_boxes = [np.stack([c - 0.5 * size, c + 0.5 * size]) for c in centres]
    if view != "top":  # standing views share the ground line
        for b in panel_boxes:
            b[:, 1] = [min(bb[0, 1] for bb in boxes), min(bb[0, 1] for bb in boxes) + size[1]]
    cols = min(int(columns), len(shown))
    rows = -(-len(shown) // cols)
    panel_w = PANEL_HEIGHT_IN * 0.75 * float(size[0] / size[1])
    figure = _new_figure(panel_w * cols, PANEL_HEIGHT_IN * 0.75 * rows + (0.4 if title else 0.1))
    for i, (k, pose) in enumerate(zip(frames, shown)):
        ax = figure.add_subplot(rows, cols, i + 1)
        _panel(ax, skeleton, pose, mesh, view, panel_boxes[i], f"frame {k}", scale_bar=i % cols == 0)
    if title:
        figure.suptitle(f"{title} ({_VIEW_TITLES[view]} view, every {every} frames)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=dpi)
