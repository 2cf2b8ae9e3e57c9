"""Smooth reference motions for animation-loop benchmarks and examples."""

from __future__ import annotations

import numpy as np

import ik_engine as ik

UPPER_BODY = (
    "spine1", "spine2", "spine3", "neck", "head", "left_collar", "right_collar",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)


def smooth_upper_body_motion(skeleton: ik.Skeleton, frames: int, fps: float = 30.0, seed: int = 0) -> np.ndarray:
    """(T, J, 3) joint rotations (axis-angle): each upper-body joint coordinate (the numbers
    its limits box, see ``Skeleton.coordinates``) a sum of two slow sinusoids around the middle
    of its range, using up to a third of the range; legs at rest.

    The motion stays inside the limits by construction (a swing-twist joint's swing brought
    into its ellipse or reach table, a continuous projection).
    """
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / fps
    coordinates = np.zeros((frames, skeleton.num_joints, 3))
    for name in UPPER_BODY:
        j = skeleton.index(name)
        lo, hi = skeleton.lower[j], skeleton.upper[j]
        middle, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
        for axis in range(3):
            freq = rng.uniform(0.1, 0.4, 2)  # Hz
            phase = rng.uniform(0, 2 * np.pi, 2)
            wave = 0.6 * np.sin(2 * np.pi * freq[0] * t + phase[0]) + 0.4 * np.sin(2 * np.pi * freq[1] * t + phase[1])
            coordinates[:, j, axis] = np.clip(middle[axis] + wave * half[axis] / 3.0, lo[axis], hi[axis])
    return skeleton.clamped_rotations(skeleton.from_coordinates(coordinates))


def mean_acceleration(rotations: np.ndarray, joints: list[int]) -> float:
    """Mean norm of the frame-to-frame second difference of the joints' rotations, rad/frame^2."""
    second = rotations[2:, joints] - 2 * rotations[1:-1, joints] + rotations[:-2, joints]
    return float(np.mean(np.linalg.norm(second, axis=-1)))
