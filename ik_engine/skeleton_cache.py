"""The one cache mechanism for things computed per skeleton (capsules, residual problems, solvers,
IPOPT's NLPs): weakly keyed by the skeleton, so a skeleton's entries go when it does, and
optionally bounded, least recently used first out."""

from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import Any, Callable, Hashable


class SkeletonCache:
    """``get(skeleton, key, compute)``: ``compute()`` remembered per (skeleton, key).

    Args:
        max_per_skeleton: at most this many entries per skeleton (the least recently used goes
            first); None: no bound (for a few small entries per skeleton).
    """

    def __init__(self, max_per_skeleton: int | None = None) -> None:
        self.max_per_skeleton = max_per_skeleton
        self._entries: "weakref.WeakKeyDictionary[Any, OrderedDict]" = weakref.WeakKeyDictionary()

    def get(self, skeleton: Any, key: Hashable, compute: Callable[[], Any]) -> Any:
        per_skeleton = self._entries.setdefault(skeleton, OrderedDict())
        if key in per_skeleton:
            per_skeleton.move_to_end(key)
            return per_skeleton[key]
        value = per_skeleton[key] = compute()
        while self.max_per_skeleton is not None and len(per_skeleton) > self.max_per_skeleton:
            per_skeleton.popitem(last=False)
        return value

    def keys(self, skeleton: Any) -> list:
        """The keys held for ``skeleton``, least recently used first."""
        return list(self._entries.get(skeleton, {}))

    def __len__(self) -> int:
        """Entries over every skeleton."""
        return sum(len(v) for v in self._entries.values())

    def clear(self) -> None:
        self._entries.clear()
