"""Handing the heap that large requests used back to the system once they are done.

glibc keeps freed memory in its arenas (one per thread of the pool) and returns only the top
of each to the system, so the tree of one large message can keep a worker's RSS up for good
although nothing holds it. `malloc_trim` releases every free page of every arena. It costs a
walk of the heap, so it runs only after requests large enough to have grown it, and only when
the last of those in flight is done: trimming while another large tree is still alive would
leave that one's pages behind.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import threading

LARGE_REQUEST_BYTES = 256 * 1024  # a body this large may build a tree of tens of megabytes


def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to hand back this way
        return None


class LargeRequests:
    """Counts large requests in flight; the last one out trims the heap."""

    def __init__(self, trim=None):
        self._trim = trim
        self._lock = threading.Lock()
        self._in_flight = 0

    def started(self, body_bytes: int) -> bool:
        """Note a request of `body_bytes`; True when it counts as large (call `done` after it)."""
        if self._trim is None or body_bytes < LARGE_REQUEST_BYTES:
            return False
        with self._lock:
            self._in_flight += 1
        return True

    def done(self) -> None:
        """A large request's trees are gone; hand the free pages back if it was the last in flight."""
        with self._lock:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._trim(0)


large_requests = LargeRequests(_malloc_trim())
