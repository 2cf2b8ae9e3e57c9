"""The text the viewer shows about a solve: errors per constraint, convergence, iterations,
time, and the joints at a limit."""

from __future__ import annotations

import numpy as np

from ..pose import Pose
from ..skeleton import Skeleton

AT_LIMIT = 1e-3  # radians from a bound that count as "at the limit"


def joints_at_limit(skeleton: Skeleton, pose: Pose, joints: list[str] | None = None) -> list[int]:
    """Indices of the joints (of ``joints``, default all) with a free coordinate within 1e-3 rad
    of its lower or upper limit."""
    coordinates = skeleton.to_coordinates(pose.rotations)
    free = skeleton.free_dofs
    near = ((coordinates <= skeleton.lower + AT_LIMIT) | (coordinates >= skeleton.upper - AT_LIMIT)) & free
    selected = range(skeleton.num_joints) if joints is None else skeleton.indices(joints)
    return [j for j in selected if near[j].any()]


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
