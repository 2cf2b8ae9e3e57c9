"""``ik-engine fit INPUT... --out DIR``: joint positions to SMPL-X parameters, clip by clip.

Writes one AMASS-style ``.npz`` per clip (``poses`` (T, 165), ``trans``, ``betas``,
``gender``, ``mocap_framerate``) and a ``.json`` report per clip, ``manifest.jsonl`` and
``summary.txt``; a progress bar over clips (and the frames fitted). ``--workers N`` runs on
a local Ray instance, ``--address HOST:PORT`` on a running Ray cluster (the ``cluster``
extra); without Ray, clips are fitted in this process.
"""

from __future__ import annotations

import argparse
import sys

from ik_engine.skeletons.bvh import CMU_UNIT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", help=".npy / .npz arrays (T, K, 3), .bvh files, folders or globs")
    parser.add_argument("--out", required=True, help="folder for the .npz parameters, reports and manifest")
    parser.add_argument("--joints", default="smpl22",
                        help="joint set of .npy/.npz columns: smpl22, smpl24, smplx55 or comma-separated SMPL-X names")
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate of arrays without one (default 30)")
    parser.add_argument("--up", choices=["y", "z"], default="y", help="the data's up axis (output keeps it)")
    parser.add_argument("--unit", default="m", help="m, cm, mm or metres per unit")
    parser.add_argument("--bvh-scale", type=float, default=CMU_UNIT, help=f"BVH units to metres (default: CMU's {CMU_UNIT})")
    parser.add_argument("--model", help="a SMPL-X model file or folder: fit its betas (needs the smplx extra)")
    parser.add_argument("--gender", default="neutral", choices=["neutral", "male", "female"])
    parser.add_argument("--smooth", type=float, default=None, help="seconds of temporal smoothing for noisy input")
    parser.add_argument("--workers", type=int, default=0, help="run N workers on a local Ray instance")
    parser.add_argument("--address", help="HOST:PORT of a running Ray cluster to submit the clips to")
    parser.add_argument("--resume", action="store_true", help="skip clips already finished in --out")


class _ClipBar:
    """A progress bar over clips (tqdm when installed, else a line per clip)."""

    def __init__(self, total: int) -> None:
        try:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc="fitting", unit="clip")
        except ImportError:
            self._bar = None
        self.total, self.count, self.frames = total, 0, 0

    def __call__(self, report: dict) -> None:
        self.count += 1
        self.frames += report.get("frames") or 0
        text = f"{self.frames} frames" + ("" if report["status"] == "done" else f"; {report['clip']} FAILED")
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix_str(text)
        else:
            print(f"fitting: {self.count}/{self.total} clips, {text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def run(args) -> int:
    from pathlib import Path

    from ik_engine.corpus import FitOptions, clip_names, find_inputs, finished_clips, run_corpus, summary_table
    from ik_engine.errors import IKError

    joints = args.joints if args.joints.lower() in ("smpl22", "smpl24", "smplx55") else args.joints.split(",")
    try:
        unit = float(args.unit)
    except ValueError:
        unit = args.unit
    options = FitOptions(joint_names=joints, fps=args.fps, up=args.up, unit=unit, model_path=args.model,
                         gender=args.gender, smooth=args.smooth, bvh_scale=args.bvh_scale)
    try:
        names = clip_names(find_inputs(args.inputs))
    except (FileNotFoundError, IKError) as exc:
        print(f"ik-engine fit: {exc}", file=sys.stderr)
        return 2
    skip = finished_clips(Path(args.out)) if args.resume and Path(args.out).is_dir() else set()
    bar = _ClipBar(sum(1 for n in names.values() if n not in skip))
    say = lambda text: print(f"ik-engine fit: {text}", file=sys.stderr)  # noqa: E731
    try:
        result = run_corpus(args.inputs, args.out, options, workers=args.workers or None, address=args.address,
                            resume=args.resume, on_report=bar, say=say)
    except KeyboardInterrupt:
        bar.close()
        say(f"interrupted: {len(finished_clips(Path(args.out)))} clips are finished in {args.out}; "
            "run the same command with --resume to fit the rest")
        return 130
    except IKError as exc:
        bar.close()
        say(str(exc))
        return 2
    finally:
        bar.close()
    table = summary_table(result)
    (Path(args.out) / "summary.txt").write_text(table + "\n")
    print(table)
    return 0 if not result.failed else 1
