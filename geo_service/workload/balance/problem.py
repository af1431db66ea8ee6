"""The block problem the balancing steps share (loads, targets, travel times, what each post may
take) and its imbalance measures."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

#: Stands for an infinite travel time in sums (block averages of node times).
UNREACHABLE = 1e9


@dataclass
class BlockProblem:
    """Blocks to share among the posts' precincts: each block's load, each precinct's
    target and tolerance, travel times, the posts' blocks, block adjacency, the weight of
    travel against imbalance, and which blocks each post may take."""

    load: np.ndarray
    target: np.ndarray
    tol: float
    time_min: np.ndarray  # (units, blocks) minutes, inf unreachable
    post_block: np.ndarray
    adj: sp.csr_matrix
    compactness: float
    allowed: np.ndarray  # (units, blocks) bool
    time_first: np.ndarray  # (units, blocks) minutes to the block's nearest node


def excess(lab: np.ndarray, pb: BlockProblem) -> np.ndarray:
    """Per precinct, how far its load (blocks labelled ``lab``; -1: none) is outside its
    band, as a share of its target."""
    ok = lab >= 0
    ul = np.bincount(lab[ok], weights=pb.load[ok], minlength=len(pb.target))
    return np.maximum(np.abs(ul / pb.target - 1) - pb.tol, 0.0)


def imbalance_cost(load_units: np.ndarray, target: np.ndarray, tol: float) -> np.ndarray:
    """What the boundary moves minimise per precinct: 1000 x the squared excess beyond the
    tolerance plus the squared deviation from the target."""
    dev = load_units / target - 1.0
    excess = np.maximum(np.abs(dev) - tol, 0.0)
    return 1e3 * excess ** 2 + dev ** 2
