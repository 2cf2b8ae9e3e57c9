"""The command line's progress bar (``ik-engine track``, ``ik-engine fit``)."""

from __future__ import annotations

import sys


class ProgressBar:
    """A progress bar: tqdm when installed, else a plain line that updates in place.

    ``bar(done, total)`` moves it to ``done`` of ``total`` ``unit``s (a progress callback),
    ``status(text)`` says what is being done.
    """

    def __init__(self, total: int, label: str, unit: str) -> None:
        try:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=label, unit=unit)
        except ImportError:
            self._bar = None
        self.total, self.label, self.unit, self.done = total, label, unit, 0

    def __call__(self, done: int, total: int) -> None:
        if self._bar is not None:
            self._bar.update(done - self.done)
        elif done == total or done % max(1, total // 20) == 0:
            print(f"\r{self.label}: {done}/{total} {self.unit}s", end="" if done < total else "\n", file=sys.stderr, flush=True)
        self.done = done

    def status(self, text: str) -> None:
        """Say what is being done (shown beside the bar)."""
        if self._bar is not None:
            self._bar.set_postfix_str(text)
        else:
            print(f"{self.label}: {text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
