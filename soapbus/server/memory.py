"""Handing the heap a large request used back to the system once it is freed.

glibc keeps freed memory in its arenas (one per thread of the pool) and returns only the top
of each to the system, so the tree of one large message can keep a worker's RSS up for good
although nothing holds it. `malloc_trim` releases every free page of every arena. It costs a
walk of the heap, so it runs only after a request large enough to have grown it.
"""
from __future__ import annotations

import ctypes
import ctypes.util

LARGE_REQUEST_BYTES = 512 * 1024  # a body this large may have built a tree of tens of megabytes


def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to hand back this way
        return None


_TRIM = _malloc_trim()


def give_back_after(body_bytes: int) -> None:
    """Return freed heap pages to the system if a request of `body_bytes` may have grown the heap."""
    if _TRIM is not None and body_bytes >= LARGE_REQUEST_BYTES:
        _TRIM(0)
