"""Export a posed skeleton (and its skinned mesh) as a binary glTF file (.glb), through trimesh.

glTF's axes and units are SMPL-X's: +Y up, +Z forward, metres, so positions are written as
they are.  The file holds up to two meshes: ``body`` (the skinned mesh, if given) and
``skeleton`` (a thin cylinder per bone and a small sphere per joint), each with a plain
material.  trimesh is an optional dependency (the ``mesh`` extra).
"""

from __future__ import annotations

import os

import numpy as np

from .mesh import Mesh, skin
from .pose import Pose
from .skeleton import Skeleton

BODY_COLOUR = (0.80, 0.74, 0.68, 1.0)
SKELETON_COLOUR = (0.12, 0.23, 0.45, 1.0)


def _trimesh():
    try:
        import trimesh
    except ImportError as exc:
        raise ImportError(
            'exporting a GLB needs the optional dependency trimesh: pip install "trimesh>=4" '
            "(ik-engine's extra 'mesh')"
        ) from exc
    return trimesh


def _material(trimesh, rgba, name: str):
    return trimesh.visual.material.PBRMaterial(
        name=name, baseColorFactor=[float(c) for c in rgba], metallicFactor=0.0, roughnessFactor=0.8
    )


def skeleton_geometry(skeleton: Skeleton, positions: np.ndarray, bone_radius: float = 0.006,
                      joint_radius: float = 0.010):
    """One trimesh.Trimesh of the bones (J - 1 cylinders) and joints (J spheres) at (J, 3) positions."""
    trimesh = _trimesh()
    parts = []
    for j, p in enumerate(skeleton.parents):
        if p >= 0 and np.linalg.norm(positions[j] - positions[p]) > 1e-9:
            parts.append(trimesh.creation.cylinder(radius=bone_radius, segment=[positions[p], positions[j]], sections=8))
    sphere = trimesh.creation.icosphere(subdivisions=1, radius=joint_radius)
    for x in positions:
        parts.append(sphere.copy().apply_translation(x))
    return trimesh.util.concatenate(parts)


def export_glb(path: str | os.PathLike, skeleton: Skeleton, pose: Pose | None = None, mesh: Mesh | None = None,
               bone_radius: float = 0.006) -> None:
    """Write a .glb file with the skeleton in ``pose`` (rest pose if None) and, if given, the mesh
    skinned to it (e.g. :func:`ik_engine.mesh.load_default_mesh` with the default skeleton).

    Raises:
        ImportError: trimesh is not installed (the ``mesh`` extra).
    """
    trimesh = _trimesh()
    pose = skeleton.rest_pose() if pose is None else skeleton.check_pose(pose)
    scene = trimesh.Scene()
    if mesh is not None:
        vertices = skin(mesh, skeleton, pose)
        body = trimesh.Trimesh(vertices=vertices, faces=mesh.faces, process=False)
        body.visual = trimesh.visual.TextureVisuals(material=_material(trimesh, BODY_COLOUR, "body"))
        scene.add_geometry(body, node_name="body", geom_name="body")
    bones = skeleton_geometry(skeleton, skeleton.world_positions(pose), bone_radius=bone_radius,
                              joint_radius=max(1.6 * bone_radius, 1e-4))
    bones.visual = trimesh.visual.TextureVisuals(material=_material(trimesh, SKELETON_COLOUR, "skeleton"))
    scene.add_geometry(bones, node_name="skeleton", geom_name="skeleton")
    data = scene.export(file_type="glb")
    with open(path, "wb") as f:
        f.write(data)
