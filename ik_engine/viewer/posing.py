"""The viewer's posing state: the body's pose, its targets, and one warm-started solve per update.

``PosingSession`` holds what the GUI and the Python handle change (targets, pinned feet, the
moving joints, ``move_root``, extra constraints given by the caller) and solves from the
current pose whenever one of them changes. It knows nothing of viser: the viewer draws the
pose it returns. One lock serialises solves, since gizmo updates arrive on several threads.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from ..constraints import Constraint
from ..errors import ConstraintError
from ..pose import Pose
from ..result import IKResult
from ..skeleton import Skeleton
from ..solver import IKSolver
from .targets import Target, constraints_of, default_targets

# Moving-joint sets offered for the SMPL-X skeleton (its first 22 joints are the body without
# jaw, eyes and fingers).
SMPLX_BODY = 22
ARM_SIDES = ("left", "right")


def moving_joint_choices(skeleton: Skeleton) -> dict[str, list[str] | None]:
    """Name -> moving joints (None: every joint) that make sense for ``skeleton``."""
    names = skeleton.joint_names
    choices: dict[str, list[str] | None] = {}
    if len(names) >= SMPLX_BODY and names[0] == "pelvis" and "right_wrist" in names:
        choices["body"] = names[:SMPLX_BODY]
        for side in ARM_SIDES:
            choices[f"{side} arm"] = [f"{side}_{j}" for j in ("collar", "shoulder", "elbow", "wrist")]
    choices["all joints"] = None
    return choices


@dataclass
class SolveReport:
    """What one update produced: the result, its constraint labels, and how long it took."""

    result: IKResult
    labels: list[tuple[str, str]]
    solve_seconds: float


class PosingSession:
    """The pose being edited and the targets acting on it.

    Args:
        skeleton: the body.
        pose: the starting pose (default the rest pose).
        joints: the moving joints (None: the first of ``moving_joint_choices``).
        extra: constraints added to every solve (e.g. from ``ik.view(..., constraints=...)``).
    """

    def __init__(self, skeleton: Skeleton, pose: Pose | None = None, joints: list[str] | None = None,
                 extra: list[Constraint] | None = None) -> None:
        self.skeleton = skeleton
        self.pose = skeleton.rest_pose() if pose is None else skeleton.check_pose(pose)
        choices = moving_joint_choices(skeleton)
        self.joints = next(iter(choices.values())) if joints is None else list(skeleton.joint_names[j] if isinstance(j, int) else j for j in joints)
        if self.joints is not None:
            skeleton.indices(self.joints)  # unknown names raise UnknownJointError here
        self.move_root = False
        self.extra = list(extra or [])
        for c in self.extra:
            if not isinstance(c, Constraint):
                raise ConstraintError(f"constraints must be ik_engine constraints, got {type(c).__name__}")
        self.targets: dict[str, Target] = default_targets(skeleton, self.pose)
        self.last: SolveReport | None = None
        self._solvers: dict[tuple, IKSolver] = {}
        self.lock = threading.RLock()

    def solver(self) -> IKSolver:
        """The solver of the current moving joints and move_root (one per setting, kept)."""
        key = (None if self.joints is None else tuple(self.joints), self.move_root)
        if key not in self._solvers:
            self._solvers[key] = IKSolver(self.skeleton, joints=self.joints, move_root=self.move_root)
        return self._solvers[key]

    def constraints(self) -> tuple[list[Constraint], list[tuple[str, str]]]:
        """The constraints of the active targets plus the extra ones, with their labels."""
        constraints, labels = constraints_of(self.targets)
        for c in self.extra:
            labels.append((f"{type(c).__name__} {getattr(c, 'joint', '')}".strip(), "mm"))
        return constraints + self.extra, labels

    def solve(self) -> SolveReport | None:
        """Solve from the current pose; the new pose becomes current. None when nothing is active."""
        with self.lock:
            constraints, labels = self.constraints()
            if not constraints:
                return None
            started = time.perf_counter()
            result = self.solver().solve(constraints, init=self.pose)
            report = SolveReport(result, labels, time.perf_counter() - started)
            self.pose = result.pose
            self.last = report
            return report

    def move_target(self, name: str, position=None, wxyz=None) -> Target:
        """Set a target's position and/or rotation (world, metres; wxyz quaternion)."""
        target = self.target(name)
        with self.lock:
            if position is not None:
                target.position = np.array(position, dtype=np.float64).reshape(3)
            if wxyz is not None:
                q = np.array(wxyz, dtype=np.float64).reshape(4)
                target.wxyz = q / np.linalg.norm(q)
        return target

    def target(self, name: str) -> Target:
        if name not in self.targets:
            raise ConstraintError(f"no target {name!r}; this skeleton's targets are {sorted(self.targets)}")
        return self.targets[name]

    def snap_target(self, name: str) -> Target:
        """Put a target where its joint is now (before switching it on), the look-at point in
        front of the head."""
        target = self.target(name)
        fresh = default_targets(self.skeleton, self.pose)[name]
        with self.lock:
            target.position, target.wxyz = fresh.position, fresh.wxyz
        return target

    def show(self, pose: Pose) -> None:
        """Make ``pose`` current (a clip's frame) with every target at its joint (switches kept),
        so that posing goes on from there."""
        with self.lock:
            self.pose = self.skeleton.check_pose(pose)
            fresh = default_targets(self.skeleton, self.pose)
            for name, target in self.targets.items():
                target.position, target.wxyz = fresh[name].position, fresh[name].wxyz
            self.last = None

    def reset(self) -> None:
        """Back to the rest pose, every target back at its joint (switches kept)."""
        self.show(self.skeleton.rest_pose())
