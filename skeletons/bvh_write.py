"""Writing BVH files (``save_bvh``): a skeleton and a clip, End Sites for the leaves, Euler
channels in a chosen order. Reading is ``bvh.py``'s ``load_bvh``; the format's conventions are
described there."""

from __future__ import annotations

import os

import numpy as np

from ik_engine.errors import SkeletonError, SkeletonFileError
from ik_engine.kinematics import local_rotations
from ik_engine.motion import Motion
from ik_engine.skeleton import Skeleton
from ik_engine.validation import finite_number

from .bvh import AXES, END_SITE_NAME, axis_rotations


def _is_end_site(skeleton: Skeleton, j: int, has_children: bool) -> bool:
    """Whether joint j is written as an End Site: a leaf named ``<parent>_end[n]``."""
    p = int(skeleton.parents[j])
    if p < 0 or has_children:
        return False
    match = END_SITE_NAME.match(skeleton.joint_names[j])
    return match is not None and match.group("parent") == skeleton.joint_names[p] and match.group("n") != "1"


def matrix_to_euler(R: np.ndarray, order: str) -> np.ndarray:
    """Intrinsic Euler angles (radians) with ``R = R_A(a) @ R_B(b) @ R_C(c)`` for order "ABC".

    Args:
        R: (..., 3, 3) rotation matrices.
        order: a permutation of "XYZ" (the axes A, B, C).

    Returns:
        (..., 3) angles (a, b, c): b in [-pi/2, pi/2], a and c in (-pi, pi].

    Robust at gimbal lock (b = +-pi/2): a and b come from R's entries, then c is read off
    the remaining rotation ``(R_A(a) R_B(b))^T R``, so R is reproduced to rounding even
    where a and c are not individually determined (there c is 0).
    """
    i, j, k = (AXES[a.lower()] for a in order)
    # +1 for cyclic orders (XYZ, YZX, ZXY), -1 for the others.
    e = 1.0 if (j - i) % 3 == 1 else -1.0
    cos_b = np.hypot(R[..., i, i], R[..., i, j])
    b = np.arctan2(e * R[..., i, k], cos_b)
    # Away from the lock, a comes from entries scaled by cos(b); however imprecise that is
    # near the lock, c below absorbs it (the leftover error is about eps, not eps / cos b).
    # At the lock itself only a +- c is determined: choose c = 0 and read a from column j.
    # That choice is off by O(cos b), hence the tiny threshold (exact locks have cos b ~ 1e-17).
    locked = cos_b < 1e-14
    a = np.where(
        locked,
        np.arctan2(e * R[..., k, j], R[..., j, j]),
        np.arctan2(-e * R[..., j, k], R[..., k, k]),
    )
    M = np.swapaxes(axis_rotations(j, b), -1, -2) @ np.swapaxes(axis_rotations(i, a), -1, -2) @ R
    k1, k2 = (k + 1) % 3, (k + 2) % 3
    c = np.arctan2(M[..., k2, k1] - M[..., k1, k2], M[..., k1, k1] + M[..., k2, k2])
    return np.stack([a, b, c], axis=-1)


def save_bvh(
    path: str | os.PathLike,
    skeleton: Skeleton,
    motion: Motion,
    rotation_order: str = "ZYX",
    scale: float = 1.0,
    precision: int = 9,
) -> None:
    """Write a skeleton and a clip as a BVH file.

    Args:
        path: the file to write.
        skeleton: its joints become ROOT/JOINT blocks; leaves named ``<parent>_end``
            (End Sites read by ``load_bvh``) become End Site blocks again, and other leaves
            get an End Site at their own position (a zero OFFSET, which ``load_bvh`` drops:
            the file reads back with the same joints).
        motion: one frame line per pose.
        rotation_order: the Euler order of every joint's rotation channels, a permutation
            of "XYZ" (intrinsic, as ``load_bvh`` reads them).
        scale: multiplies every length written (e.g. 1 / 0.056444 back to CMU units).
        precision: decimals of every number (9 by default: a round trip reproduces joint
            positions to about 1e-8 of the unit).

    The root gets six channels (position, then rotation), other joints three. Skeletons
    with rest rotations are written with them folded into the channel rotations, so world
    positions are kept (the file's rest pose then differs from the skeleton's).
    """
    name = os.fspath(path)
    order = str(rotation_order).upper()
    if sorted(order) != ["X", "Y", "Z"]:
        raise SkeletonError(f"BVH rotation_order must be a permutation of 'XYZ', got {rotation_order!r}")
    scale = finite_number(scale, "BVH scale", SkeletonError, minimum=0.0, strictly_above=True)
    if not isinstance(precision, (int, np.integer)) or not 1 <= precision <= 17:
        raise SkeletonError(f"BVH precision must be an integer from 1 to 17, got {precision!r}")
    motion.check_skeleton(skeleton)
    for joint in skeleton.joint_names:
        if any(ch in joint for ch in "{}") or joint != " ".join(joint.split()):
            raise SkeletonError(
                f"joint name {joint!r} cannot be written to BVH (no braces, line breaks, tabs or repeated/edge spaces)"
            )

    J = skeleton.num_joints
    children: list[list[int]] = [[] for _ in range(J)]
    for j in range(1, J):
        children[int(skeleton.parents[j])].append(j)
    end_site = [_is_end_site(skeleton, j, bool(children[j])) for j in range(J)]
    fmt = f"{{:.{precision}f}}"

    def number(x: float) -> str:
        text = fmt.format(x + 0.0)  # + 0.0 turns -0.0 into 0.0
        return "0" + text[text.index("."):] if text.startswith("-") and float(text) == 0 else text

    def triple(v) -> str:
        return " ".join(number(float(x)) for x in v)

    offsets = skeleton.rest_offsets * scale
    out = ["HIERARCHY"]
    written: list[int] = []  # joints with channels, in file order
    stack: list[tuple[int, bool]] = [(0, True)]
    while stack:
        j, opening = stack.pop()
        depth = len(skeleton.ancestors[j]) - 1
        pad = "\t" * depth
        if not opening:
            if not children[j]:
                out += [pad + "\tEnd Site", pad + "\t{", pad + "\t\tOFFSET 0 0 0", pad + "\t}"]
            out.append(pad + "}")
            continue
        if end_site[j]:
            out += [pad + "End Site", pad + "{", pad + f"\tOFFSET {triple(offsets[j])}", pad + "}"]
            continue
        written.append(j)
        channels = [f"{a}rotation" for a in order]
        if j == 0:
            channels = ["Xposition", "Yposition", "Zposition"] + channels
        out += [
            pad + ("ROOT " if j == 0 else "JOINT ") + skeleton.joint_names[j],
            pad + "{",
            pad + f"\tOFFSET {triple(offsets[j])}",
            pad + f"\tCHANNELS {len(channels)} " + " ".join(channels),
        ]
        stack.append((j, False))
        stack.extend((c, True) for c in reversed(children[j]))

    T = len(motion)
    R_parent_joint = local_rotations(motion.rotations, skeleton.rest_rotations, np)
    euler = np.rad2deg(matrix_to_euler(R_parent_joint[:, written], order)).reshape(T, 3 * len(written))
    root = (motion.translations + skeleton.rest_offsets[0]) * scale
    frames = np.concatenate([root, euler], axis=1)
    out += ["MOTION", f"Frames: {T}", f"Frame Time: {1.0 / motion.fps:.12g}"]
    out += [" ".join(number(x) for x in row) for row in frames.tolist()]
    try:
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(out) + "\n")
    except OSError as exc:
        raise SkeletonFileError(f"cannot write BVH file {name!r}: {exc}") from None
