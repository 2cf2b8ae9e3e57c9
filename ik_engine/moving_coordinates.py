"""A problem's moving joints: their rotations (axis-angles) to the variables' coordinates and back.

Every solve turns the start pose's rotations of its moving joints into coordinates
(``ResidualProblem.initial_variables``) and the final coordinates back into rotations
(``solution.pose_arrays``). Most joints' coordinates are their axis-angles; Euler joints (the
elbows) and swing-twist joints (the shoulders and hips of the swing-twist table) are converted.
``MovingCoordinates`` looks up each converted joint's conversion and its neutral rotation's
quaternion once per problem, and converts one pose (every single solve) in Python floats, row
by row; batches (..., M, 3) go through the vectorised numpy conversions of
``joint_coordinates``. Hand-written rather than a call of ``joint_coordinates`` per joint, which
looked the kind and the neutral quaternion up on every call: an arm's two converted joints (a
swing-twist shoulder and an Euler elbow), both ways, took 19.9 us with those calls against 10.0
us here; the box table's arm (its Euler elbow) 7.5 against 5.0 us (timeit, 2026-12-03; the
numbers are the same: tests/test_moving_coordinates.py).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from . import scalar_rotations as scalar
from .joint_coordinates import (
    AXIS_ANGLE,
    SWING_TWIST_KINDS,
    axis_angle_to_coordinates,
    coordinates_to_axis_angle,
    euler_axes,
    twist_axis,
)
from .skeleton import Skeleton
from .swing_twist_conversions import neutral_quaternion, scalar_axis_angle_to_swing_twist, scalar_swing_twist_to_axis_angle


def _euler_of_axis_angle(r: list, axes: tuple[int, int, int]) -> tuple:
    return scalar.axis_angle_to_euler((r[0], r[1], r[2]), axes)


def _axis_angle_of_euler(c: list, axes: tuple[int, int, int]) -> tuple:
    return scalar.euler_to_axis_angle((c[0], c[1], c[2]), axes)


def _swing_twist_of_axis_angle(r: list, argument: tuple) -> list:
    return scalar_axis_angle_to_swing_twist(r, argument[0], argument[1])


def _axis_angle_of_swing_twist(c: list, argument: tuple) -> list:
    return scalar_swing_twist_to_axis_angle(c, argument[0], argument[1])


class MovingCoordinates:
    """Conversions between the axis-angles and the coordinates of ``moving`` (M,) joints of
    ``skeleton`` (skeleton indices, in the variables' order)."""

    def __init__(self, skeleton: Skeleton, moving: Sequence[int]) -> None:
        # (position among the moving joints, coordinate kind, neutral rotation (3, 3) or None)
        # of every joint whose coordinates are not its axis-angle.
        self.converted = tuple((m, skeleton.coordinates[int(j)], skeleton.neutral(int(j)))
                               for m, j in enumerate(moving) if skeleton.coordinates[int(j)] != AXIS_ANGLE)
        # The same as (m, to coordinates, to axis-angles, argument) with Python functions of
        # one row; None where only the numpy conversions serve (an Euler joint with a neutral rotation).
        rows = []
        for m, kind, neutral in self.converted:
            if kind in SWING_TWIST_KINDS:
                rows.append((m, _swing_twist_of_axis_angle, _axis_angle_of_swing_twist, (twist_axis(kind), neutral_quaternion(neutral))))
            elif neutral is None:
                rows.append((m, _euler_of_axis_angle, _axis_angle_of_euler, euler_axes(kind)))
            else:
                rows = None
                break
        self._rows = None if rows is None else tuple(rows)

    def to_coordinates(self, values: np.ndarray) -> np.ndarray:
        """values (..., M, 3) float64 axis-angles of the moving joints, overwritten with their
        coordinates; returned."""
        return self._converted(values, 1, axis_angle_to_coordinates)

    def to_axis_angles(self, values: np.ndarray) -> np.ndarray:
        """values (..., M, 3) float64 coordinates of the moving joints, overwritten with their
        axis-angles (angles within pi for the converted joints); returned."""
        return self._converted(values, 2, coordinates_to_axis_angle)

    def _converted(self, values: np.ndarray, direction: int, batched) -> np.ndarray:
        """``values`` converted in place: one pose by the row functions at ``direction`` (1: to
        coordinates, 2: to axis-angles) of ``_rows``, else by ``batched`` joint by joint."""
        if values.ndim == 2 and self._rows is not None:
            for row in self._rows:
                m = row[0]
                values[m] = row[direction](values[m].tolist(), row[3])
            return values
        for m, kind, neutral in self.converted:
            values[..., m, :] = batched(values[..., m, :], kind, neutral)
        return values
