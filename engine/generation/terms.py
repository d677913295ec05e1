"""The key-term spaces of learners' materials, kept between requests (a bounded LRU held by
the runtime: building one embeds a sample of the whole document)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.generation.offline_terms import TermSpace

# (material id, material sha256, embedding model label)
TermKey = tuple[int, str, str]


class TermCache:
    """A thread-safe LRU of `TermSpace`s (the app serves several sessions from threads)."""

    def __init__(self, max_entries: int = 64) -> None:
        self.max_entries = max_entries
        self._spaces: OrderedDict[TermKey, TermSpace] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, key: TermKey, build: Callable[[], TermSpace]) -> TermSpace:
        """The cached space for `key`, or the one `build` makes (built outside the lock)."""
        with self._lock:
            if key in self._spaces:
                self._spaces.move_to_end(key)
                return self._spaces[key]
        space = build()
        with self._lock:
            self._spaces[key] = space
            if len(self._spaces) > self.max_entries:
                self._spaces.popitem(last=False)
        return space

    def __len__(self) -> int:
        return len(self._spaces)

    def clear(self) -> None:
        with self._lock:
            self._spaces.clear()
