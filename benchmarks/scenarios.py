"""Benchmark scenarios (the protocol: README, "Benchmarks"): reachable targets by construction.

A scenario draws random poses uniformly inside the limits of the joints that move, runs
forward kinematics and takes the effectors' positions (and rotations) as targets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import ik_engine as ik

ARM_JOINTS = ("left_collar", "left_shoulder", "left_elbow", "left_wrist")
HAND_POINT = "left_middle1"
HAND_FRAME = "left_wrist"


@dataclass
class Scenario:
    """Targets of one scenario.

    Attributes:
        name: scenario name.
        moving: joints that may move.
        positions: {joint: (N, 3) world targets}.
        rotations: {joint: (N, 3, 3) world target rotations}.
    """

    name: str
    description: str
    moving: tuple[str, ...]
    positions: dict[str, np.ndarray]
    rotations: dict[str, np.ndarray] = field(default_factory=dict)
    move_root: bool = False
    solver_options: dict = field(default_factory=dict)

    def solver(self, skeleton: ik.Skeleton) -> ik.IKSolver:
        """The solver this scenario is measured with (its settings are reported)."""
        return ik.IKSolver(skeleton, joints=self.moving, move_root=self.move_root, **self.solver_options)

    @property
    def size(self) -> int:
        return len(next(iter(self.positions.values())))

    def constraints(self, i: int, weights: dict[str, float] | None = None) -> list[ik.Constraint]:
        weights = weights or {}
        out: list[ik.Constraint] = [ik.Position(j, p[i], weight=weights.get(j, 1.0)) for j, p in self.positions.items()]
        out += [ik.Orientation(j, R[i], weight=weights.get(j + ":rot", 1.0)) for j, R in self.rotations.items()]
        return out

    def errors(self, skeleton: ik.Skeleton, i: int, pose: ik.Pose) -> tuple[float, float]:
        """(max position error m, max orientation error rad) measured with float64 FK."""
        R, p = skeleton.world_transforms(pose)
        pos = max((np.linalg.norm(p[skeleton.index(j)] - t[i]) for j, t in self.positions.items()), default=0.0)
        rot = 0.0
        for j, targets in self.rotations.items():
            R_error = R[skeleton.index(j)] @ targets[i].T
            rot = max(rot, float(np.arccos(np.clip((np.trace(R_error) - 1.0) / 2.0, -1.0, 1.0))))
        return float(pos), rot


def targets_of(skeleton: ik.Skeleton, poses, points, frames):
    """({point: (N, 3) world positions}, {frame: (N, 3, 3) world rotations}) of N poses."""
    positions = {j: np.empty((len(poses), 3)) for j in points}
    rotations = {j: np.empty((len(poses), 3, 3)) for j in frames}
    for i, pose in enumerate(poses):
        R, p = skeleton.world_transforms(pose)
        for j in points:
            positions[j][i] = p[skeleton.index(j)]
        for j in frames:
            rotations[j][i] = R[skeleton.index(j)]
    return positions, rotations


def _random_targets(skeleton: ik.Skeleton, moving, n: int, seed: int, points, frames, poses=None):
    """``targets_of`` n random in-limit poses of ``moving`` (or of ``poses`` when given)."""
    if poses is None:
        rng = np.random.default_rng(seed)
        poses = [skeleton.random_pose(rng, moving) for _ in range(n)]
    return targets_of(skeleton, poses, points, frames)


# Cold starts from the rest pose: a budget that lets the rare target behind a limit corner be
# found by restarts (stated with every figure; every method gets the same budget and, where it
# has them, as many restarts).
ARM_SOLVER_OPTIONS = {"max_iterations": 300, "restarts": 30}


def arm_reach(skeleton: ik.Skeleton, n: int, seed: int = 0, poses=None) -> Scenario:
    """``poses``: targets from these poses instead of n random ones (as in the other scenarios)."""
    positions, _ = _random_targets(skeleton, ARM_JOINTS, n, seed, [HAND_POINT], [], poses)
    return Scenario("arm_reach", f"{HAND_POINT} position; moving {', '.join(ARM_JOINTS)}", ARM_JOINTS, positions,
                    solver_options=dict(ARM_SOLVER_OPTIONS))


def arm_pose(skeleton: ik.Skeleton, n: int, seed: int = 0, poses=None) -> Scenario:
    positions, rotations = _random_targets(skeleton, ARM_JOINTS, n, seed, [HAND_POINT], [HAND_FRAME], poses)
    return Scenario(
        "arm_pose", f"{HAND_POINT} position + {HAND_FRAME} orientation; moving {', '.join(ARM_JOINTS)}",
        ARM_JOINTS, positions, rotations, solver_options=dict(ARM_SOLVER_OPTIONS),
    )


SCENARIOS = {"arm_reach": arm_reach, "arm_pose": arm_pose}


from ik_engine.geometry import BODY_JOINTS  # noqa: E402  (the 22 SMPL-X body joints, defined once)
FULL_BODY_POINTS = ("left_middle1", "right_middle1", "left_foot", "right_foot", "head")
FULL_BODY_FRAMES = ("left_wrist", "right_wrist", "left_ankle", "right_ankle")


def full_body(skeleton: ik.Skeleton, n: int, seed: int = 0, poses=None) -> Scenario:
    """Pelvis translation and the 22 body joints move (the pelvis rotation too: any heading).

    Targets: hands, feet and head positions and wrist and ankle orientations of random
    in-limit poses, each moved by a random translation of up to 0.3 m per axis (or of
    ``poses``, translations included, when given).
    """
    if poses is None:
        rng = np.random.default_rng(seed)
        poses = []
        for _ in range(n):
            pose = skeleton.random_pose(rng, BODY_JOINTS)
            poses.append(ik.Pose(pose.rotations, rng.uniform(-0.3, 0.3, 3)))
    positions, rotations = targets_of(skeleton, poses, FULL_BODY_POINTS, FULL_BODY_FRAMES)
    return Scenario(
        "full_body",
        "pelvis translation + 22 body joints; positions of both hands (middle1), feet, head; orientations of wrists and ankles",
        BODY_JOINTS, positions, rotations, move_root=True,
        # A cold start from the T-pose to any heading and posture: a larger budget.
        solver_options={"max_iterations": 1000, "restarts": 40},
    )


SCENARIOS["full_body"] = full_body
