"""How JAX's CPU runtime is started for ik-engine's programs: one intra-op thread, programs
run in the caller's thread (``IK_ENGINE_JAX_CPU``).

ik-engine's compiled programs are small (a solve is a loop of operations on arrays of tens
to a few thousand floats), and they are called once per frame with other work in between.
Two defaults of JAX's CPU runtime cost them time there:

* **Intra-op threads.** XLA runs independent operations of a program concurrently on a pool
  of one thread per core. For operations this small, handing them between cores costs more
  than it saves: the full-body program (5 Positions, 4 Orientations, 69 variables) took
  0.17-0.18 ms a call on one core (the process pinned with ``taskset``) against 0.23-0.40 ms
  on both cores of the 2-core VM, and it slowed further whenever another thread was busy
  (numpy's OpenBLAS threads spin for a while after each matrix product: 0.66-0.70 ms).
* **Asynchronous dispatch.** A call hands the program to a worker thread and waits for it:
  the arm program took 0.087-0.109 ms a call that way, 0.027 ms run in the caller's thread.

JAX offers no setting for the size of its intra-op pool: XLA sizes it, once, by the CPUs
the creating thread may run on. So ``start`` creates JAX's CPU client from a thread allowed
one CPU, then gives every thread the client started its original CPUs back (the threads
run anywhere; the pool keeps one thread), and turns off JAX's asynchronous CPU dispatch
(``jax_cpu_enable_async_dispatch``). Measured (frame loop with 2 ms of numpy matrix products
between solves, medians, processes of the same code alternating with ``IK_ENGINE_JAX_CPU=default``,
three rounds in a busy hour of the shared VM): arm 0.335 / 0.356 / 0.365 ms against 0.432 /
0.399 / 0.491 ms, full body 0.957 / 1.144 / 1.214 ms against 1.156 / 1.057 / 1.335 ms; back to
back arm 0.26-0.29 ms against 0.33-0.38 ms (docs/compilation.md has the program-call figures).

Both are process-wide: they apply to the user's own JAX CPU work too (in which a large
operation then runs on one core). Hence only when ik-engine is the first to start JAX's CPU
runtime (a runtime already started is left as it is), only on Linux (where thread
affinities can be set), and ``IK_ENGINE_JAX_CPU=default`` keeps JAX's defaults.
"""

from __future__ import annotations

import os
import threading

JAX_CPU_VARIABLE = "IK_ENGINE_JAX_CPU"
_started = False
_lock = threading.Lock()


def wanted() -> bool:
    """Whether ik-engine should start JAX's CPU runtime its way: ``IK_ENGINE_JAX_CPU`` unset
    or ``small-programs``; ``default`` keeps JAX's defaults; anything else is an error."""
    value = os.environ.get(JAX_CPU_VARIABLE, "small-programs").strip().lower()
    if value not in ("small-programs", "default"):
        from ..errors import SolverError

        raise SolverError(f"{JAX_CPU_VARIABLE}={value!r} is not understood: use 'small-programs' (the default) or 'default'")
    return value == "small-programs"


def _thread_ids() -> set[int]:
    try:
        return {int(t) for t in os.listdir("/proc/self/task")}
    except OSError:
        return set()


def start() -> None:
    """Start JAX's CPU runtime for small programs, once per process (see the module docstring).

    Called before ik-engine's first compile, never at import. Does nothing where the runtime
    has already started (the threads it would create exist already), off Linux, or with
    ``IK_ENGINE_JAX_CPU=default``.
    """
    global _started
    with _lock:
        if _started:
            return
        _started = True
        if not wanted() or not hasattr(os, "sched_setaffinity"):
            return
        import jax

        if "JAX_CPU_ENABLE_ASYNC_DISPATCH" not in os.environ:  # the user's own setting wins
            jax.config.update("jax_cpu_enable_async_dispatch", False)
        cpus = os.sched_getaffinity(0)
        before = _thread_ids()
        try:
            os.sched_setaffinity(0, {min(cpus)})
        except OSError:
            return
        try:
            jax.devices("cpu")  # creates the CPU client (and its thread pools) unless it exists
        except RuntimeError:  # no CPU backend (``JAX_PLATFORMS`` without cpu): nothing to start
            pass
        finally:
            os.sched_setaffinity(0, cpus)
            for thread in _thread_ids() - before:
                try:
                    os.sched_setaffinity(thread, cpus)
                except OSError:  # a thread that has ended meanwhile
                    pass
