"""ik_engine/programs.py and background_compiler.py: interpreted at once, compiled when it pays."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import ik_engine as ik
from ik_engine import background_compiler

ARM = ["left_collar", "left_shoulder", "left_elbow", "left_wrist"]
DATA = Path(__file__).parent / "data" / "cmu"


def hand_error(skeleton, pose, target) -> float:
    """Float64 reference FK: distance of the left hand (middle1) to its target, metres."""
    return float(np.linalg.norm(skeleton.world_positions(pose)[skeleton.index("left_middle1")] - target))


def reachable_targets(skeleton, n, seed):
    rng = np.random.default_rng(seed)
    hand = skeleton.index("left_middle1")
    return [skeleton.world_positions(skeleton.random_pose(rng, ARM))[hand] for _ in range(n)]


def test_a_new_structure_is_answered_without_compiling_and_met(smplx):
    solver = ik.IKSolver(smplx, joints=ARM)
    for target in reachable_targets(smplx, 3, seed=1):
        orientation = ik.Orientation("left_wrist", np.eye(3), weight=0.0)  # reported, not pulled
        res = solver.solve([ik.Position("left_middle1", target), orientation])
        assert res.converged and hand_error(smplx, res.pose, target) <= 1e-4 + 1e-9
        assert smplx.limit_violation(res.pose) == 0.0
        # A new structure each time: none is solved twice, so none compiles.
        solver = ik.IKSolver(smplx, joints=ARM)
        assert solver.compilations == 0


def test_the_first_answer_needs_no_jax_import():
    """A fresh process answers its first solve without importing JAX (the interpreter)."""
    code = textwrap.dedent("""
        import sys
        import ik_engine as ik
        skeleton = ik.load_skeleton("smplx")
        res = ik.solve(skeleton, [ik.Position("left_middle1", [0.45, 1.35, 0.35])],
                       joints=["left_collar", "left_shoulder", "left_elbow", "left_wrist"])
        print(res.converged, "jax" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "False"  # JAX was never imported


def test_interpreted_and_compiled_programs_reach_the_same_poses(smplx):
    interpreted = ik.IKSolver(smplx, joints=ARM, compilation="never")
    compiled = ik.IKSolver(smplx, joints=ARM, compilation="blocking")
    for target in reachable_targets(smplx, 5, seed=2):
        a = interpreted.solve([ik.Position("left_middle1", target)])
        b = compiled.solve([ik.Position("left_middle1", target)])
        assert a.converged and b.converged
        assert hand_error(smplx, a.pose, target) <= 1e-4 + 1e-9 and hand_error(smplx, b.pose, target) <= 1e-4 + 1e-9
        # The same method from the same start: the same pose up to float32 rounding.
        np.testing.assert_allclose(a.pose.rotations, b.pose.rotations, atol=2e-3)
    assert interpreted.compilations == 0 and compiled.compilations == 1


def test_a_structure_solved_again_compiles_in_the_background_and_switches(smplx):
    solver = ik.IKSolver(smplx, joints=ARM)
    targets = reachable_targets(smplx, 40, seed=3)
    pose = smplx.rest_pose()
    for target in targets:  # a frame loop: the same structure every frame
        res = solver.solve([ik.Position("left_middle1", target)], init=pose)
        assert res.converged and hand_error(smplx, res.pose, target) <= 1e-4 + 1e-9
        pose = res.pose
        if solver.is_compiled([ik.Position("left_middle1", target)]):
            break
    assert background_compiler.wait_idle(timeout=300)
    assert solver.is_compiled([ik.Position("left_middle1", targets[0])])
    assert solver.compilations == 1 and not solver.compile_errors
    for target in targets[:5]:  # now compiled: still met, no new compile
        res = solver.solve([ik.Position("left_middle1", target)], init=pose)
        assert res.converged and hand_error(smplx, res.pose, target) <= 1e-4 + 1e-9
    assert solver.compilations == 1


def test_compile_now_or_in_the_background_on_request(smplx):
    constraints = [ik.Position("left_middle1", [0.45, 1.35, 0.35])]
    solver = ik.IKSolver(smplx, joints=ARM)
    assert not solver.is_compiled(constraints)
    solver.compile(constraints)
    assert solver.is_compiled(constraints) and solver.compilations == 1
    clip = [ik.Position("left_middle1", np.tile([0.45, 1.35, 0.35], (4, 1)))]
    solver.compile(clip, clip=True, wait=False)
    assert background_compiler.wait_idle(timeout=300)
    assert solver.is_compiled(clip, clip=True) and solver.compilations == 2
    with pytest.raises(ik.ConstraintError, match="frame axis"):
        solver.compile(constraints, clip=True)
    with pytest.raises(ik.ConstraintError, match="without a batch axis"):
        solver.compile(clip)


def test_compilation_setting_is_checked(smplx):
    with pytest.raises(ik.SolverError, match="compilation must be one of"):
        ik.IKSolver(smplx, joints=ARM, compilation="sometimes")
    never = ik.IKSolver(smplx, joints=ARM, compilation="never")
    with pytest.raises(ik.SolverError, match='compilation="never"'):
        never.compile([ik.Position("left_middle1", [0.45, 1.35, 0.35])])
    batch = never.solve_batch([ik.Position("left_middle1", np.tile([0.45, 1.35, 0.35], (3, 1)))])
    assert batch.converged.all() and never.compilations == 0  # interpreted problem by problem


def test_a_failed_background_compile_is_kept_and_solves_go_on(smplx, monkeypatch):
    from ik_engine import programs

    def broken(self):
        raise RuntimeError("no compiler today")

    monkeypatch.setattr(programs.StructurePrograms, "_compile", broken)
    solver = ik.IKSolver(smplx, joints=ARM)
    constraints = [ik.Position("left_middle1", [0.45, 1.35, 0.35])]
    solver.compile(constraints, wait=False)
    assert background_compiler.wait_idle(timeout=60)
    assert [str(e) for e in solver.compile_errors] == ["no compiler today"]
    assert str(solver.compile_error(constraints)) == "no compiler today"
    # Another structure's state is its own (tracking waits on its clip's compile only).
    assert solver.compile_error([ik.Position("left_wrist", [0.45, 1.35, 0.35])]) is None
    assert solver.compile_error(constraints, clip=True) is None
    res = solver.solve(constraints)
    assert res.converged and not solver.is_compiled(constraints)


def test_a_process_ending_during_a_background_compile_exits_cleanly():
    """Ending the interpreter under a running XLA compile aborts the process (signal 6, seen
    without the exit hook): the hook waits for it."""
    code = textwrap.dedent("""
        import ik_engine as ik
        skeleton = ik.load_skeleton("smplx")
        solver = ik.IKSolver(skeleton, joints=["left_collar", "left_shoulder", "left_elbow", "left_wrist"])
        solver.compile([ik.Position("left_middle1", [0.45, 1.35, 0.35])], wait=False)
        print("leaving")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "leaving"


def test_clips_are_interpreted_until_their_program_is_ready(smplx):
    targets = np.array(reachable_targets(smplx, 6, seed=4))
    interpreted = ik.IKSolver(smplx, joints=ARM, compilation="never").solve_clip([ik.Position("left_middle1", targets)])
    compiled = ik.IKSolver(smplx, joints=ARM, compilation="blocking").solve_clip([ik.Position("left_middle1", targets)])
    assert interpreted.converged.all() and compiled.converged.all()
    for a, b, target in zip(interpreted, compiled, targets):
        assert hand_error(smplx, a.pose, target) <= 1e-4 + 1e-9 and hand_error(smplx, b.pose, target) <= 1e-4 + 1e-9


def test_a_solver_keeps_a_bounded_number_of_structures(smplx, monkeypatch):
    from ik_engine import solver as solver_module

    monkeypatch.setattr(solver_module, "MAX_STRUCTURES", 3)
    solver = ik.IKSolver(smplx, joints=ARM, compilation="never")
    joints = ["left_wrist", "left_middle1", "left_elbow", "left_index1", "left_thumb1"]
    for joint in joints:  # five structures
        solver.solve([ik.Position(joint, smplx.rest_positions()[smplx.index(joint)])])
    kept = [key[0][0][1] for key in solver._compiled]  # the constrained joint of each kept structure
    assert kept == [tuple(smplx.indices([j])) for j in joints[-3:]]


def test_ik_solve_checks_its_skeleton_and_accepts_a_set_of_joints(smplx):
    with pytest.raises(ik.SolverError, match="needs an ik_engine.Skeleton, got NoneType"):
        ik.solve(None, [ik.Position("left_middle1", [0.45, 1.35, 0.35])])
    target = reachable_targets(smplx, 1, seed=5)[0]
    first = ik.solve(smplx, [ik.Position("left_middle1", target)], joints=set(ARM))
    again = ik.solve(smplx, [ik.Position("left_middle1", target)], joints=set(reversed(ARM)))
    assert first.converged and hand_error(smplx, first.pose, target) <= 1e-4 + 1e-9
    np.testing.assert_array_equal(first.pose.rotations, again.pose.rotations)  # one cached solver, deterministic


def test_a_solver_keeps_a_bounded_number_of_compiled_programs(smplx, monkeypatch):
    from ik_engine import solver as solver_module

    monkeypatch.setattr(solver_module, "MAX_COMPILED", 2)
    solver = ik.IKSolver(smplx, joints=ARM, compilation="blocking")
    joints = ["left_wrist", "left_middle1", "left_elbow", "left_index1"]
    for joint in joints:
        target = smplx.rest_positions()[smplx.index(joint)]
        assert solver.solve([ik.Position(joint, target)]).converged
    compiled = [j for j in joints if solver.is_compiled([ik.Position(j, [0.0, 1.0, 0.0])])]
    # A new structure drops the least recently used compiled programs beyond the bound (the
    # newest is compiled by its own solve, after the check).
    assert compiled == joints[-3:] or compiled == joints[-2:]
    again = solver.solve([ik.Position("left_wrist", smplx.rest_positions()[smplx.index("left_wrist")])])
    assert again.converged and solver.compilations == 5  # compiled again: it was dropped


def test_large_batches_of_nearby_sizes_share_one_program(smplx):
    """Batches of more than 32 problems are padded to the next power of two: B = 33 ... 64
    compile one program (each costs tens of MiB that XLA keeps), 65 a second; every answer is
    checked by float64 FK and the padding never shows in the results."""
    solver = ik.IKSolver(smplx, joints=ARM, compilation="blocking")
    rng = np.random.default_rng(4)
    hand = smplx.index("left_middle1")
    poses = [smplx.random_pose(rng, ARM) for _ in range(65)]
    targets = np.array([smplx.world_positions(p)[hand] for p in poses])
    for B in (33, 47, 64, 65):
        batch = solver.solve_batch([ik.Position("left_middle1", targets[:B])])
        assert len(batch) == B and batch.iterations.shape == (B,)
        reached = np.linalg.norm(np.array([smplx.world_positions(p)[hand] for p in batch.poses]) - targets[:B], axis=1)
        # Converged answers are within the 0.1 mm tolerance (plus 1 um of float32 rounding; measured:
        # 0.092 mm at most); measured: all converged, a margin of 5 %.
        assert np.all(reached[batch.converged] <= solver.position_tolerance + 1e-6) and batch.converged.mean() >= 0.95
    assert solver.compilations == 2  # 64 and 128


def test_an_interpreted_solve_stops_at_its_time_limit_with_an_honest_best_pose(smplx):
    """With ``interpreted_time_limit``, an interpreted solve stops there (after at least two
    iterations) with the best pose so far; converged says whether it meets its targets (float64
    FK). Without it, the whole budget."""
    target = reachable_targets(smplx, 1, seed=9)[0]
    start = smplx.rest_pose()
    limited = ik.IKSolver(smplx, joints=ARM, interpreted_time_limit=1e-9).solve([ik.Position("left_middle1", target)], init=start)
    assert limited.iterations <= 1  # the start, then one step
    assert limited.converged == (hand_error(smplx, limited.pose, target) <= 1e-3)
    assert hand_error(smplx, limited.pose, target) <= hand_error(smplx, start, target)
    unlimited = ik.IKSolver(smplx, joints=ARM, compilation="never").solve([ik.Position("left_middle1", target)], init=start)
    assert unlimited.converged and hand_error(smplx, unlimited.pose, target) <= 1e-3
    assert unlimited.iterations > limited.iterations


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), "0.1", True])
def test_interpreted_time_limit_is_checked(smplx, bad):
    with pytest.raises(ik.SolverError, match="interpreted_time_limit"):
        ik.IKSolver(smplx, joints=ARM, interpreted_time_limit=bad)


def scaled_body(skeleton, seed):
    """``skeleton`` with every bone scaled by its own random factor in 0.85-1.15."""
    from ik_engine.benchmarks.fit_joints import scaled_bones

    return scaled_bones(skeleton, np.random.default_rng(seed), 0.85, 1.15)


def test_a_body_of_other_proportions_solves_with_the_programs_already_compiled(smplx):
    """IKSolver.with_body: the rest offsets are a program input, so a structure compiled on
    one body solves a body with other bone lengths without a compile, and meets its targets on
    that body (float64 FK of the scaled skeleton), not on the first."""
    solver = ik.IKSolver(smplx, joints=ARM, compilation="blocking")
    solver.solve([ik.Position("left_middle1", reachable_targets(smplx, 1, seed=1)[0])])
    assert solver.compilations == 1
    body = scaled_body(smplx, 0)
    other = solver.with_body(body)
    assert other.skeleton is body and other.is_compiled([ik.Position("left_middle1", np.zeros(3))])
    for target in reachable_targets(body, 3, seed=2):
        res = other.solve([ik.Position("left_middle1", target)])
        assert res.converged and hand_error(body, res.pose, target) <= 1e-4 + 1e-6
        assert hand_error(smplx, res.pose, target) > 5e-3  # the body's bones were used, not the first's
        assert body.limit_violation(res.pose) == 0.0
    assert solver.compilations == 1
    # A program compiled through either solver is counted by both: they share one cache.
    floor = [ik.Position("left_middle1", reachable_targets(body, 1, seed=5)[0]), ik.Floor(height=-2.0)]
    other.compile(floor)  # a Floor's program is per body: a compile
    assert other.compilations == solver.compilations == 2


def test_with_body_refuses_another_articulation_and_rest_geometry_stays_per_body(smplx):
    cmu, _ = ik.load_bvh(DATA / "131_01.bvh", scale=ik.CMU_UNIT)
    solver = ik.IKSolver(smplx, joints=ARM, compilation="blocking")
    with pytest.raises(ik.SolverError, match="differs from 'smplx' in more than its rest offsets and radii"):
        solver.with_body(cmu)
    with pytest.raises(ik.SolverError, match="needs an ik_engine.Skeleton"):
        solver.with_body("smplx")
    # A Floor's program holds the body's rest geometry: a body of other proportions gets its own.
    floor = [ik.Position("left_middle1", reachable_targets(smplx, 1, seed=3)[0]), ik.Floor(height=-2.0)]
    solver.solve(floor)
    assert solver.is_compiled(floor) and not solver.with_body(scaled_body(smplx, 1)).is_compiled(floor)


def test_new_options_on_a_body_solver_leave_the_other_solvers_programs(smplx):
    import dataclasses

    solver = ik.IKSolver(smplx, joints=ARM, compilation="blocking")
    constraints = [ik.Position("left_middle1", reachable_targets(smplx, 1, seed=4)[0])]
    solver.solve(constraints)
    other = solver.with_body(scaled_body(smplx, 2))
    other.options = dataclasses.replace(other.options, creep_iterations=12)
    assert solver.is_compiled(constraints) and not other.is_compiled(constraints)
    assert solver.solve(constraints).converged and solver.compilations == 1
