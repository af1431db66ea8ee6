"""Where to open precinct posts: demand, candidates and coverage models (spopt's shape).

`MODELS` maps the model names the CLI and the API take (``mclp``, ``lscp``, ``pmedian``,
``backup``) to their classes; each class has the two doors of `SitingModel`.
"""

from __future__ import annotations

from geo_service.siting.base import Points, SiteInfo, Sites, SitingModel, Solution, read_cost_matrix
from geo_service.siting.coverage import LSCP, MCLP, BackupCoverage
from geo_service.siting.p_median import PMedian

__all__ = ["LSCP", "MCLP", "MODELS", "BackupCoverage", "PMedian", "Points", "SiteInfo", "Sites", "SitingModel",
           "Solution", "read_cost_matrix"]

MODELS: dict[str, type[SitingModel]] = {"mclp": MCLP, "lscp": LSCP, "pmedian": PMedian, "backup": BackupCoverage}
