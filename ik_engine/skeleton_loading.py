"""``load_skeleton``: one entry point for every skeleton source."""

from __future__ import annotations

import os

from .errors import SkeletonFileError
from .skeleton import Skeleton

SHIPPED = ("smplx",)


def load_skeleton(source: str | os.PathLike) -> Skeleton:
    """Load a skeleton.

    Args:
        source: ``"smplx"`` for the shipped default SMPL-X skeleton (55 joints, anatomical
            limits). Loading user files (SMPL-X model files, BVH) comes with their loaders.
    """
    if isinstance(source, str) and source.lower() in SHIPPED:
        from ik_engine.skeletons.smplx_default import load_smplx_default

        return load_smplx_default()
    raise SkeletonFileError(
        f"cannot load a skeleton from {os.fspath(source)!r}: known built-in skeletons are {', '.join(SHIPPED)}"
    )
