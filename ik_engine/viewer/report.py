"""The text the viewer shows about a solve: errors per constraint, convergence, iterations,
time, and the joints at a limit."""

from __future__ import annotations

import numpy as np

from ..joint_coordinates import SWING_TWIST_KINDS, swing_axes, twist_axis
from ..joint_kinds import swing_limit_excess
from ..pose import Pose
from ..skeleton import Skeleton

AT_LIMIT = 1e-3  # radians from a bound that count as "at the limit"


def joints_at_limit(skeleton: Skeleton, pose: Pose, joints: list[str] | None = None) -> list[int]:
    """Indices of the joints (of ``joints``, default all) with a free coordinate within 1e-3 rad
    of its lower or upper limit, or a swing within 1e-3 rad of its ellipse or reach table."""
    coordinates = skeleton.to_coordinates(pose.rotations)
    free = skeleton.free_dofs
    near = ((coordinates <= skeleton.lower + AT_LIMIT) | (coordinates >= skeleton.upper - AT_LIMIT)) & free
    selected = range(skeleton.num_joints) if joints is None else skeleton.indices(joints)
    return [j for j in selected if near[j].any() or _swing_at_limit(skeleton, j, coordinates[j])]


def _swing_at_limit(skeleton: Skeleton, j: int, c: np.ndarray) -> bool:
    """Whether swing-twist joint j's swing (coordinates c (3,)) lies within about AT_LIMIT of
    its ellipse or reach table: with each swing coordinate AT_LIMIT further from 0, it leaves."""
    kind = skeleton.coordinates[j]
    if kind not in SWING_TWIST_KINDS:
        return False
    t = twist_axis(kind)
    b, d = swing_axes(t)
    pushed = c.copy()
    for a in (b, d):
        pushed[a] = c[a] + np.sign(c[a]) * AT_LIMIT
    return swing_limit_excess(pushed, t, skeleton.lower[j], skeleton.upper[j], bool(skeleton.elliptic_swing[j]),
                              skeleton.reach(j)) > 0.0


def solve_text(report, skeleton: Skeleton, joints: list[str] | None) -> str:
    """Markdown of a SolveReport (see posing.py): one line per constraint, then the summary."""
    if report is None:
        return "No target is on: switch one on in **Targets**."
    result = report.result
    lines = []
    for (label, unit), error in zip(report.labels, np.asarray(result.errors, dtype=float)):
        value = f"{error * 1e3:.2f} mm" if unit == "mm" else f"{np.degrees(error):.2f} deg"
        lines.append(f"- {label}: {value}")
    state = "**converged**" if result.converged else "**not converged** (closest reach shown)"
    limited = joints_at_limit(skeleton, result.pose, joints)
    names = ", ".join(skeleton.joint_names[j] for j in limited) or "none"
    lines.append(f"\n{state}; {result.iterations} iterations, {report.solve_seconds * 1e3:.1f} ms")
    lines.append(f"\nJoints at a limit (red): {names}")
    return "\n".join(lines)
