"""Benchmark of ``ik-engine fit`` on a corpus through a local Ray instance.

    python -m ik_engine.benchmarks.fit_corpus [--clips 500] [--frames 100] [--out DIR]

The corpus: ``--clips`` clips of ``--frames`` frames (smpl22 .npy, 120 fps) cut from the CMU
clips tracked onto SMPL-X (as in ``fit_joints``), each on a body with its own random bone
lengths (factors 0.9-1.1), every third with 1 cm Gaussian noise, plus 3 corrupt files.
Each run is the ``ik-engine fit`` command in a subprocess (``--workers N``: Ray started
locally by it):

* frames per second with 1 and with 2 workers (the 2-worker run is the clean reference);
* a worker killed (SIGKILL) mid-clip: clips finished, outputs identical to the clean run;
* the driver interrupted (SIGINT) halfway, then ``--resume``: clips solved twice, clips lost;
* the 3 corrupt files: each reported with its error, the rest finished.

Prints the figures and writes ``fit_corpus.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ik_engine.benchmarks.fit_joints import scaled_bones, tracked_clips
from ik_engine.joint_sets import SMPL22

CORRUPT = {"corrupt_garbage.npy": b"\x93NUMPY garbage", "corrupt_truncated.npz": b"PK\x03\x04 truncated",
           "corrupt_header.bvh": b"HIERARCHY\nROOT Hips\n{\n OFFSET 0 0\n"}


def make_corpus(folder: Path, clips: int, frames: int, seed: int) -> None:
    import ik_engine as ik

    rng = np.random.default_rng(seed)
    tracked = list(tracked_clips().values())
    default = ik.load_skeleton("smplx")
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(clips):
        motion = tracked[i % len(tracked)]
        start = int(rng.integers(0, len(motion) - frames))
        body = scaled_bones(default, rng)
        P = motion[start:start + frames].world_positions(body)[:, body.indices(SMPL22)]
        if i % 3 == 2:
            P = P + rng.normal(0.0, 0.01, P.shape)
        np.save(folder / f"clip{i:04d}.npy", P)
    for name, data in CORRUPT.items():
        (folder / name).write_bytes(data)


def fit(corpus: Path, out: Path, *extra) -> list[str]:
    return [sys.executable, "-m", "ik_engine.cli", "fit", str(corpus), "--out", str(out), "--fps", "120", *map(str, extra)]


def reports(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}


def fit_workers() -> list[int]:
    lines = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout.splitlines()
    return [int(line.split()[0]) for line in lines if "ray::fit_clip" in line and "IDLE" not in line]


def timed_run(corpus: Path, out: Path, workers: int) -> dict:
    started = time.perf_counter()
    done = subprocess.run(fit(corpus, out, "--workers", workers), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    finished = [r for r in reports(out).values() if r["status"] == "done"]
    frames = sum(r["frames"] for r in finished)
    return dict(workers=workers, seconds=seconds, frames=frames, fps=frames / seconds, finished=len(finished),
                exit_code=done.returncode, summary=done.stdout.strip().splitlines()[-1] if done.stdout else done.stderr[-500:])


def identical(out: Path, reference: Path, names) -> int:
    """How many of ``names`` have outputs equal, array for array, to the reference run's."""
    same = 0
    for name in names:
        try:
            with np.load(out / f"{name}.npz") as a, np.load(reference / f"{name}.npz") as b:
                same += sorted(a.files) == sorted(b.files) and all(np.array_equal(a[k], b[k]) for k in b.files)
        except OSError:
            pass
    return same


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=500)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="./fit_corpus-benchmark-results")
    parser.add_argument("--work", default=None, help="scratch folder (default: inside --out, removed at the end)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.work) if args.work else out / "scratch"
    corpus = work / "corpus"
    make_corpus(corpus, args.clips, args.frames, args.seed)
    names = [f"clip{i:04d}" for i in range(args.clips)]
    results = dict(clips=args.clips, frames_per_clip=args.frames, corrupt=len(CORRUPT))

    results["one_worker"] = timed_run(corpus, work / "one", 1)
    results["two_workers"] = timed_run(corpus, work / "two", 2)
    for key in ("one_worker", "two_workers"):
        r = results[key]
        print(f"{r['workers']} worker(s): {r['finished']}/{args.clips} clips, {r['frames']} frames in {r['seconds']:.1f} s "
              f"= {r['fps']:.0f} frames/s (Ray start included)")
    failed = {e["clip"]: e["error"] for e in map(json.loads, (work / "two" / "manifest.jsonl").read_text().splitlines())
              if e["status"] != "done"}
    results["corrupt_reported"] = failed
    print(f"corrupt files: {len(failed)} reported: " + "; ".join(f"{k}: {v[:90]}" for k, v in sorted(failed.items())))

    # A worker killed mid-clip.
    kill_out = work / "kill"
    driver = subprocess.Popen(fit(corpus, kill_out, "--workers", 2), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    while driver.poll() is None and killed is None:
        if len(list(kill_out.glob("*.json"))) >= args.clips // 4 and fit_workers():
            killed = fit_workers()[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    driver.communicate()
    finished = [n for n, r in reports(kill_out).items() if r["status"] == "done"]
    results["worker_killed"] = dict(killed_pid=killed, finished=len(finished),
                                    identical_to_clean=identical(kill_out, work / "two", names))
    k = results["worker_killed"]
    print(f"worker killed mid-run (pid {killed}): {k['finished']}/{args.clips} finished, "
          f"{k['identical_to_clean']}/{args.clips} outputs identical to the clean run")

    # The driver interrupted halfway, then resumed.
    resume_out = work / "resume"
    driver = subprocess.Popen(fit(corpus, resume_out, "--workers", 2), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while driver.poll() is None and len(list(resume_out.glob("*.json"))) < args.clips // 2:
        time.sleep(0.05)
    driver.send_signal(signal.SIGINT)
    driver.communicate()
    time.sleep(2.0)
    before = {n: r["run"] for n, r in reports(resume_out).items()}
    resumed = subprocess.run(fit(corpus, resume_out, "--workers", 2, "--resume"), capture_output=True, text=True)
    after = reports(resume_out)
    logged = [json.loads(line) for line in (resume_out / "manifest.jsonl").read_text().splitlines()]
    solved_twice = sum(after[n]["run"] != run for n, run in before.items() if n in after)
    solved_twice += sum(sum(e["clip"] == n and e["status"] == "done" for e in logged) > 1 for n in names)
    results["driver_interrupted"] = dict(
        finished_before=len(before), finished_after=sum(r["status"] == "done" for r in after.values()),
        solved_twice=solved_twice, lost=len([n for n in names if n not in after]),
        identical_to_clean=identical(resume_out, work / "two", names), resume_summary=resumed.stdout.strip().splitlines()[-1])
    d = results["driver_interrupted"]
    print(f"driver interrupted at {d['finished_before']} finished, resumed: {d['finished_after']}/{args.clips} finished, "
          f"{d['solved_twice']} solved twice, {d['lost']} lost, {d['identical_to_clean']} identical to the clean run")
    (out / "fit_corpus.json").write_text(json.dumps(results, indent=2))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {out / 'fit_corpus.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
