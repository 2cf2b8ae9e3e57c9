"""Benchmark of ``ik.fit_joints``: joint positions of real motion back to SMPL-X parameters.

    python -m ik_engine.benchmarks.fit_joints [--out DIR] [--skip-baseline]

Ground truth: the CMU clips (tests/data/cmu when run from a checkout, and the shipped
131_01) tracked onto the SMPL-X skeleton (``ik.track``); their SMPL-X joint positions on a
body whose every bone is scaled by a random factor in 0.9-1.1 are the input.

* exact: noise-free smpl22 input on the default skeleton: MPJPE, worst joint, limit violations;
* shape: the same motion on a synthetic SMPL-X model file with random betas: the fitted body's
  rest joints against the truth's;
* noisy: 1 cm Gaussian noise per coordinate, ``smooth``: MPJPE to the clean truth, jitter
  (mean second difference of joint positions) against the clean truth's;
* speed: the longest clip, smpl22: the process's first fit (its compile, from an empty
  cache, reported separately), then frames per second of fits on bodies of their own bone
  lengths (median and slowest over repeats; no compile); the SMPLify-style baseline (baselines/smplify_fit.py, the
  smplx torch model and L-BFGS) on the same input beside it.

Prints the figures and writes ``fit_joints.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

import ik_engine as ik
from ik_engine.benchmarks.synthetic_smplx import write_synthetic_model
from ik_engine.joint_sets import SMPL22

HERE = Path(__file__).resolve().parent
CLIPS = sorted((HERE.parent / "tests" / "data" / "cmu").glob("*.bvh")) + [HERE / "data" / "131_01.bvh"]


def tracked_clips(paths=CLIPS) -> dict[str, ik.Motion]:
    """Each CMU clip tracked onto the default SMPL-X skeleton: {label: Motion}."""
    from ik_engine.tracking import effector_tracks, track

    skeleton = ik.load_skeleton("smplx")
    clips = {}
    for path in paths:
        source, motion = ik.load_bvh(path, scale=ik.CMU_UNIT)
        label = f"{path.parent.name}/{path.name}"
        clips[label] = track(skeleton, effector_tracks(source, motion, skeleton), motion.fps, compilation="blocking").motion
    return clips


def scaled_bones(skeleton: ik.Skeleton, rng: np.random.Generator, low: float = 0.9, high: float = 1.1) -> ik.Skeleton:
    """``skeleton`` with every bone (rest offset) scaled by its own random factor."""
    factors = rng.uniform(low, high, skeleton.num_joints)
    factors[0] = 1.0  # the root's offset is its position, not a bone
    return skeleton.with_rest_offsets(skeleton.rest_offsets * factors[:, None], name="scaled bones")


def jitter(positions: np.ndarray) -> float:
    """Mean norm of the second difference of joint positions over frames, metres."""
    return float(np.linalg.norm(positions[2:] - 2 * positions[1:-1] + positions[:-2], axis=-1).mean())


def violations(result) -> int:
    return int(sum(result.skeleton.limit_violation(p) > 1e-6 for p in result.motion))


def fitted_positions(result) -> np.ndarray:
    return result.motion.world_positions(result.skeleton)[:, result.skeleton.indices(SMPL22)]


def exact_and_noisy(clips, rng, smooth: float) -> list[dict]:
    rows = []
    default = ik.load_skeleton("smplx")
    for label, motion in clips.items():
        truth = scaled_bones(default, rng)
        P = motion.world_positions(truth)[:, truth.indices(SMPL22)]
        exact = ik.fit_joints(P, "smpl22", fps=motion.fps, compilation="blocking")
        noisy_input = P + rng.normal(0.0, 0.01, P.shape)
        noisy = ik.fit_joints(noisy_input, "smpl22", fps=motion.fps, smooth=smooth, compilation="blocking")
        Q = fitted_positions(noisy)
        rows.append(dict(
            clip=label, frames=len(P),
            exact_mpjpe_mm=exact.mpjpe * 1e3, exact_max_mm=float(exact.errors.max() * 1e3),
            exact_violations=violations(exact),
            noisy_input_mpjpe_mm=float(np.linalg.norm(noisy_input - P, axis=-1).mean() * 1e3),
            noisy_mpjpe_to_clean_mm=float(np.linalg.norm(Q - P, axis=-1).mean() * 1e3),
            noisy_jitter_ratio=jitter(Q) / jitter(P), noisy_violations=violations(noisy),
        ))
    return rows


def shape_fit(motion: ik.Motion, model: str, rng) -> dict:
    from ik_engine.skeletons.smplx_model import load_smplx_model

    betas = rng.normal(0.0, 1.0, 10)
    truth = load_smplx_model(model, betas=betas)
    P = motion.world_positions(truth)[:, truth.indices(SMPL22)]
    result = ik.fit_joints(P, "smpl22", fps=motion.fps, model_path=model, compilation="blocking")
    rest_error = np.linalg.norm(result.skeleton.rest_positions() - truth.rest_positions(), axis=-1)
    body = truth.indices(SMPL22)
    return dict(frames=len(P), betas_error_max=float(np.abs(result.betas - betas).max()),
                rest_joint_error_body_max_mm=float(rest_error[body].max() * 1e3),
                rest_joint_error_all55_max_mm=float(rest_error.max() * 1e3),
                mpjpe_mm=result.mpjpe * 1e3, violations=violations(result)), P, truth


def speed(motion: ik.Motion, rng, repeats: int) -> dict:
    """The first fit of the process (it compiles, from an empty cache), then ``repeats``
    fits, each on a body of its own bone lengths (no compile: one program serves every body)."""
    truth = scaled_bones(ik.load_skeleton("smplx"), rng)
    P = motion.world_positions(truth)[:, truth.indices(SMPL22)]
    started = time.perf_counter()
    first = ik.fit_joints(P, "smpl22", fps=motion.fps, compilation="blocking")
    first_total = time.perf_counter() - started
    fps, later_compile = [], []
    for _ in range(repeats):
        body = scaled_bones(ik.load_skeleton("smplx"), rng)
        Q = motion.world_positions(body)[:, body.indices(SMPL22)]
        result = ik.fit_joints(Q, "smpl22", fps=motion.fps, compilation="blocking")
        fps.append(len(Q) / result.solve_seconds)
        later_compile.append(result.compile_seconds)
    return dict(frames=len(P), compile_seconds=first.compile_seconds, first_call_seconds=first_total,
                first_solve_fps=len(P) / first.solve_seconds, later_bodies_compile_seconds_max=float(max(later_compile)),
                solve_fps_median=float(np.median(fps)), solve_fps_p95_low=float(np.percentile(fps, 5)),
                solve_ms_per_frame_median=1e3 / float(np.median(fps)), mpjpe_mm=first.mpjpe * 1e3)


def baseline(P: np.ndarray, model: str, ours, iterations: int) -> dict:
    from ik_engine.baselines.smplify_fit import smplify_fit
    from ik_engine.skeletons.smplx_model import smplx_module

    module = smplx_module(model)
    skeleton = ik.load_skeleton("smplx")
    fit = smplify_fit(module, P, skeleton.indices(SMPL22), iterations=iterations, joint_names=list(SMPL22))
    error = np.linalg.norm(fit.joints[:, skeleton.indices(SMPL22)] - P, axis=-1)
    excess = [skeleton.joint_limit_excess(ik.Pose(r)).max() for r in fit.rotations]
    return dict(frames=len(P), mpjpe_mm=float(error.mean() * 1e3), fps=len(P) / fit.seconds, seconds=fit.seconds,
                frames_outside_limits=int(sum(e > 1e-6 for e in excess)),
                ours_mpjpe_mm=ours.mpjpe * 1e3, ours_fps=len(P) / ours.solve_seconds,
                ours_compile_seconds=ours.compile_seconds)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="./fit_joints-benchmark-results")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smooth", type=float, default=0.04, help="seconds of smoothing for the noisy input")
    parser.add_argument("--repeats", type=int, default=5, help="speed: solves of the long clip")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--baseline-frames", type=int, default=64,
                        help="frames of the long clip the SMPLify-style baseline fits (it takes about 1 s per frame here)")
    parser.add_argument("--baseline-iterations", type=int, default=200, help="L-BFGS iterations of the baseline")
    args = parser.parse_args(argv)
    # Compile times of a fresh cache: a body fitted by an earlier run would be a cache hit.
    cache = tempfile.TemporaryDirectory(prefix="fit_joints_compile_cache")
    os.environ.setdefault("IK_ENGINE_COMPILE_CACHE", cache.name)
    rng = np.random.default_rng(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    clips = tracked_clips()
    longest = max(clips, key=lambda k: len(clips[k]))
    # Speed first: its first fit is the process's first, so it compiles from the empty cache.
    results = {"speed": dict(clip=longest, **speed(clips[longest], rng, args.repeats))}
    s = results["speed"]
    print(f"speed ({longest}, {s['frames']} frames, smpl22): first fit compiles {s['compile_seconds']:.2f} s (empty cache; "
          f"the whole first call {s['first_call_seconds']:.2f} s); then {args.repeats} fits, each on a body of its own bones: "
          f"{s['solve_fps_median']:.0f} frames/s median ({s['solve_ms_per_frame_median']:.3f} ms/frame; slowest: "
          f"{s['solve_fps_p95_low']:.0f}), compile at most {s['later_bodies_compile_seconds_max']:.3f} s each")
    results |= {"exact_and_noisy": exact_and_noisy(clips, rng, args.smooth), "smooth_seconds": args.smooth}
    print(f"{'clip':28s} {'frames':>6s} {'exact MPJPE mm':>14s} {'max mm':>7s} {'viol':>4s} | "
          f"{'noisy in mm':>11s} {'to clean mm':>11s} {'jitter x':>8s} {'viol':>4s}")
    for r in results["exact_and_noisy"]:
        print(f"{r['clip']:28s} {r['frames']:6d} {r['exact_mpjpe_mm']:14.4f} {r['exact_max_mm']:7.3f} {r['exact_violations']:4d} | "
              f"{r['noisy_input_mpjpe_mm']:11.2f} {r['noisy_mpjpe_to_clean_mm']:11.2f} {r['noisy_jitter_ratio']:8.3f} {r['noisy_violations']:4d}")
    with tempfile.TemporaryDirectory() as folder:
        model = write_synthetic_model(Path(folder) / "SMPLX_NEUTRAL.npz", seed=args.seed)
        results["shape"], P, truth = shape_fit(clips[longest], model, rng)
        r = results["shape"]
        print(f"shape (synthetic SMPL-X file, random betas): rest joints within {r['rest_joint_error_body_max_mm']:.4f} mm "
              f"(body), {r['rest_joint_error_all55_max_mm']:.4f} mm (all 55); MPJPE {r['mpjpe_mm']:.4f} mm; "
              f"violations {r['violations']}")
        if not args.skip_baseline:
            P = P[: args.baseline_frames]
            ours = ik.fit_joints(P, "smpl22", fps=clips[longest].fps, model_path=model)
            results["baseline"] = b = baseline(P, model, ours, args.baseline_iterations)
            b["ours_interpreted_frames"] = ours.interpreted_frames
            how = "uncompiled" if ours.interpreted_frames else "with the chunk program compiled earlier in the run"
            print(f"first {len(P)} frames of the clip on the synthetic body: ik.fit_joints ({how}) MPJPE {b['ours_mpjpe_mm']:.3f} mm at {b['ours_fps']:.0f} "
                  f"frames/s (+ compile {b['ours_compile_seconds']:.2f} s); SMPLify-style baseline MPJPE {b['mpjpe_mm']:.3f} mm "
                  f"at {b['fps']:.1f} frames/s ({b['seconds']:.1f} s), {b['frames_outside_limits']} frames outside the limits")
    (out / "fit_joints.json").write_text(json.dumps(results, indent=2))
    print(f"wrote {out / 'fit_joints.json'}")
    cache.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
