"""The layers of a kept siting result's map: the area each post (existing, then chosen) reaches
within the run's travel time over its mode's roads, one `geo_service.network.reach.isochrone`
Feature per post (None for a post with no coordinates).

They are the slow part of the siting map page (one isochrone per post), so they are kept
once made, under `layers_key`: the result, the bundle version and what changes the areas
(the minutes, the mode, the posts' places). `work` measures how much there is to do
(posts x minutes), which the page compares with ``SITING_MAP_INLINE_WORK``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from geo_service import progress
from geo_service.network.reach import isochrone

if TYPE_CHECKING:
    from geo_service.bundle import CityBundle

#: The kind of a kept set of layers (a result of its own, made by a job or by the siting job).
KIND = "siting_map"


def params(result: Mapping[str, Any]) -> tuple[float, str, list[Mapping[str, Any]]]:
    """The minutes, the mode and the posts (existing first, then chosen) of a siting result."""
    request = result.get("request") or {}
    minutes = float(request.get("minutes") or float(result.get("service_time") or 0) / 60)
    mode = str(request.get("mode") or result.get("mode") or "walk")
    sites = [*(result.get("existing") or []), *(result.get("chosen") or [])]
    return minutes, mode, sites


def work(result: Mapping[str, Any]) -> float:
    """How much drawing the areas takes: posts with coordinates x minutes."""
    minutes, _mode, sites = params(result)
    return minutes * sum(1 for s in sites if s.get("lat") is not None)


def layers_key(result_id: str, result: Mapping[str, Any], bundle_version: str) -> str:
    """A short digest of what the layers depend on: the result, the bundle version, minutes,
    mode and the posts' coordinates."""
    minutes, mode, sites = params(result)
    doc = [result_id, str(bundle_version), round(minutes, 6), mode,
           [[s.get("lat"), s.get("lon")] for s in sites]]
    return hashlib.sha256(json.dumps(doc, separators=(",", ":")).encode()).hexdigest()[:16]


def service_areas(city: CityBundle, result: Mapping[str, Any]) -> list[dict[str, Any] | None]:
    """One isochrone Feature per post (None without coordinates); [] with no travel time.
    Reports ``areas`` progress per post (a job may be cancelled between two)."""
    minutes, mode, sites = params(result)
    if minutes <= 0:
        return []
    graph = city.graph(mode)
    out: list[dict[str, Any] | None] = []
    for k, s in enumerate(sites):
        progress.report("areas", k, len(sites))
        out.append(isochrone(graph, float(s["lat"]), float(s["lon"]), minutes) if s.get("lat") is not None else None)
    progress.report("areas", len(sites), len(sites))
    return out


def layers_body(city: CityBundle, result_id: str, result: Mapping[str, Any]) -> dict[str, Any]:
    """The body a kept set of layers has: its key, what it was made for, and the areas."""
    version = str(city.manifest.get("bundle_version") or "0")
    minutes, mode, sites = params(result)
    return {"siting_id": result_id, "key": layers_key(result_id, result, version), "bundle_version": version,
            "minutes": minutes, "mode": mode, "posts": len(sites), "areas": service_areas(city, result)}


def pointer_name(result_id: str, key: str) -> str:
    """The store's meta row that names the kept layers (or the job making them) of ``key``."""
    return f"{KIND}:{result_id[:40]}:{key}"


__all__ = ["KIND", "layers_body", "layers_key", "params", "pointer_name", "service_areas", "work"]
