"""What both engine workers share (they run in their own venvs, without geo_service).

A worker reads one JSON request on stdin and writes one JSON answer on stdout; its logs go
to stderr. Timings are medians of repeats after a warm-up.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any


def read_request() -> dict[str, Any]:
    return json.load(sys.stdin)


def emit(answer: dict[str, Any]) -> None:
    json.dump(answer, sys.stdout)
    sys.stdout.write("\n")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def timed(fn: Callable[[], Any], *, repeat: int, warmup: int = 1, budget_s: float = 30.0) -> dict[str, Any]:
    """Median and min of up to ``repeat`` calls after ``warmup`` calls; stops early (after at
    least one timed call) once ``budget_s`` is spent."""
    for _ in range(warmup):
        fn()
    times: list[float] = []
    spent = 0.0
    while len(times) < repeat and (not times or spent < budget_s):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        spent += times[-1]
    return {"median_s": statistics.median(times), "min_s": min(times), "n": len(times)}


def timed_each(fn: Callable[[Any], Any], items: list[Any], *, repeat: int) -> dict[str, Any]:
    """One call per item, ``repeat`` passes after one warm-up pass: median over every call."""
    for it in items:
        fn(it)
    times: list[float] = []
    for _ in range(repeat):
        for it in items:
            t0 = time.perf_counter()
            fn(it)
            times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "n": len(times)}


def run_build(steps: list[tuple[str, list[str]]], log_path: Any) -> dict[str, float]:
    """Run the preprocessing commands in order (output to ``log_path``); seconds of each."""
    import subprocess  # noqa: PLC0415

    out: dict[str, float] = {}
    with open(log_path, "w") as fh:
        for name, cmd in steps:
            t0 = time.perf_counter()
            subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, check=True)
            out[name] = round(time.perf_counter() - t0, 2)
    return out
