"""Contiguity of precincts made of blocks: cut blocks (Hopcroft-Tarjan), the repair that gives
cut-off pieces to a neighbour, and the node-level check."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components


@dataclass
class Cuts:
    """A precinct's depth-first tree: its cut blocks and what hangs off each."""

    order: np.ndarray  # blocks in discovery order
    disc: dict[int, int]
    size: dict[int, int]  # subtree sizes
    hanging: dict[int, list[int]]  # cut block -> children whose subtrees it cuts off

    def branch(self, b: int) -> np.ndarray:
        """The block and every block cut off from the post without it."""
        parts = [np.array([b])]
        for v in self.hanging.get(b, []):
            parts.append(self.order[self.disc[v]:self.disc[v] + self.size[v]])
        return np.concatenate(parts)


def articulation(mask: np.ndarray, root: int, indptr: np.ndarray, indices: np.ndarray) -> Cuts:
    """Cut blocks of the subgraph induced by ``mask`` (the piece holding ``root``):
    iterative Hopcroft-Tarjan low-point search, keeping the subtrees each cut block
    separates from the root."""
    disc: dict[int, int] = {root: 0}
    low: dict[int, int] = {root: 0}
    parent: dict[int, int] = {root: -1}
    size: dict[int, int] = {}
    hanging: dict[int, list[int]] = {}
    order = [root]
    stack = [(root, iter(indices[indptr[root]:indptr[root + 1]].tolist()))]
    t = 1
    while stack:
        u, it = stack[-1]
        advanced = False
        for v in it:
            if not mask[v]:
                continue
            if v not in disc:
                parent[v] = u
                disc[v] = low[v] = t
                t += 1
                order.append(v)
                stack.append((v, iter(indices[indptr[v]:indptr[v + 1]].tolist())))
                advanced = True
                break
            if v != parent[u]:
                low[u] = min(low[u], disc[v])
        if advanced:
            continue
        stack.pop()
        size[u] = t - disc[u]
        pu = parent[u]
        if pu >= 0:
            low[pu] = min(low[pu], low[u])
            if pu != root and low[u] >= disc[pu]:
                hanging.setdefault(pu, []).append(u)
    return Cuts(order=np.asarray(order, dtype=np.int64), disc=disc, size=size, hanging=hanging)


def _components(lab: np.ndarray, adj: sp.csr_matrix) -> np.ndarray:
    """Connected pieces of equal-label blocks (label -1 blocks stay alone)."""
    coo = adj.tocoo()
    same = (lab[coo.row] == lab[coo.col]) & (lab[coo.row] >= 0)
    m = sp.csr_matrix((np.ones(int(same.sum())), (coo.row[same], coo.col[same])), shape=adj.shape)
    return connected_components(m, directed=False)[1]


def repair_contiguity(lab: np.ndarray, adj: sp.csr_matrix, post_block: np.ndarray, load: np.ndarray,
                      target: np.ndarray, *, max_rounds: int = 100,
                      allowed: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Give every piece of a precinct cut off from its post to the least-loaded neighbour;
    with ``allowed`` (units, blocks), to a neighbour that may take every block of the
    piece when one can (else to the least-loaded one).

    Returns the new labels and the number of blocks moved.
    """
    lab = lab.copy()
    moved = 0
    coo = adj.tocoo()
    for _ in range(max_rounds):
        comp = _components(lab, adj)
        good_comp = np.zeros(comp.max() + 1, dtype=bool)
        good_comp[comp[post_block]] = True
        good = good_comp[comp] & (lab >= 0)
        bad = (~good) & (lab >= 0)
        if not bad.any():
            break
        unit_load = np.bincount(lab[lab >= 0], weights=load[lab >= 0], minlength=len(target))
        dev = unit_load / target
        # Edges from a bad piece into a good block of another unit.
        e = bad[coo.row] & good[coo.col] & (lab[coo.row] != lab[coo.col])
        if not e.any():
            # Pieces that touch no good block: leave them unassigned.
            lab[bad] = -1
            break
        rows, cols = coo.row[e], coo.col[e]
        pieces = comp[rows]
        fits = np.zeros(len(rows), dtype=bool)
        if allowed is not None:
            # Blocks of a piece the neighbour may not take, counted per (piece, neighbour) edge.
            bad_idx = np.flatnonzero(bad)
            srt = np.argsort(comp[bad_idx], kind="stable")
            bad_idx = bad_idx[srt]
            ids, starts = np.unique(comp[bad_idx], return_index=True)
            blocks_of = dict(zip(ids.tolist(), np.split(bad_idx, starts[1:])))
            pairs, inv = np.unique(np.stack([pieces, lab[cols]]), axis=1, return_inverse=True)
            ok_pair = np.array([bool(allowed[u, blocks_of[pc]].all()) for pc, u in pairs.T.tolist()])
            fits = ok_pair[np.ravel(inv)]
        order = np.lexsort((dev[lab[cols]], ~fits, pieces))
        pieces, cols = pieces[order], cols[order]
        first = np.ones(len(pieces), dtype=bool)
        first[1:] = pieces[1:] != pieces[:-1]
        choice = dict(zip(pieces[first].tolist(), lab[cols[first]].tolist()))
        for piece, unit in choice.items():
            sel = (comp == piece) & bad
            moved += int(sel.sum())
            lab[sel] = unit
    return lab, moved


def check_node_contiguity(csr: sp.csr_matrix, node_lab: np.ndarray, unit_node: np.ndarray) -> bool:
    """True when each precinct's road nodes form one connected piece holding its post's node."""
    coo = csr.tocoo()
    same = (node_lab[coo.row] == node_lab[coo.col]) & (node_lab[coo.row] >= 0)
    m = sp.csr_matrix((np.ones(int(same.sum())), (coo.row[same], coo.col[same])), shape=csr.shape)
    comp = connected_components(m, directed=False)[1]
    for u, post in enumerate(unit_node.tolist()):
        if node_lab[post] != u:
            return False
        mine = node_lab == u
        if not np.all(comp[mine] == comp[post]):
            return False
    return True
