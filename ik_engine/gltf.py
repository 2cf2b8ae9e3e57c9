"""Animated, skinned glTF 2.0 (.glb) out, through pygltflib.

``export_gltf(path, skeleton, motion_or_pose, mesh=None)`` writes one binary glTF file that
game engines, three.js, Unity, Unreal and every DCC read:

* the skeleton as a node hierarchy (one node per joint, named as the joint; each node's
  translation is its rest offset in the parent's frame, its rotation the joint's local
  rotation ``R_parent_joint`` in the first frame; the root's translation adds the clip's);
* a skin over those nodes, with inverse bind matrices of the rest pose (the bind pose);
* the mesh, where given, skinned to it (4 joints and weights per vertex, positions in the
  rest pose);
* for a Motion of more than one frame, one animation ("motion") with a rotation channel per
  joint and a translation channel for the root, one key per frame at the clip's frame rate
  (LINEAR; quaternion signs kept continuous from frame to frame).

Axes and units are SMPL-X's and glTF's alike: +Y up, +Z forward, metres, so nothing is
converted. pygltflib is an optional dependency (the ``mesh`` extra). The
container is built with a maintained library rather than by hand (only the accessor packing
is ours: a few lines of numpy).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .errors import PoseError
from .kinematics import local_rotations
from .mesh import Mesh
from .motion import Motion
from .pose import Pose
from .rotations import matrix_to_quaternion
from .skeleton import Skeleton

FLOAT, UNSIGNED_SHORT, UNSIGNED_INT = 5126, 5123, 5125
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
BODY_COLOUR = (0.80, 0.74, 0.68, 1.0)


def _pygltflib():
    try:
        import pygltflib
    except ImportError as exc:
        raise ImportError('writing glTF needs the optional dependency pygltflib: pip install "pygltflib>=1.16" '
                          "(ik-engine's extra 'mesh')") from exc
    return pygltflib


class _Packer:
    """Appends arrays to one binary buffer and describes each as a bufferView and accessor."""

    def __init__(self, gltf: Any, pygltflib: Any) -> None:
        self.gltf, self.lib, self.blob = gltf, pygltflib, bytearray()

    def add(self, array: np.ndarray, kind: str, component: int, target: int | None = None,
            bounds: bool = False) -> int:
        """Index of a new accessor over ``array`` ((N,) SCALAR or (N, k) VECk / MAT4)."""
        dtype = {FLOAT: np.float32, UNSIGNED_SHORT: np.uint16, UNSIGNED_INT: np.uint32}[component]
        data = np.ascontiguousarray(array, dtype=dtype)
        while len(self.blob) % 4:
            self.blob.append(0)
        view = self.lib.BufferView(buffer=0, byteOffset=len(self.blob), byteLength=data.nbytes, target=target)
        self.blob.extend(data.tobytes())
        self.gltf.bufferViews.append(view)
        flat = data.reshape(len(data), -1)
        accessor = self.lib.Accessor(bufferView=len(self.gltf.bufferViews) - 1, componentType=component,
                                     count=len(data), type=kind)
        if bounds:
            accessor.min = [float(v) for v in flat.min(axis=0)]
            accessor.max = [float(v) for v in flat.max(axis=0)]
        self.gltf.accessors.append(accessor)
        return len(self.gltf.accessors) - 1


def _frames(skeleton: Skeleton, motion_or_pose: Motion | Pose) -> tuple[np.ndarray, np.ndarray, float]:
    """(rotations (T, J, 3), translations (T, 3), fps) of a Motion or a single Pose."""
    if isinstance(motion_or_pose, Pose):
        pose = skeleton.check_pose(motion_or_pose)
        return pose.rotations[None], pose.translation[None], 30.0
    if isinstance(motion_or_pose, Motion):
        if motion_or_pose.rotations.shape[1] != skeleton.num_joints:
            raise PoseError(f"the motion has {motion_or_pose.rotations.shape[1]} joints per frame; "
                            f"the skeleton {skeleton.name!r} has {skeleton.num_joints}")
        return np.asarray(motion_or_pose.rotations), np.asarray(motion_or_pose.translations), float(motion_or_pose.fps)
    raise PoseError(f"export_gltf needs an ik_engine Motion or Pose, got {type(motion_or_pose).__name__}")


def _continuous_quaternions(R: np.ndarray) -> np.ndarray:
    """(T, J, 4) glTF quaternions (x, y, z, w) of (T, J, 3, 3) rotations, each joint's sign
    chosen so that consecutive frames stay on the same hemisphere (no spin at interpolation)."""
    q_wxyz = matrix_to_quaternion(R, np)
    q = np.concatenate([q_wxyz[..., 1:], q_wxyz[..., :1]], axis=-1)
    for t in range(1, len(q)):
        flip = np.sum(q[t] * q[t - 1], axis=-1) < 0
        q[t, flip] = -q[t, flip]
    return q


def export_gltf(path: str | os.PathLike, skeleton: Skeleton, motion_or_pose: Motion | Pose,
                mesh: Mesh | None = None) -> None:
    """Write ``motion_or_pose`` on ``skeleton`` as a skinned, animated binary glTF file.

    Args:
        path: the .glb file to write.
        skeleton: the skeleton the motion is posed on.
        motion_or_pose: a Motion (T frames at its fps; T > 1 gives an animation) or one Pose.
        mesh: a Mesh skinned to ``skeleton`` (e.g. ``ik.load_default_mesh()`` for the default
            SMPL-X skeleton), or None for the skeleton alone.

    Raises:
        PoseError: the motion does not fit the skeleton; SkeletonError: the mesh does not.
        ImportError: pygltflib is not installed.
    """
    lib = _pygltflib()
    if not isinstance(skeleton, Skeleton):
        raise PoseError(f"export_gltf needs an ik_engine Skeleton, got {type(skeleton).__name__}")
    rotations, translations, fps = _frames(skeleton, motion_or_pose)
    if mesh is not None:
        if not isinstance(mesh, Mesh):
            raise PoseError(f"mesh must be an ik_engine Mesh or None, got {type(mesh).__name__}")
        mesh.check_skeleton(skeleton)
    J, T = skeleton.num_joints, len(rotations)
    R_parent_joint = local_rotations(rotations, skeleton.rest_rotations, np)  # (T, J, 3, 3)
    quaternions = _continuous_quaternions(R_parent_joint)  # (T, J, 4)
    offsets = np.array(skeleton.rest_offsets, dtype=np.float64)
    root_positions = offsets[0] + translations  # (T, 3)

    gltf = lib.GLTF2(asset=lib.Asset(generator="ik-engine", version="2.0"))
    gltf.scene = 0
    packer = _Packer(gltf, lib)
    for j, name in enumerate(skeleton.joint_names):
        translation = root_positions[0] if skeleton.parents[j] < 0 else offsets[j]
        children = [int(c) for c in np.flatnonzero(np.asarray(skeleton.parents) == j)]
        gltf.nodes.append(lib.Node(name=name, translation=[float(v) for v in translation],
                                   rotation=[float(v) for v in quaternions[0, j]], children=children or None))
    roots = [int(j) for j in np.flatnonzero(np.asarray(skeleton.parents) < 0)]

    # Inverse bind matrices: the inverse of each joint's world transform in the rest pose
    # (column-major 4x4, as glTF stores matrices).
    R_rest, p_rest = skeleton.world_transforms(skeleton.rest_pose())
    inverse_bind = np.zeros((J, 4, 4))
    inverse_bind[:, :3, :3] = np.swapaxes(R_rest, -1, -2)
    inverse_bind[:, :3, 3] = -np.einsum("jba,jb->ja", R_rest, p_rest)
    inverse_bind[:, 3, 3] = 1.0
    ibm = packer.add(np.swapaxes(inverse_bind, -1, -2).reshape(J, 16), "MAT4", FLOAT)
    gltf.skins.append(lib.Skin(name=skeleton.name, joints=list(range(J)), inverseBindMatrices=ibm, skeleton=roots[0]))

    scene_nodes = list(roots)
    if mesh is not None:
        positions = packer.add(mesh.vertices, "VEC3", FLOAT, ARRAY_BUFFER, bounds=True)
        joints = packer.add(mesh.joint_indices, f"VEC{mesh.joint_indices.shape[1]}", UNSIGNED_SHORT, ARRAY_BUFFER)
        weights = packer.add(mesh.joint_weights, f"VEC{mesh.joint_weights.shape[1]}", FLOAT, ARRAY_BUFFER)
        indices = packer.add(mesh.faces.reshape(-1), "SCALAR", UNSIGNED_INT, ELEMENT_ARRAY_BUFFER)
        gltf.materials.append(lib.Material(name="body", pbrMetallicRoughness=lib.PbrMetallicRoughness(
            baseColorFactor=list(BODY_COLOUR), metallicFactor=0.0, roughnessFactor=0.8)))
        gltf.meshes.append(lib.Mesh(name="body", primitives=[lib.Primitive(
            attributes=lib.Attributes(POSITION=positions, JOINTS_0=joints, WEIGHTS_0=weights), indices=indices, material=0)]))
        gltf.nodes.append(lib.Node(name="body", mesh=0, skin=0))
        scene_nodes.append(len(gltf.nodes) - 1)
    gltf.scenes.append(lib.Scene(name=skeleton.name, nodes=scene_nodes))

    if T > 1:
        times = packer.add(np.arange(T) / fps, "SCALAR", FLOAT, bounds=True)
        samplers, channels = [], []
        for j in range(J):
            samplers.append(lib.AnimationSampler(input=times, output=packer.add(quaternions[:, j], "VEC4", FLOAT),
                                                 interpolation="LINEAR"))
            channels.append(lib.AnimationChannel(sampler=len(samplers) - 1,
                                                 target=lib.AnimationChannelTarget(node=j, path="rotation")))
        for root in roots:
            samplers.append(lib.AnimationSampler(input=times, output=packer.add(root_positions, "VEC3", FLOAT),
                                                 interpolation="LINEAR"))
            channels.append(lib.AnimationChannel(sampler=len(samplers) - 1,
                                                 target=lib.AnimationChannelTarget(node=root, path="translation")))
        gltf.animations.append(lib.Animation(name="motion", samplers=samplers, channels=channels))

    gltf.buffers.append(lib.Buffer(byteLength=len(packer.blob)))
    gltf.set_binary_blob(bytes(packer.blob))
    gltf.save_binary(str(path))
