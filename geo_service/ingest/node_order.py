"""The contraction order of a graph's nodes (RoutingKit's inertial flow), computed beside the build.

RoutingKit holds the GIL while it orders (10 s per graph at 0.9 M edges), so a thread would
not overlap it with the rest of the build. `PendingOrder` forks a process that computes the
order from the graph's arrays (shared copy-on-write, nothing pickled) and sends it back as
raw int32 bytes; the build goes on (the other graph, the precincts) and collects it before it
writes the bundle. Small graphs, and systems without ``fork``, are ordered in place.
"""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
import routingkit_cch as rk

#: Below this many nodes the order takes well under a second: not worth a process.
FORK_MIN_NODES = 50_000


def compute_order(n: int, tail: np.ndarray, head: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """The node order for `rk.CCH` (int32, one entry per node)."""
    if n == 0:
        return np.zeros(0, dtype=np.int32)
    order = rk.compute_order_inertial(n, tail.astype(np.uint32), head.astype(np.uint32),  # type: ignore[arg-type]
                                      lat, lon)  # type: ignore[arg-type]
    return np.asarray(order, dtype=np.int64).astype(np.int32)


def _child(send: Connection, args: tuple[Any, ...]) -> None:
    send.send_bytes(compute_order(*args).tobytes())
    send.close()


class PendingOrder:
    """The order of one graph's nodes, being computed; `wait` returns it.

    Parameters
    ----------
    arrays
        The graph's ``lat, lon, tail, head`` (as `geo_service.ingest.roads.build_graph` returns them).
    fork
        None: fork when the graph is large and the system can; False: compute now.
    """

    def __init__(self, arrays: dict[str, np.ndarray], *, fork: bool | None = None) -> None:
        self._args = (len(arrays["lat"]), arrays["tail"], arrays["head"], arrays["lat"], arrays["lon"])
        self._value: np.ndarray | None = None
        self._proc: Any = None
        if fork is None:
            fork = self._args[0] >= FORK_MIN_NODES and "fork" in multiprocessing.get_all_start_methods() \
                and (os.cpu_count() or 1) > 1
        if not fork:
            self._value = compute_order(*self._args)
            return
        ctx = multiprocessing.get_context("fork")
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_child, args=(send, self._args), daemon=True, name="node-order")
        self._proc.start()
        send.close()

    def wait(self) -> np.ndarray:
        """The order (blocks until the process has sent it)."""
        if self._value is None:
            try:
                data = self._recv.recv_bytes()
            except EOFError:
                self._proc.join()
                msg = f"the process ordering the graph's nodes stopped (exit code {self._proc.exitcode})"
                raise RuntimeError(msg) from None
            finally:
                self._recv.close()
            self._proc.join()
            self._value = np.frombuffer(data, dtype=np.int32).copy()
            if len(self._value) != self._args[0]:
                msg = f"the node order has {len(self._value)} entries for {self._args[0]} nodes"
                raise RuntimeError(msg)
        return self._value

    def cancel(self) -> None:
        """Stop the process (a build that failed does not wait for it)."""
        if self._proc is not None and self._value is None and self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
            self._recv.close()
