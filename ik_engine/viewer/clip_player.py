"""Playback of a clip in real time: a thread that advances a frame counter at the clip's rate."""

from __future__ import annotations

import threading
import time
from typing import Callable


class ClipPlayer:
    """Calls ``advance(frame)`` every ``1 / fps`` seconds while playing, frames 0..count-1 in a loop.

    The viewer's ``advance`` moves the timeline slider, whose callback draws the frame, so a
    frame drawn while playing is drawn exactly as one picked on the timeline.
    """

    def __init__(self, advance: Callable[[int], None]) -> None:
        self.advance = advance
        self.count = 0
        self.frame = 0
        self.fps = 30.0
        self.playing = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ik-engine-viewer-player", daemon=True)
        self._thread.start()

    def load(self, count: int, fps: float) -> None:
        """A new clip of ``count`` frames at ``fps``; playback pauses at frame 0."""
        self.playing = False
        self.count, self.fps, self.frame = count, fps, 0

    def _run(self) -> None:
        next_time = time.perf_counter()
        while not self._stop.is_set():
            if not self.playing or self.count == 0:
                self._stop.wait(0.02)
                next_time = time.perf_counter()
                continue
            next_time += 1.0 / max(self.fps, 0.1)
            self._stop.wait(max(0.0, next_time - time.perf_counter()))
            if self.playing and self.count:
                self.frame = (self.frame + 1) % self.count
                self.advance(self.frame)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)
