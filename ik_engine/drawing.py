"""Stick-figure pictures of poses with matplotlib (front and side views, no display needed)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .pose import Pose
from .skeleton import Skeleton

# View name -> (horizontal world axis, sign, vertical world axis), SMPL-X axes (Y up, +Z forward).
VIEWS = {
    "front": (0, 1.0, 1),  # facing the character (looking along -Z): its left (+X) is on the viewer's right
    "side": (2, 1.0, 1),  # from the character's right (looking along +X): forward (+Z) to the right
    "top": (0, -1.0, 2),  # from above (looking down -Y, forward up the page): the character's left on the viewer's left
}


def new_figure(columns: int, rows: int = 1, size: float = 3.2):
    """A matplotlib figure on the non-interactive Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(size * columns, size * rows * 1.15))
    FigureCanvasAgg(figure)
    return figure


def draw_skeleton(ax, skeleton: Skeleton, positions: np.ndarray, view: str = "front", color="C0", alpha=1.0, linewidth=1.6) -> None:
    """Draw bones (J, 3) of one pose into a matplotlib axes in one of VIEWS."""
    h, sign, v = VIEWS[view]
    for j, p in enumerate(skeleton.parents):
        if p < 0:
            continue
        ax.plot(
            [sign * positions[p, h], sign * positions[j, h]],
            [positions[p, v], positions[j, v]],
            color=color, alpha=alpha, linewidth=linewidth, solid_capstyle="round",
        )
    ax.scatter(sign * positions[:, h], positions[:, v], s=4, color=color, alpha=alpha, zorder=3)


def style_axes(ax, view: str, title: str = "") -> None:
    labels = {"front": ("X, character's left [m]", "Y up [m]"), "side": ("Z forward [m]", "Y up [m]"), "top": ("-X, character's right [m]", "Z forward [m]")}
    ax.set_aspect("equal")
    ax.set_xlabel(labels[view][0], fontsize=7)
    ax.set_ylabel(labels[view][1], fontsize=7)
    ax.tick_params(labelsize=6)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=8)


def draw_poses(
    skeleton: Skeleton,
    poses: Sequence[Pose],
    path: str,
    views: Sequence[str] = ("front", "side"),
    targets: np.ndarray | None = None,
    title: str = "",
    labels: Sequence[str] | None = None,
) -> None:
    """Write a PNG with the poses overlaid in each view, each in its own colour, named in a legend.

    Args:
        targets: optional (T, 3) world points drawn as a path with markers.
        labels: one name per pose for the legend (default: "pose 1", "pose 2", ...).
    """
    labels = [f"pose {k + 1}" for k in range(len(poses))] if labels is None else list(labels)
    if len(labels) != len(poses):
        raise ValueError(f"{len(labels)} labels for {len(poses)} poses")
    figure = new_figure(len(views))
    for i, view in enumerate(views):
        ax = figure.add_subplot(1, len(views), i + 1)
        for k, pose in enumerate(poses):
            draw_skeleton(ax, skeleton, skeleton.world_positions(pose), view, color=f"C{k % 10}", alpha=0.85)
            ax.plot([], [], color=f"C{k % 10}", linewidth=1.5, label=labels[k])
        if targets is not None:
            h, sign, v = VIEWS[view]
            ax.plot(sign * targets[:, h], targets[:, v], "k--", linewidth=0.8, label="target path")
        if i == len(views) - 1:
            ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
        style_axes(ax, view, view)
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=130)
