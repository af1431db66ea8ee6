"""Helpers shared by the benchmark scripts: machine facts, timing, medians."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def machine() -> str:
    """One line describing the machine the figures come from."""
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = float("nan")
    return (f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, "
            f"Python {sys.version.split()[0]}")


def timeit(fn: Callable[[], Any], *, repeat: int) -> list[float]:
    """Seconds of each of ``repeat`` calls."""
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def median(values: list[float]) -> float:
    return statistics.median(values)


def need(path: Path) -> Path:
    if not path.exists():
        sys.exit(f"{path} is absent: the benchmark needs ../shared/data next to the checkout")
    return path


CITIES = {"andorra": "andorra/andorra.osm.pbf", "porto": "porto/porto.osm.pbf", "almaty": "almaty/almaty.osm.pbf"}


def city_bundle(name: str) -> Path:
    """The bundle folder of one of ``CITIES``, built once into the temp folder; raises
    FileNotFoundError when its extract is absent from ../shared/data."""
    import tempfile

    from geo_service.ingest.build import BuildOptions, build_city

    out = Path(tempfile.gettempdir()) / f"bench_city_{name}"
    if not (out / "manifest.json").exists():
        osm = SHARED_DATA / CITIES[name]
        if not osm.exists():
            raise FileNotFoundError(osm)
        # all_police: the README's figures were measured with every amenity=police object a post.
        build_city(BuildOptions(osm=osm, out=out, city=name, all_police=True))
    return out
