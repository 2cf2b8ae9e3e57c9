"""``load_skeleton``: one entry point for every skeleton source."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import SkeletonFileError
from .skeleton import Skeleton

SHIPPED = ("smplx",)


def load_skeleton(source: str | os.PathLike, *, betas=None, gender: str = "neutral", expression=None,
                  scale: float = 1.0, limits: str = "box") -> Skeleton:
    """Load a skeleton.

    Args:
        source: ``"smplx"`` for the shipped default SMPL-X skeleton (55 joints, anatomical
            limits, CC0); a user's SMPL-X model file (``.npz`` / ``.pkl``, or a folder holding
            ``SMPLX_<GENDER>.npz``), loaded through the ``smplx`` package with the body shape
            ``betas`` (and ``expression``), SMPL-X joint names and the shipped limits; or a
            ``.bvh`` file (its hierarchy, joint names and offsets times ``scale``).
        limits: which shipped limit table an SMPL-X skeleton gets: ``"box"`` (the default, a
            box on each joint's coordinates) or ``"swing_twist"`` (the shoulders and hips as
            swing-twist joints with a per-direction reach table: anatomically closer, and
            its median solve measured 8-10 % slower; docs/joint-limits.md).
    """
    if isinstance(source, str) and source.lower() in SHIPPED:
        if betas is not None or expression is not None:
            raise SkeletonFileError("betas and expression apply only to SMPL-X model files, not the shipped skeleton")
        from ik_engine.skeletons.smplx_default import load_smplx_default

        return load_smplx_default(limits)
    try:
        path = Path(os.fspath(source))
    except TypeError:
        raise SkeletonFileError(f"cannot load a skeleton from {source!r}: give 'smplx' or a file path") from None
    suffix = path.suffix.lower()
    if suffix in (".npz", ".pkl") or path.is_dir():
        from ik_engine.skeletons.smplx_model import load_smplx_model

        return load_smplx_model(path, betas=betas, gender=gender, expression=expression, limits=limits)
    if suffix == ".bvh":
        from ik_engine.skeletons.bvh import load_bvh

        if limits != "box":
            raise SkeletonFileError("limits apply to SMPL-X skeletons; a BVH skeleton has no limits")
        return load_bvh(path, scale=scale)[0]
    raise SkeletonFileError(
        f"cannot load a skeleton from {os.fspath(source)!r}: give 'smplx', an SMPL-X model file (.npz, .pkl) or a .bvh file"
    )
