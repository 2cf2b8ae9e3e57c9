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

from ik_engine.progress_bar import ProgressBar
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
    """Progress over clips: how many, and the frames fitted (or the clip that failed)."""

    def __init__(self, total: int) -> None:
        self.bar = ProgressBar(total, "fitting", "clip")
        self.count, self.frames = 0, 0

    def __call__(self, report: dict) -> None:
        self.count += 1
        self.frames += report.get("frames") or 0
        self.bar(self.count, self.bar.total)
        self.bar.status(f"{self.frames} frames" + ("" if report["status"] == "done" else f"; {report['clip']} FAILED"))

    def close(self) -> None:
        self.bar.close()


def run(args) -> int:
    from pathlib import Path

    from ik_engine.corpus import FitOptions, finished_clips, run_corpus, summary_table
    from ik_engine.errors import IKError

    joints = args.joints if args.joints.lower() in ("smpl22", "smpl24", "smplx55") else args.joints.split(",")
    try:
        unit = float(args.unit)
    except ValueError:
        unit = args.unit
    options = FitOptions(joint_names=joints, fps=args.fps, up=args.up, unit=unit, model_path=args.model,
                         gender=args.gender, smooth=args.smooth, bvh_scale=args.bvh_scale)
    say = lambda text: print(f"ik-engine fit: {text}", file=sys.stderr)  # noqa: E731
    bars: list[_ClipBar] = []  # made once run_corpus has found the clips (its total)
    try:
        result = run_corpus(args.inputs, args.out, options, workers=args.workers or None, address=args.address,
                            resume=args.resume, on_report=lambda report: bars[0](report), say=say,
                            on_start=lambda total: bars.append(_ClipBar(total)))
    except KeyboardInterrupt:
        for bar in bars:
            bar.close()
        say(f"interrupted: {len(finished_clips(Path(args.out)))} clips are finished in {args.out}; "
            "run the same command with --resume to fit the rest")
        return 130
    except (FileNotFoundError, IKError) as exc:
        for bar in bars:
            bar.close()
        say(str(exc))
        return 2
    finally:
        for bar in bars:
            bar.close()
    table = summary_table(result)
    (Path(args.out) / "summary.txt").write_text(table + "\n")
    print(table)
    return 0 if not result.failed else 1
