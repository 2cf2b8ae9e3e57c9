"""The ``ik-engine`` command.

    ik-engine demo [--frames N] [--out FILE.png]        solve a hand following a moving target
    ik-engine track CLIP.bvh --out RESULT.bvh [...]     follow a mocap clip with the SMPL-X skeleton
    ik-engine render [--pose FILE] [--out FILE.png]     picture of a pose (mesh + skeleton), GLB too
    ik-engine bench [--scenario ...] [--methods ...]     measure every method on every scenario (tables, plots)
    ik-engine view [--body ...] [--clip ...] [--port N]  pose the body in the browser (the viewer extra)
    ik-engine fit INPUT... --out DIR [--workers N]      joint positions to SMPL-X parameters (AMASS-style .npz)
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from ik_engine.progress_bar import ProgressBar
from ik_engine.skeletons.bvh import CMU_UNIT


def demo(frames: int, out: str) -> int:
    """A left hand traces a loop in front of the body; the arm solves each frame, warm-started."""
    import ik_engine as ik
    from ik_engine.drawing import draw_poses

    skel = ik.load_skeleton("smplx")
    moving = ["left_collar", "left_shoulder", "left_elbow", "left_wrist"]
    solver = ik.IKSolver(skel, joints=moving)
    rest = skel.rest_positions()
    shoulder = rest[skel.index("left_shoulder")]
    centre = shoulder + np.array([0.12, -0.05, 0.36])
    angles = np.linspace(0.0, 2.0 * np.pi, frames)
    targets = centre + 0.13 * np.stack([np.cos(angles), np.sin(angles), 0.3 * np.sin(2 * angles)], axis=1)

    pose = skel.rest_pose()
    t0 = time.perf_counter()
    result = solver.solve([ik.Position("left_middle1", targets[0])], init=pose)
    first = time.perf_counter() - t0
    poses, times, errors = [], [], []
    for target in targets:
        t0 = time.perf_counter()
        result = solver.solve([ik.Position("left_middle1", target)], init=pose)
        times.append(time.perf_counter() - t0)
        pose = result.pose
        poses.append(pose)
        errors.append(result.position_error)
    step = max(1, frames // 8)
    shown = poses[::step]
    draw_poses(skel, shown, out, targets=targets, labels=[f"frame {k}" for k in range(0, frames, step)],
               title=f"ik-engine demo: left hand follows a loop ({frames} frames, warm start)")
    times_ms = np.array(times) * 1e3
    print(f"skeleton: {skel.name}, {skel.num_joints} joints; moving: {', '.join(moving)}")
    print(f"first solve: {first * 1e3:.0f} ms (interpreted: nothing to compile first; the loop's program compiles "
          "in the background and takes over when ready)")
    print(f"{frames} frames: median {np.median(times_ms):.3f} ms, p95 {np.percentile(times_ms, 95):.3f} ms per solve")
    print(f"max position error {max(errors) * 1e3:.3f} mm; all converged: {all(e <= solver.position_tolerance for e in errors)}; "
          f"limit violations: {sum(skel.limit_violation(p) > 0 for p in poses)}; compilations: {solver.compilations}")
    print(f"wrote {out}")
    return 0


def track_command(args) -> int:
    """Follow a BVH clip's hands, feet, head and pelvis with the SMPL-X skeleton (or the clip's own)."""
    import ik_engine as ik
    from ik_engine.tracking import EFFECTORS, GUIDES, effector_tracks, track

    source, motion = ik.load_bvh(args.clip, scale=args.scale)
    if args.frames:
        motion = motion[: args.frames]
    if args.own_skeleton:
        if args.limits != "box":
            raise ik.SkeletonFileError("--limits chooses the SMPL-X skeleton's limit table; --own-skeleton tracks on the "
                                    "clip's own skeleton, which has no limits")
        skel = source
        positions = motion.world_positions(source)
        tracks = {name: positions[:, j] for j, name in enumerate(source.joint_names)}
        effectors = [n for n in source.joint_names if source.parents.tolist().count(source.index(n)) == 0 or n == source.joint_names[0]]
        result_kwargs = dict(effectors=effectors, guides=())
    else:
        skel = ik.load_skeleton("smplx", limits=args.limits)
        tracks = effector_tracks(source, motion, skel)
        result_kwargs = {}
    progress = ProgressBar(len(motion), "tracking", "frame")
    started = time.perf_counter()
    result = track(skel, tracks, motion.fps, progress=progress, status=progress.status, **result_kwargs)
    elapsed = time.perf_counter() - started
    progress.close()
    ik.save_bvh(args.out, skel, result.motion)
    if args.npz:
        if skel.num_joints == 55 and skel.joint_names == ik.load_skeleton("smplx").joint_names:
            followed = [n for n in (*EFFECTORS, *GUIDES) if n in tracks]  # what track() solved for
            ik.save_poses_npz(args.npz, result.motion, targets={n: tracks[n] for n in followed})
        else:
            result.motion.save_npz(args.npz)
    if args.glb:  # skinned and animated: the default SMPL-X skeleton gets its CC0 mesh
        ik.export_gltf(args.glb, skel, result.motion, None if args.own_skeleton else ik.load_default_mesh())
    print(f"{len(motion)} frames at {motion.fps:.1f} fps on {skel.name} ({skel.num_joints} joints): "
          f"mean effector error {result.mean_error * 1e3:.2f} mm, solved in {elapsed:.2f} s, {result.clip_seconds / elapsed:.1f}x "
          f"real time ({result.interpreted_frames} frames uncompiled while the solver compiled in the background"
          + (f", which took over after {result.compile_seconds:.2f} s)" if result.compile_seconds else ")"))
    print(f"limit violations: {sum(skel.limit_violation(p) > 1e-4 for p in result.motion)}; wrote {args.out}" + "".join(f" and {f}" for f in (args.npz, args.glb) if f))
    return 0


def render_command(args) -> int:
    """A picture of a pose (the default skeleton with its mesh), and optionally a GLB."""
    import ik_engine as ik

    if args.model:
        # A user's SMPL-X model file: its skeleton for the body shape, and its own mesh.
        from ik_engine.skeletons.smplx_model import smplx_mesh

        betas = None if args.betas is None else np.array(args.betas, dtype=float)
        skel = ik.load_skeleton(args.model, betas=betas)
        mesh = None if args.no_mesh else smplx_mesh(args.model, betas=betas)
    else:
        skel = ik.load_skeleton("smplx")
        mesh = None if args.no_mesh else ik.load_default_mesh()
    if args.clip:
        # A strip of frames of a clip on the default skeleton (e.g. one written by `track`).
        clip_skeleton, clip = ik.load_bvh(args.clip)
        missing = [n for n in skel.joint_names if n not in clip_skeleton.joint_names]
        if missing:
            # Another skeleton (e.g. `track --own-skeleton`): drawn on its own bones, no mesh.
            skel, mesh = clip_skeleton, None
        else:
            # Keep the SMPL-X joints (a BVH written by `track` adds end sites to the leaves).
            columns = [clip_skeleton.index(n) for n in skel.joint_names]
            clip = ik.Motion(clip.rotations[:, columns], clip.translations, clip.fps, skel.joint_names)
        every = max(1, -(-len(clip) // max(1, args.frames)))
        ik.render_strip(args.out, skel, clip.poses, every=every, mesh=mesh, view=args.views[0],
                        title=args.title or os.path.basename(args.clip))
        print(f"wrote {args.out}")
        return 0
    pose = skel.rest_pose()
    if args.pose:
        if not args.pose.endswith((".npy", ".npz")):
            print(f"ik-engine render: --pose takes a .npy (55, 3) array of axis-angles or a .npz with 'rotations' "
                  f"(and 'translation'), got {args.pose!r} (for a BVH clip use --clip)", file=sys.stderr)
            return 2
        try:
            data = np.load(args.pose, allow_pickle=False)
            if isinstance(data, np.ndarray):
                pose = ik.Pose(data)
            else:
                pose = ik.Pose(data["rotations"], data["translation"] if "translation" in data else None)
        except (OSError, ValueError, KeyError) as exc:
            print(f"ik-engine render: cannot read a pose from {args.pose!r}: {exc}", file=sys.stderr)
            return 2
    ik.render_poses(args.out, skel, [pose], mesh=mesh, views=args.views, title=args.title)
    print(f"wrote {args.out}")
    if args.glb:
        ik.export_glb(args.glb, skel, pose, mesh)
        print(f"wrote {args.glb}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ik-engine", description="Real-time inverse kinematics for articulated characters.")
    commands = parser.add_subparsers(dest="command", required=True)
    p_demo = commands.add_parser("demo", help="solve a hand following a moving target and draw the poses")
    p_demo.add_argument("--frames", type=int, default=120, help="animation frames (default 120)")
    p_demo.add_argument("--out", default="ik-engine-demo.png", help="PNG to write (default ik-engine-demo.png)")
    p_track = commands.add_parser("track", help="follow a BVH clip's hands, feet, head and pelvis, frame by frame")
    p_track.add_argument("clip", help="a BVH file (CMU-style joint names for retargeting onto SMPL-X)")
    p_track.add_argument("--out", required=True, help="BVH file to write with the solved motion")
    p_track.add_argument("--npz", help="also write the motion as .npz (SMPL-X parameters on the SMPL-X skeleton)")
    p_track.add_argument("--scale", type=float, default=CMU_UNIT, help=f"BVH units to metres (default: CMU's {CMU_UNIT})")
    p_track.add_argument("--frames", type=int, default=0, help="track only the first N frames")
    p_track.add_argument("--own-skeleton", action="store_true", help="track on the clip's own skeleton (no retargeting)")
    p_track.add_argument("--limits", choices=("box", "swing_twist"), default="box",
                         help="the SMPL-X skeleton's limit table: box (default) or swing_twist (swing-twist shoulders and "
                         "hips, docs/joint-limits.md)")
    p_track.add_argument("--glb", help="also write the motion as an animated, skinned glTF (.glb: the skeleton as a skin, "
                         "the CC0 body mesh on the SMPL-X skeleton, one key per frame)")
    p_render = commands.add_parser("render", help="draw a pose of the default skeleton with its mesh (PNG, optionally GLB)",
                                   formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p_render.add_argument("--pose", help=".npy (55, 3) axis-angle, or .npz with 'rotations' and optional 'translation'")
    p_render.add_argument("--views", nargs="+", default=["front", "side"], choices=["front", "side", "back", "top"],
                          help="views to draw side by side (a strip uses the first)")
    p_render.add_argument("--clip", help="a BVH clip (as `track` writes; on another skeleton it is drawn on its own "
                          "bones): draw a strip of frames")
    p_render.add_argument("--frames", type=int, default=8, help="frames in the strip")
    p_render.add_argument("--no-mesh", action="store_true", help="draw the skeleton only")
    p_render.add_argument("--model", help="a user's SMPL-X model file (.npz/.pkl): its body shape and mesh (needs the smplx extra)")
    p_render.add_argument("--betas", type=float, nargs="+", help="body shape coefficients for --model")
    p_render.add_argument("--title", default="", help="title above the picture (a strip: the clip's file name)")
    p_render.add_argument("--out", default="ik-engine-render.png", help="PNG to write")
    p_render.add_argument("--glb", help="also export the posed mesh and skeleton as a GLB")
    from ik_engine.benchmarks import bench

    p_bench = commands.add_parser("bench", help="measure every method on every benchmark scenario: tables, plots, JSON",
                                  description=bench.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_arguments(p_bench)
    from ik_engine.viewer import command as view_command

    p_view = commands.add_parser("view", help="pose the body in the browser: drag targets, play clips (viser)")
    view_command.add_arguments(p_view)
    from ik_engine import fit_command

    p_fit = commands.add_parser("fit", help="joint positions (.npy/.npz/.bvh) to SMPL-X parameters, per clip, optionally on Ray",
                                description=fit_command.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    fit_command.add_arguments(p_fit)
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # reported by the command's own parser, with its usage
        {"demo": p_demo, "track": p_track, "render": p_render, "bench": p_bench, "view": p_view, "fit": p_fit}[
            args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command == "bench":
        return bench.run(args, argv)
    if args.command == "view":
        return view_command.run(args)
    if args.command == "fit":
        return fit_command.run(args)
    if args.command in ("track", "render"):
        from ik_engine.errors import IKError

        try:
            return (track_command if args.command == "track" else render_command)(args)
        except (IKError, OSError, ImportError) as exc:
            print(f"ik-engine {args.command}: {exc}", file=sys.stderr)
            return 2
    if args.command == "demo":
        if args.frames < 1:
            parser.error("--frames must be >= 1")
        return demo(args.frames, args.out)
    return 2


if __name__ == "__main__":
    sys.exit(main())
