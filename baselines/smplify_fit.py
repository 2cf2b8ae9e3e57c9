"""SMPLify-style fitting of joint positions: what SMPL-X users run today, written here.

The smplx torch model's joints are fitted to target positions by L-BFGS (strong-Wolfe line
search) on the squared joint-position error plus a pose regulariser (``|body_pose|^2``, the
Gaussian-prior stand-in that joints2smpl- and MotionGPT-style scripts use), all frames of a
clip at once as one batch, in two stages: the root (orientation, translation) on the torso
joints first, then every parameter (body pose, root, one shared shape) on all joints.
Rotations are unconstrained: nothing keeps a joint within anatomical limits.

For comparison in ``benchmarks/fit_joints.py``; needs the smplx extra and a model file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

TORSO = ("pelvis", "left_hip", "right_hip", "spine1", "spine2", "spine3", "neck", "left_shoulder", "right_shoulder")


@dataclass
class SMPLifyResult:
    """rotations (T, 55, 3) axis-angle, translations (T, 3) (smplx ``transl``), betas (N,),
    joints (T, 55, 3) smplx's joints for them, seconds of optimisation."""

    rotations: np.ndarray
    translations: np.ndarray
    betas: np.ndarray
    joints: np.ndarray
    seconds: float


def smplify_fit(module, positions: np.ndarray, joint_indices, root_iterations: int = 30, iterations: int = 100,
                pose_prior_weight: float = 1e-4, shape_prior_weight: float = 1e-3, fit_shape: bool = True,
                joint_names=None) -> SMPLifyResult:
    """Fit ``module`` (an ``smplx.SMPLX``, e.g. ``smplx_module(path)``) to ``positions``.

    Args:
        positions: (T, K, 3) targets, Y up, metres.
        joint_indices: (K,) SMPL-X joint index of each column.
        root_iterations, iterations: L-BFGS iterations of the two stages.
        pose_prior_weight, shape_prior_weight: weights of ``|body_pose|^2`` and ``|betas|^2``
            (per frame, against squared metres summed over joints).
        joint_names: (K,) names, to pick the torso joints of the first stage.
    """
    import torch

    dtype = module.shapedirs.dtype
    target = torch.as_tensor(np.asarray(positions), dtype=dtype)
    T, K = target.shape[:2]
    index = torch.as_tensor(np.asarray(joint_indices), dtype=torch.long)
    torso = [k for k, n in enumerate(joint_names or []) if n in TORSO] or list(range(K))
    zeros = lambda n: torch.zeros(T, n, dtype=dtype)  # noqa: E731
    global_orient = zeros(3).requires_grad_()
    body_pose = zeros(63).requires_grad_()
    betas = torch.zeros(1, module.num_betas, dtype=dtype, requires_grad=fit_shape)
    with torch.no_grad():
        rest = module(betas=betas, return_verts=False).joints[0, 0]
    transl = (target[:, 0] - rest).clone().requires_grad_()  # column 0 near the pelvis
    fixed = dict(jaw_pose=zeros(3), leye_pose=zeros(3), reye_pose=zeros(3), left_hand_pose=zeros(45),
                 right_hand_pose=zeros(45), expression=zeros(module.num_expression_coeffs))

    def joints():
        out = module(global_orient=global_orient, body_pose=body_pose, transl=transl, betas=betas.expand(T, -1),
                     return_verts=False, return_shaped=False, **fixed)
        return out.joints[:, :55]

    def run(parameters, columns, steps):
        optimizer = torch.optim.LBFGS(parameters, max_iter=steps, line_search_fn="strong_wolfe",
                                      tolerance_grad=1e-12, tolerance_change=1e-14, history_size=20)

        def closure():
            optimizer.zero_grad()
            error = joints()[:, index[columns]] - target[:, columns]
            loss = (error ** 2).sum() + pose_prior_weight * (body_pose ** 2).sum()
            if fit_shape:
                loss = loss + shape_prior_weight * T * (betas ** 2).sum()
            loss.backward()
            return loss

        optimizer.step(closure)

    started = time.perf_counter()
    run([global_orient, transl], torso, root_iterations)
    run([global_orient, transl, body_pose] + ([betas] if fit_shape else []), list(range(K)), iterations)
    seconds = time.perf_counter() - started
    with torch.no_grad():
        final = joints().cpu().numpy().astype(np.float64)
    rotations = np.zeros((T, 55, 3))
    rotations[:, 0] = global_orient.detach().cpu().numpy()
    rotations[:, 1:22] = body_pose.detach().cpu().numpy().reshape(T, 21, 3)
    return SMPLifyResult(rotations, transl.detach().cpu().numpy().astype(np.float64),
                         betas.detach()[0].cpu().numpy().astype(np.float64), final, seconds)
