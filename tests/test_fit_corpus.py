"""ik-engine fit over a corpus: in-process, and on a real local Ray cluster.

The Ray tests start a head node on 127.0.0.1 (``ray start --head --block`` in a subprocess,
its own temporary folder, 2 CPUs, no dashboard) and reach it with ``--address``, as a user
with a cluster does; the head is stopped at the end (its process group, started here).
One test kills a worker mid-clip, one interrupts the driver and resumes, one feeds corrupt
files.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

import ik_engine as ik
from ik_engine.benchmarks.fit_joints import scaled_bones
from ik_engine.corpus import FitOptions, run_corpus
from ik_engine.joint_sets import SMPL22
from ik_engine.tracking import effector_tracks, track

DATA = Path(__file__).parent / "data" / "cmu"
CLIPS, FRAMES = 8, 200


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """8 clips of 200 frames (.npy, smpl22, 120 fps): CMU 131_02 tracked onto SMPL-X, each on
    a body with its own random bone lengths, every other one with 1 cm noise."""
    skeleton = ik.load_skeleton("smplx")
    source, motion = ik.load_bvh(DATA / "131_02.bvh", scale=ik.CMU_UNIT)
    motion = motion[:FRAMES]
    truth = track(skeleton, effector_tracks(source, motion, skeleton), motion.fps).motion
    folder = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    for i in range(CLIPS):
        body = scaled_bones(skeleton, rng)
        P = truth.world_positions(body)[:, body.indices(SMPL22)]
        if i % 2:
            P = P + rng.normal(0.0, 0.01, P.shape)
        np.save(folder / f"clip{i}.npy", P)
    return folder


@pytest.fixture(scope="module")
def clean_run(corpus, tmp_path_factory) -> Path:
    """The corpus fitted in this process: the reference outputs."""
    out = tmp_path_factory.mktemp("clean")
    run = run_corpus([corpus], out, FitOptions(fps=120.0))
    assert len(run.done) == CLIPS and not run.failed
    return out


def fit_command(*args) -> list[str]:
    return [sys.executable, "-m", "ik_engine.cli", "fit", *map(str, args), "--fps", "120"]


def reports(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}


def assert_identical_outputs(out: Path, clean: Path, copies: int = 1) -> None:
    """Every clip's arrays in ``out`` equal the clean run's (``copies``: the corpus was copied
    that many times as clip{i}_{k}, see ``copied_corpus``)."""
    for i in range(CLIPS):
        for name in [f"clip{i}"] if copies == 1 else [f"clip{i}_{k}" for k in range(copies)]:
            with np.load(out / f"{name}.npz") as got, np.load(clean / f"clip{i}.npz") as want:
                assert sorted(got.files) == sorted(want.files)
                for key in want.files:
                    assert np.array_equal(got[key], want[key]), (name, key)


def copied_corpus(corpus: Path, folder: Path, copies: int) -> Path:
    """The corpus' clips ``copies`` times each (clip{i}_{k}.npy): a corpus long enough that an
    interruption after the first clips leaves many unfinished, however fast the machine."""
    folder.mkdir()
    for i in range(CLIPS):
        for k in range(copies):
            shutil.copy(corpus / f"clip{i}.npy", folder / f"clip{i}_{k}.npy")
    return folder


def test_in_process_fit_writes_amass_parameters_reports_and_resumes(corpus, clean_run, tmp_path):
    """Without --workers/--address: in-process; BVH input through the CMU names too."""
    source, motion = ik.load_bvh(DATA / "131_03.bvh")
    ik.save_bvh(tmp_path / "in" / "walk.bvh" if (tmp_path / "in").mkdir() is None else None, source, motion[:150])
    shutil.copy(corpus / "clip0.npy", tmp_path / "in" / "clip0.npy")
    out = tmp_path / "out"
    done = subprocess.run(fit_command(tmp_path / "in", "--out", out), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "2 clips fitted, 0 failed" in done.stdout and (out / "summary.txt").read_text() == done.stdout
    with np.load(out / "walk.npz") as walk, np.load(clean_run / "clip0.npz") as clean, np.load(out / "clip0.npz") as again:
        assert walk["poses"].shape == (150, 165) and walk["trans"].shape == (150, 3) and walk["betas"].shape == (10,)
        assert str(walk["gender"]) == "neutral" and float(walk["mocap_framerate"]) == pytest.approx(120.0, rel=1e-3)
        assert np.array_equal(again["poses"], clean["poses"])
    report = reports(out)["walk"]
    assert report["status"] == "done" and report["frames"] == 150 and set(report["per_joint_mpjpe_mm"]) >= {"pelvis", "left_wrist"}
    # CMU's joints are not at SMPL-X's places: the pelvis-hips-spine and the chest-shoulders
    # triangles have other shapes, which bone lengths alone cannot match (centimetres there);
    # the limbs' ends land within a centimetre.
    assert report["mpjpe_mm"] < 40.0
    assert max(report["per_joint_mpjpe_mm"][n] for n in ("left_foot", "right_foot", "left_wrist", "right_wrist")) < 10.0
    # --resume: both finished, nothing solved again.
    again = subprocess.run(fit_command(tmp_path / "in", "--out", out, "--resume"), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "0 clips fitted, 0 failed, 2 skipped" in again.stdout
    assert reports(out)["walk"]["run"] == report["run"]


# ------------------------------------------------------------------ a real Ray cluster
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_address():
    pytest.importorskip("ray")
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must be
    port = free_port()
    log = open(os.path.join(temp, "head.log"), "w")
    head = subprocess.Popen(
        [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block", "--node-ip-address", "127.0.0.1",
         "--port", str(port), "--num-cpus", "2", "--include-dashboard=false", "--disable-usage-stats",
         "--temp-dir", temp, "--ray-client-server-port", str(free_port()), "--node-manager-port", str(free_port()),
         "--object-manager-port", str(free_port())],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 120
        while "Ray runtime started" not in Path(log.name).read_text():
            assert head.poll() is None and time.time() < deadline, Path(log.name).read_text()[-2000:]
            time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(head.pid, signal.SIGTERM)  # the head and the processes it started (its group)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


def running_fit_workers() -> list[int]:
    """Pids of Ray workers running a fit_clip task now (Ray names them ray::fit_clip)."""
    found = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout.splitlines()
    return [int(line.split()[0]) for line in found if "ray::fit_clip" in line and "IDLE" not in line]


def test_a_worker_killed_mid_clip_is_retried_and_every_clip_finishes(ray_address, corpus, clean_run, tmp_path):
    out = tmp_path / "out"
    driver = subprocess.Popen(fit_command(corpus, "--out", out, "--address", ray_address),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline, killed = time.time() + 120, None
    while killed is None and driver.poll() is None and time.time() < deadline:
        workers = running_fit_workers()
        if workers:
            killed = workers[0]
            os.kill(killed, signal.SIGKILL)  # a worker of our own cluster, mid-clip
        time.sleep(0.05)
    stdout, stderr = driver.communicate(timeout=300)
    assert killed is not None, "no worker was seen running a clip"
    assert driver.returncode == 0, stdout + stderr
    assert f"{CLIPS} clips fitted, 0 failed" in stdout
    assert all(r["status"] == "done" for r in reports(out).values())
    assert sorted(reports(out)) == [f"clip{i}" for i in range(CLIPS)]
    assert_identical_outputs(out, clean_run)


def test_an_interrupted_driver_resumes_without_solving_a_finished_clip_again(ray_address, corpus, clean_run, tmp_path):
    copies = 20  # 160 clips: many left when the interrupt lands, however fast the workers are
    corpus = copied_corpus(corpus, tmp_path / "in", copies)
    out = tmp_path / "out"
    driver = subprocess.Popen(fit_command(corpus, "--out", out, "--address", ray_address),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while len(list(out.glob("*.json"))) < 2 and time.time() < deadline:
        assert driver.poll() is None, driver.communicate()
        time.sleep(0.05)
    driver.send_signal(signal.SIGINT)  # Ctrl-C halfway
    driver.communicate(timeout=120)
    time.sleep(2.0)  # a task of the stopped job may still be finishing its write
    before = {name: r["run"] for name, r in reports(out).items()}
    assert 2 <= len(before) < CLIPS * copies
    resumed = subprocess.run(fit_command(corpus, "--out", out, "--address", ray_address, "--resume"),
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"{CLIPS * copies - len(before)} clips fitted, 0 failed, {len(before)} skipped" in resumed.stdout
    after = reports(out)
    assert sorted(after) == sorted(f"clip{i}_{k}" for i in range(CLIPS) for k in range(copies))  # nothing lost
    assert all(after[name]["run"] == run for name, run in before.items())  # nothing solved twice
    logged = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert all(sum(e["clip"] == name and e["status"] == "done" for e in logged) <= 1 for name in after)
    assert_identical_outputs(out, clean_run, copies)


def test_corrupt_files_are_reported_and_the_rest_finish(ray_address, corpus, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in (0, 1):
        shutil.copy(corpus / f"clip{i}.npy", folder / f"clip{i}.npy")
    (folder / "garbage.npy").write_bytes(b"\x93NUMPY not really")
    np.save(folder / "flat.npy", np.zeros((10, 22)))  # not (T, K, 3)
    (folder / "broken.bvh").write_text("HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0\n")
    out = tmp_path / "out"
    done = subprocess.run(fit_command(folder, "--out", out, "--address", ray_address), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 1  # some clips failed
    assert "2 clips fitted, 3 failed" in done.stdout
    logged = {e["clip"]: e for e in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())}
    assert logged["clip0"]["status"] == logged["clip1"]["status"] == "done"
    assert "garbage.npy is not a readable .npy" in logged["garbage"]["error"]
    assert "shape (T, K, 3)" in logged["flat"]["error"]
    assert "broken.bvh" in logged["broken"]["error"]
    assert not (out / "garbage.npz").exists() and (out / "clip0.npz").exists()


def test_an_address_where_nothing_listens_fails_at_once_with_a_clear_error(corpus, tmp_path):
    pytest.importorskip("ray")
    port = free_port()  # bound and released: nothing listens there now
    started = time.time()
    done = subprocess.run(fit_command(corpus / "clip0.npy", "--out", tmp_path / "out", "--address", f"127.0.0.1:{port}"),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"cannot join the Ray cluster at 127.0.0.1:{port}: nothing answers on that port" in done.stderr + done.stdout
    assert time.time() - started < 60  # not Ray's minutes of retries


def test_two_inputs_that_would_write_one_output_are_refused(corpus, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(corpus / "clip0.npy", folder / "walk.npy")
    np.savez(folder / "walk.npz", positions=np.load(corpus / "clip1.npy"), fps=120.0)
    done = subprocess.run(fit_command(folder, "--out", tmp_path / "out"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "would both be written as walk.npz: rename one of them" in done.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.npz"))
