"""Giving freed memory back to the system."""

from __future__ import annotations

import ctypes

__all__ = ["release_freed_memory"]


def release_freed_memory() -> None:
    """Give the C heap's freed pages back to the system (glibc's ``malloc_trim``; elsewhere
    nothing): GEOS, numpy and RoutingKit free memory that glibc would keep, so the next step's
    peak (or a server's forked workers) would start from the last one's."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.malloc_trim(0)
