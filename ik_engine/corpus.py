"""Fitting a corpus of joint-position clips: one task per clip, in-process or on a Ray cluster.

Inputs (``find_inputs``): ``.npy`` (T, K, 3) arrays, ``.npz`` files with ``positions`` (or
``joints``) and optionally ``fps`` / ``mocap_framerate`` and ``joint_names``, BVH files (their
joints' world positions, CMU names mapped onto SMPL-X by ``CMU_TO_SMPLX``), folders (searched
recursively) and glob patterns.

Outputs, per clip, in ``out``: ``<clip>.npz`` (AMASS-style SMPL-X parameters) and
``<clip>.json`` (its report), each written to a temporary file and renamed into place, the
report last: a clip is finished exactly when its report exists. ``manifest.jsonl`` logs every
finished and failed clip (with the error); ``--resume`` skips clips whose report exists, so
an interrupted run loses nothing it finished and solves nothing twice. A broken input file
is recorded as failed with its error and the corpus goes on.

On Ray (``workers`` or ``address``): one task per clip; a worker that dies mid-clip is
retried by Ray (``max_retries``); a clip's own error is returned, not retried.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import socket
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ik_engine.errors import IKError
from ik_engine.fitting import fit_joints
from ik_engine.joint_sets import CMU_TO_SMPLX
from ik_engine.skeletons.bvh import CMU_UNIT

SUFFIXES = (".npy", ".npz", ".bvh")
MANIFEST = "manifest.jsonl"
RETRIES = 3  # Ray reruns a clip whose worker died this many times


@dataclass
class FitOptions:
    """How every clip is read and fitted (see ``ik.fit_joints``)."""

    joint_names: Any = "smpl22"
    fps: float = 30.0
    up: str = "y"
    unit: Any = "m"
    model_path: str | None = None
    gender: str = "neutral"
    smooth: float | None = None
    bvh_scale: float = CMU_UNIT


def find_inputs(specs) -> list[Path]:
    """Files named by ``specs`` (files, folders searched recursively, glob patterns), sorted,
    each once; a spec that matches nothing raises FileNotFoundError naming it."""
    found: dict[str, Path] = {}
    for spec in specs:
        spec = os.fspath(spec)
        path = Path(spec)
        if path.is_dir():
            matches = [p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file()]
        elif path.is_file():
            matches = [path]
        else:
            matches = [Path(p) for p in glob.glob(spec, recursive=True) if Path(p).suffix.lower() in SUFFIXES]
        if not matches:
            raise FileNotFoundError(f"no .npy, .npz or .bvh input at {spec!r}")
        for p in matches:
            found.setdefault(str(p.resolve()), p.resolve())
    return sorted(found.values())


def clip_names(paths: list[Path]) -> dict[Path, str]:
    """A unique output name per input: its path below the inputs' common folder, '/' -> '__'."""
    if not paths:
        return {}
    root = Path(os.path.commonpath([str(p.parent) for p in paths]))
    names = {p: str(p.relative_to(root).with_suffix("")).replace(os.sep, "__") for p in paths}
    seen: dict[str, Path] = {}
    for p, name in names.items():
        if name in seen:  # e.g. a.npy and a.bvh in one folder: their outputs would overwrite each other
            raise IKError(f"{seen[name]} and {p} would both be written as {name}.npz: rename one of them")
        seen[name] = p
    return names


def read_positions(path: Path, options: FitOptions) -> tuple[np.ndarray, Any, float, list[str] | None]:
    """(positions (T, K, 3), joint_names, fps, column names or None) of one input file."""
    suffix = path.suffix.lower()
    if suffix == ".bvh":
        from ik_engine.skeletons.bvh import load_bvh

        skeleton, motion = load_bvh(path, scale=options.bvh_scale)
        columns = [n for n in skeleton.joint_names if n in CMU_TO_SMPLX]
        if not columns:
            raise IKError(f"{path.name}: no joint with a CMU name ({', '.join(list(CMU_TO_SMPLX)[:4])}, ...)")
        positions = motion.world_positions(skeleton)[:, skeleton.indices(columns)]
        return positions, CMU_TO_SMPLX, motion.fps, columns
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise IKError(f"{path.name} is not a readable {suffix} array file: {exc}") from None
    if isinstance(data, np.ndarray):
        return data, options.joint_names, options.fps, None
    with data:
        key = next((k for k in ("positions", "joints") if k in data.files), None)
        if key is None:
            raise IKError(f"{path.name} has no 'positions' (or 'joints') array; it has {data.files}")
        fps = next((float(data[k]) for k in ("fps", "mocap_framerate") if k in data.files), options.fps)
        names = [str(n) for n in data["joint_names"]] if "joint_names" in data.files else options.joint_names
        return data[key], names, fps, None


def _write_atomically(target: Path, write: Callable[[Any], None], suffix: str) -> None:
    """``write(file)`` into a temporary file beside ``target``, then rename it into place."""
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fp:
            write(fp)
            fp.flush()
            os.fsync(fp.fileno())
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def fit_clip(path: str | os.PathLike, name: str, out: str | os.PathLike, options: FitOptions) -> dict:
    """Fit one input file and write ``<name>.npz`` and ``<name>.json`` into ``out``.

    Returns its report: ``status`` "done" (frames, MPJPE mean and per joint, worst frame,
    seconds) or "failed" (``error``: what was wrong with the input).
    """
    path, out = Path(path), Path(out)
    started = time.perf_counter()
    base = dict(clip=name, input=str(path), run=uuid.uuid4().hex, host=socket.gethostname(), pid=os.getpid())
    try:
        positions, joint_names, fps, columns = read_positions(path, options)
        # Compiled, always: the first clip of a process compiles the chunk program (about 2.4 s
        # from an empty cache; a persistent-cache hit on a node where another worker compiled
        # it), every later clip, whatever its body, solves with it (``IKSolver.with_body``). The
        # same program for every clip makes the outputs independent of which worker fits it.
        result = fit_joints(positions, joint_names, fps=fps, up=options.up, unit=options.unit,
                            model_path=options.model_path, gender=options.gender, smooth=options.smooth,
                            columns=columns, compilation="blocking")
    except Exception as exc:  # noqa: BLE001 - whatever is wrong with this clip is its report, not the corpus's end
        return dict(base, status="failed", error=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - started)
    arrays = result.amass_arrays()
    _write_atomically(out / f"{name}.npz", lambda fp: np.savez(fp, **arrays), ".npz")
    report = dict(base, status="done", frames=len(result.motion), fps=result.motion.fps,
                  mpjpe_mm=result.mpjpe * 1e3,
                  per_joint_mpjpe_mm={k: v * 1e3 for k, v in result.per_joint_mpjpe.items()},
                  worst_frame=result.worst_frame, worst_frame_mpjpe_mm=float(result.errors[result.worst_frame].mean() * 1e3),
                  solve_seconds=result.solve_seconds, seconds=time.perf_counter() - started)
    _write_atomically(out / f"{name}.json", lambda fp: fp.write(json.dumps(report, indent=1).encode()), ".json")
    return report


@dataclass
class CorpusRun:
    """What a corpus run did: the reports of the clips it fitted or failed, and the skipped."""

    reports: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    mode: str = "in-process"

    @property
    def done(self) -> list[dict]:
        return [r for r in self.reports if r["status"] == "done"]

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.reports if r["status"] != "done"]

    @property
    def frames(self) -> int:
        return sum(r["frames"] for r in self.done)


def finished_clips(out: Path) -> set[str]:
    """Clips whose report exists in ``out`` (written last, atomically: the clip is finished)."""
    finished = set()
    for report in out.glob("*.json"):
        if report.name.startswith("."):
            continue
        try:
            if json.loads(report.read_text()).get("status") == "done":
                finished.add(report.stem)
        except (OSError, ValueError):
            continue
    return finished


def _log(out: Path, report: dict) -> None:
    with open(out / MANIFEST, "a") as fp:
        fp.write(json.dumps({k: report.get(k) for k in ("clip", "input", "status", "error", "frames", "mpjpe_mm",
                                                        "seconds", "run", "host", "pid")}) + "\n")
        fp.flush()
        os.fsync(fp.fileno())


def run_corpus(inputs, out, options: FitOptions | None = None, workers: int | None = None, address: str | None = None,
               resume: bool = False, on_report: Callable[[dict], None] | None = None,
               say: Callable[[str], None] = lambda text: None,
               on_start: Callable[[int], None] | None = None) -> CorpusRun:
    """Fit every input clip; see the module docstring.

    Args:
        inputs: files, folders, globs.
        out: the output folder (created).
        workers: run on a local Ray instance with this many workers.
        address: ``HOST:PORT`` of a running Ray cluster (its workers do the fitting).
        resume: skip clips whose report exists in ``out``.
        on_report: called with each clip's report as it arrives (progress).
        on_start: called with the number of clips to fit, once they are found (a progress
            bar's total).
    Without ``workers`` and ``address``, or without Ray installed, clips run in this process.
    """
    options = options or FitOptions()
    names = clip_names(find_inputs(inputs))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    run = CorpusRun()
    done_before = finished_clips(out) if resume else set()
    todo = [(p, n) for p, n in names.items() if n not in done_before]
    run.skipped = sorted(n for n in names.values() if n in done_before)
    if on_start:
        on_start(len(todo))

    def record(report: dict) -> None:
        _log(out, report)
        run.reports.append(report)
        if on_report:
            on_report(report)

    started = time.perf_counter()
    ray = None
    if workers or address:
        if address and "RAY_AUTH_MODE" not in os.environ and ray_token_available():
            # Before Ray is imported: it reads the mode once. A head started on a machine that
            # holds a token requires it; a driver whose mode is unset sends none. A cluster
            # without authentication ignores the token.
            os.environ["RAY_AUTH_MODE"] = "token"
        try:
            import ray
        except ImportError:
            say('Ray is not installed (pip install "ray[default]>=2.40", ik-engine\'s extra \'cluster\'): fitting in this process')
    if ray is None:
        for path, name in todo:
            record(fit_clip(path, name, out, options))
    else:
        run.mode = f"ray ({address})" if address else f"ray (local, {workers} workers)"
        _run_on_ray(ray, todo, out, options, workers, address, record)
    run.seconds = time.perf_counter() - started
    return run


def ray_token_available() -> bool:
    """Whether this machine holds a Ray authentication token: ``RAY_AUTH_TOKEN``, the file
    ``RAY_AUTH_TOKEN_PATH`` names, or ``~/.ray/auth_token`` (which Ray 2.5x+ writes when it
    starts a local cluster, and which ``ray start --head`` then uses to require tokens)."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return True
    path = os.environ.get("RAY_AUTH_TOKEN_PATH") or os.path.join(os.path.expanduser("~"), ".ray", "auth_token")
    return os.path.isfile(path)


# Seconds to wait for a TCP answer at ``--address`` before giving up. Ray's own connection
# attempt retries for minutes (3 min 24 s measured here on an address where nothing listens).
PROBE_SECONDS = 5.0


def probe_address(address: str, timeout: float = PROBE_SECONDS) -> None:
    """IKError at once when nothing answers at ``address`` (``HOST:PORT``; Ray's other forms,
    ``auto`` and ``ray://...``, are left to Ray)."""
    host, sep, port = address.rpartition(":")
    if not sep or "://" in address or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout).close()
    except OSError as exc:
        raise IKError(f"cannot join the Ray cluster at {address}: nothing answers on that port ({exc}); "
                      "start it with `ray start --head --port PORT` on that machine, or check the address") from None


def _connect(ray, address: str) -> None:
    """Join the cluster at ``address``, or say clearly why not."""
    probe_address(address)
    try:
        ray.init(address=address, log_to_driver=False)
    except ConnectionError as exc:
        raise IKError(
            f"cannot join the Ray cluster at {address}: {str(exc).splitlines()[-1]} (is `ray start --head` running there, "
            "and does this machine have the cluster's token if it requires one: RAY_AUTH_TOKEN or ~/.ray/auth_token?)"
        ) from None


def _run_on_ray(ray, todo, out: Path, options: FitOptions, workers, address, record: Callable[[dict], None]) -> None:
    started_here = not ray.is_initialized()
    if started_here:
        if address:
            _connect(ray, address)
        else:
            ray.init(num_cpus=int(workers), include_dashboard=False, log_to_driver=False)
    task = ray.remote(num_cpus=1, max_retries=RETRIES, retry_exceptions=False)(fit_clip)
    pending: dict = {}
    # A Ctrl-C only sets a flag, read between waits: a KeyboardInterrupt raised inside Ray's
    # calls was seen to crash the driver (Ray's core worker aborting with a C++ backtrace),
    # leaving the job's clips running to the end; from here the run stops cleanly.
    interrupted = threading.Event()
    handled = threading.current_thread() is threading.main_thread()
    if handled:
        previous = signal.getsignal(signal.SIGINT)  # None: set outside Python; restored as the default
        signal.signal(signal.SIGINT, lambda number, frame: interrupted.set())
    try:
        pending = {task.remote(str(path), name, str(out), options): (path, name) for path, name in todo}
        while pending:
            if interrupted.is_set():
                raise KeyboardInterrupt
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
            for ref in ready:
                path, name = pending.pop(ref)
                try:
                    report = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - the worker died more often than retried, or Ray failed
                    report = dict(clip=name, input=str(path), status="failed",
                                  error=f"{type(exc).__name__}: {exc}".splitlines()[0], trace=traceback.format_exc(limit=1))
                record(report)
    except KeyboardInterrupt:
        # Clips not started are dropped and running ones interrupted (``ray.cancel``); files
        # are written atomically, the report last, so a rerun with --resume skips a clip
        # that finished and fits a cancelled one whole.
        for ref in pending:
            ray.cancel(ref)
        raise
    finally:
        try:
            if started_here:
                ray.shutdown()
        finally:
            if handled:  # after the shutdown: a second Ctrl-C must not land inside Ray's call
                signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)


def summary_table(run: CorpusRun) -> str:
    """The run's clips as a text table, then the totals."""
    lines = [f"{'clip':40s} {'status':7s} {'frames':>7s} {'MPJPE mm':>9s} {'worst':>6s} {'seconds':>8s}"]
    for r in sorted(run.reports, key=lambda r: r["clip"]):
        if r["status"] == "done":
            lines.append(f"{r['clip'][:40]:40s} {'done':7s} {r['frames']:7d} {r['mpjpe_mm']:9.3f} {r['worst_frame']:6d} {r['seconds']:8.2f}")
        else:
            lines.append(f"{r['clip'][:40]:40s} {'FAILED':7s} {r.get('error', '')}")
    frames = run.frames
    lines.append(f"{len(run.done)} clips fitted, {len(run.failed)} failed, {len(run.skipped)} skipped (finished before); "
                 f"{frames} frames in {run.seconds:.1f} s ({frames / max(run.seconds, 1e-9):.0f} frames/s, {run.mode})")
    return "\n".join(lines)
