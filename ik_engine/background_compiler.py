"""One background thread that compiles solver programs, one at a time, newest request first.

A compile takes seconds of CPU (XLA's code generation); run in the caller's thread it
freezes a frame loop or an editor. ``IKSolver`` answers with the interpreter
(``ik_engine.backends.numpy_backend``) meanwhile and hands the compile to this thread. One thread,
not a pool: on a 2-core machine a second concurrent compile would take the core the caller's
own solves run on. The newest request goes first (a structure the user just moved to is
the likeliest to be solved again); a request already queued is not queued twice.

The thread is a daemon: a process that ends does not wait for a compile nobody will use.
At exit, compiles not yet started are dropped and the one in flight is waited for (at most
its own duration), because ending the interpreter under a running XLA compile can abort.
"""

from __future__ import annotations

import atexit
import threading
from typing import Callable, Hashable

_lock = threading.Condition()
_queue: dict[Hashable, Callable[[], None]] = {}  # insertion order: the newest last
_thread: threading.Thread | None = None
_running: Hashable | None = None
_closing = False
_exit_hook_registered = False


def submit(key: Hashable, job: Callable[[], None]) -> bool:
    """Queue ``job`` (compiles and stores its result itself) under ``key``; False if a job
    with that key is already queued or running, or the process is exiting."""
    global _thread, _exit_hook_registered
    with _lock:
        if _closing or key in _queue or key == _running:
            return False
        if not _exit_hook_registered:  # registered on first use: importing has no side effects
            atexit.register(_close)
            _exit_hook_registered = True
        _queue[key] = job
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_work, name="ik-engine compiler", daemon=True)
            _thread.start()
        _lock.notify()
        return True


def pending() -> int:
    """Jobs queued or running."""
    with _lock:
        return len(_queue) + (_running is not None)


def wait_idle(timeout: float | None = None) -> bool:
    """Block until no job is queued or running; False if ``timeout`` seconds passed first."""
    with _lock:
        return _lock.wait_for(lambda: not _queue and _running is None, timeout)


def _work() -> None:
    global _running
    while True:
        with _lock:
            _lock.wait_for(lambda: _queue or _closing)
            if _closing:
                _queue.clear()
                _lock.notify_all()
                return
            key = next(reversed(_queue))
            job = _queue.pop(key)
            _running = key
        try:
            job()  # a job records its own failure; nothing may kill this thread
        except BaseException:  # pragma: no cover - jobs catch their errors
            pass
        finally:
            with _lock:
                _running = None
                _lock.notify_all()


def _close() -> None:
    global _closing
    with _lock:
        _closing = True
        _queue.clear()
        _lock.notify_all()
        _lock.wait_for(lambda: _running is None, timeout=60)
