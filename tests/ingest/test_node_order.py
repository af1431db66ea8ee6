"""The CCH node order computed in a forked process equals the one computed in place."""

from __future__ import annotations

import os

import numpy as np
import pytest

from geo_service.ingest import node_order
from geo_service.ingest.node_order import PendingOrder, compute_order


def _grid(n: int) -> dict[str, np.ndarray]:
    """An n x n street grid, both directions, as the build's arrays."""
    ids = np.arange(n * n).reshape(n, n)
    pairs = [*zip(ids[:, :-1].ravel(), ids[:, 1:].ravel()), *zip(ids[:-1, :].ravel(), ids[1:, :].ravel())]
    a = np.array(pairs, dtype=np.int64)
    tail, head = np.concatenate([a[:, 0], a[:, 1]]), np.concatenate([a[:, 1], a[:, 0]])
    order = np.lexsort((head, tail))
    lat = 43.2 + (ids // n).ravel() * 1e-3
    lon = 76.9 + (ids % n).ravel() * 1e-3
    return {"tail": tail[order], "head": head[order], "lat": lat.astype(float), "lon": lon.astype(float)}


def test_forked_order_equals_the_order_computed_in_place() -> None:
    g = _grid(30)
    here = PendingOrder(g, fork=False).wait()
    there = PendingOrder(g, fork=True).wait()
    assert there.dtype == np.int32
    assert np.array_equal(here, there)
    assert np.array_equal(np.sort(here), np.arange(900))  # a permutation of the nodes
    assert np.array_equal(here, compute_order(900, g["tail"], g["head"], g["lat"], g["lon"]))


def test_a_dead_order_process_is_an_error_not_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node_order, "_child", lambda send, args: os._exit(9))  # as the OOM killer would
    pending = PendingOrder(_grid(30), fork=True)
    with pytest.raises(RuntimeError, match=r"stopped \(exit code 9\)"):
        pending.wait()


def test_cancel_stops_the_process_and_an_empty_graph_needs_none() -> None:
    pending = PendingOrder(_grid(60), fork=True)
    pending.cancel()
    assert not pending._proc.is_alive()
    empty = {k: np.zeros(0) for k in ("tail", "head", "lat", "lon")}
    assert len(PendingOrder(empty).wait()) == 0
