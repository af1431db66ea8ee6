"""Balanced precincts: contiguous, compact territories with an even workload per inspector.

The package: `problem` (the block problem and its imbalance measures), `blocks` (road
blocks, hard borders, loads), `contiguity` (cut blocks, repair), `search` (construction,
boundary moves, starts), `mip` (the assignment model), `bounds` (LP lower bounds, ways
out, merged reach), `report` (the result and its figures) and `proposal`
(`balance_precincts`, which runs the steps below).

The method (`balance_precincts`)
--------------------------------
1. **Blocks.** The walking graph's nodes are grouped by square cells (``cell_m``, 250 m
   by default); a cell's nodes that the road network joins inside the cell form one
   block, so every block is connected along roads. Road edges that cross a hard border
   the planner gives (district borders, rivers, railways, major roads: GeoJSON lines or
   polygons) are cut first, so no block, and no precinct, spans a border.
2. **Load.** Each block carries the additive parts of the workload index
   (`geo_service.workload.indicators`): residents (demand snapped to the nearest node), area (the
   cell's area shared among its nodes), road length and, when given, appeals; each
   normalised by its mean per precinct and weighted by `WorkloadWeights`. Travel time is
   not added to the load: it is the compactness cost below.
3. **Baseline.** Every road node goes to the post nearest by walking time (a network
   Voronoi: one multi-source Dijkstra on the cut graph), as `derive_precincts` does.
4. **Construction** (``method``):

   * ``grow`` (default): capacitated region growing. All precincts start at their
     post's block; repeatedly the precinct with the lowest load relative to its target
     takes its nearest free neighbouring block (a priority queue per precinct, keyed by
     travel time from the post). Contiguous by construction.
   * ``mip``: the Hess et al. (1965) assignment model in HiGHS: binary ``x[b, p]`` for
     each block and its ``k_nearest`` posts, minimising ``sum load_b x time(p, b)``,
     elastic balance rows (slack penalised by `BALANCE_PENALTY`), and
     shortest-path-tree contiguity rows (a block may join post p only if a neighbour
     nearer to p joins too). Exact but slow: on the 7,000 blocks of the Almaty extract
     HiGHS does not improve on its start within a minute; for small instances.
   * ``voronoi``: an additively weighted network Voronoi whose offsets are tuned to the
     loads (a super-source Dijkstra per iteration; contiguous whatever the offsets).
     Measured on Almaty it oscillates and balances worse than ``grow``: kept for study.

5. **Contiguity repair** (``grow``, ``mip``). Pieces of a precinct not connected
   (through blocks of the same precinct) to its post's block go, whole, to the adjacent
   precinct with the lowest load; repeated until every precinct is one connected piece.
6. **Boundary moves** (``grow``, ``mip``). Local search: boundary blocks move to the
   neighbouring precinct when that lowers the imbalance (1000 x squared excess over the
   tolerance, plus the squared deviation) plus ``compactness`` x the added travel time,
   and the precinct it leaves stays connected. A block that is a cut vertex of its
   precinct (Hopcroft-Tarjan, cached per precinct until it changes) moves together with
   the branch it cuts off from the post, when that lowers the objective and leaves
   neither precinct further from its target than the worse of the two was. Several
   moves per round, each precinct in at most one.

7. **Several starts, best kept** (``grow``, ``mip``). Steps 5-6 (and the held-back pass
   below) run from the construction *and* from the nearest-post baseline (its block
   majority, contiguous along roads already), then, while ``local_time_limit`` lasts (at
   most ``restarts`` times), from perturbed copies of the best result so far (boundary
   blocks of a quarter of the precincts, out-of-band ones three times as likely, handed to
   a random neighbour, then repaired; ``seed`` fixes the draws). The result kept is the
   best by (most posts within the tolerance, then the least squared excess beyond the
   band, then the smallest max/min ratio of the load per inspector, then the fewest
   blocks moved from the baseline); every candidate is listed in
   ``summary['candidates']`` and the one kept in ``summary['start']``.

Where the geography allows (`target_levels`): precincts the boundary moves cannot bring to 90%
of their target are *held back*: they keep what they have, and the others balance the
remaining load among themselves (their *level*, ``after.others_level``, relative to the
city's average per inspector). A precinct that then cannot reach 90% of that level is
held back too (two rounds). ``after.others_within_tolerance`` counts the others within
the tolerance of their level. Posts at the same block share one precinct (their
inspectors add up).

Precincts below the band are grouped by shared borders (``after.below_band_groups``):
each group's inspectors, the work it holds (in inspectors at the city's average), and
``reach_as_one`` (`merged_reach`, a heuristic test): the share of its combined target the
group reaches when its blocks become one precinct (from the current precincts, and grown
first) and the same boundary moves run again; and ``ways_out`` (`ways_out`, a bound): how
many separate ways lead out of the group's area, avoiding other posts (each precinct that
reaches work beyond the area holds one). Fewer ways than posts proves that some of the
group cannot reach the band; a group that reaches its target as one precinct and has a
way out for each post is limited by this method, not shown to be limited by the
geography. Its reasons say which.

How far from the band the proposal could be at best (`balance_bound`): the LP
relaxation, in HiGHS (interior point, 1-4 s on Almaty). Each block is shared
fractionally among the posts that could hold it in a contiguous precinct (joined to the
post's block through blocks the post may take that are no other post's block,
`reachable`), and the sum over precincts of the load beyond their band, as a share of
their target, is minimised. Contiguity and whole blocks are relaxed, so no proposal does
better: ``after.beyond_band_lower_bound`` next to the proposal's ``after.beyond_band``.
A below-band group gets its ``shortfall`` and ``shortfall_bound`` (only the group counts,
every other precinct may take any load): a bound above zero proves the group cannot all
reach the band, whatever the others give up.

The same LP with the squares of those excesses (``measure="squared"``, each square
replaced by its tangents, which never exceed it) bounds what the boundary moves
minimise: ``after.squared_excess_lower_bound`` next to ``after.squared_excess``. The plain
sum lets one precinct carry all the excess as cheaply as many share it, so its LP piles
the overload on a few precincts; the squares do not, and compare like with like.

Compactness as a rule (``max_extra_travel_min``, 60 minutes by default,
`DEFAULT_EXTRA_TRAVEL_MIN`; None turns it off): a block may join a post at most that
many minutes' walk farther than its nearest post, so no resident's post is much farther
than the nearest one. The boundary moves, the growth, the contiguity repair and the
bound all keep the rule; the bound then says what the rule costs in balance.
``after.extra_travel`` measures compactness whatever the rule: how much farther than the
nearest post the blocks' posts are (median, 90th percentile, largest) and the share of
the load more than 60 minutes farther. A block that no post it may join can reach
through blocks it may take (block times are averages of their nodes') keeps a post that
breaks the rule; they are counted in ``after.blocks_breaking_rule`` (0 at 60 minutes on
Almaty, 39 of 7,042 at 30).

Before and after are reported as max/min ratio and Gini of the load per inspector, the
posts within the tolerance, the largest travel time from a post to a road node of its
precinct, and the blocks that move (a block's precinct is its nodes' majority). Each
precinct left outside the band gets a short reason in ``summary['after']['out_of_band']``
('cannot grow: surrounded by precincts at or below their target', '... the overloaded
neighbours' border blocks lie on the way to their posts', '... closed in by other posts'
when every way out passes another post's block, '...; post cluster' when other posts are
within a 10-minute walk, 'cannot shed: ...'; a precinct over the band but within the
tolerance of the others' level says so).

Measured on the Almaty extract (37 precincts from 40 posts, 7,042 blocks; 2-core shared
machine, ``benchmarks/bench_workload.py``), against the nearest-post baseline (2/37
within ±10%, max/min 455, Gini 0.600, largest travel 500 min):

* the default rule (``max_extra_travel_min`` 60): 1/37 within ±10%, max/min 43.2,
  Gini 0.368, 21 s; squared excess 12.96 against a lower bound of 11.29 (the baseline's
  is 84.5), beyond the band 20.70 against 14.46. 21 precincts held back, 18 of them one
  group (20 inspectors, work for 7.6) short by 8.97 targets, 8.09 of it proven; the other
  16 within ±10% of their shared level (1.79 x the city average);
* rule 30 / 120 min: squared 18.29 / 7.75 against bounds of 15.73 / 1.09 (16 s / 48 s);
  8/37 within at 120 min, with 18% of the load more than an hour farther;
* no rule (``None``): 5/37 within ±10%, max/min 31.0, Gini 0.208, 42-48 s; beyond the
  band 9.55 against an LP bound of 0.86, squared 3.96 against 0.73; a quarter of the work
  more than an hour's walk farther than the nearest post (90th percentile 147 min).

Under the rule the result is proven close to the best any compact proposal can do (the
squared bound); without it, or with a loose one, the LP bound drops contiguity and is far
below the proposal, so the proposal is not proven optimal. ``reach_as_one`` is a
heuristic test, not a bound.
"""

from __future__ import annotations

from geo_service.workload.balance.blocks import Blocks, border_lines, build_blocks, cut_mask, node_load
from geo_service.workload.balance.bounds import (
    SQUARE_TANGENTS,
    balance_bound,
    extra_travel,
    merged_reach,
    reachable,
    ways_out,
)
from geo_service.workload.balance.contiguity import check_node_contiguity, repair_contiguity
from geo_service.workload.balance.mip import BALANCE_PENALTY, solve_assignment
from geo_service.workload.balance.problem import BlockProblem, excess
from geo_service.workload.balance.proposal import DEFAULT_EXTRA_TRAVEL_MIN, METHODS, balance_precincts
from geo_service.workload.balance.report import BalanceResult
from geo_service.workload.balance.search import (
    Candidate,
    grow_regions,
    limited_groups,
    local_search,
    refine,
    target_levels,
    weighted_voronoi,
)

__all__ = [
    "BALANCE_PENALTY",
    "DEFAULT_EXTRA_TRAVEL_MIN",
    "METHODS",
    "SQUARE_TANGENTS",
    "BalanceResult",
    "BlockProblem",
    "Blocks",
    "Candidate",
    "balance_bound",
    "balance_precincts",
    "border_lines",
    "build_blocks",
    "check_node_contiguity",
    "cut_mask",
    "excess",
    "extra_travel",
    "grow_regions",
    "limited_groups",
    "local_search",
    "merged_reach",
    "node_load",
    "reachable",
    "refine",
    "repair_contiguity",
    "solve_assignment",
    "target_levels",
    "ways_out",
    "weighted_voronoi",
]
