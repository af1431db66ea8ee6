"""Hostile-input fuzz over a real HTTP server: the fuzz of ``tests/web/test_fuzz.py``, with figures.

The tiny test city is served in this process by werkzeug's threaded server on 127.0.0.1;
cases go out with http.client (schemathesis positive and negative data, hostile strings in
every field of valid requests, wrong content types and encodings, hostile headers; see the
test's docstring). Prints the machine, the case counts by generator and by operation, the
answer times, and every distinct failure (5xx, dropped connection, answer of 5 s or more)
with the smallest request that shows it. Exits 1 when a case failed. About 2-3 minutes for
the default 10,000 cases on 2 cores.

    python benchmarks/fuzz_api.py [--cases 10000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=None, help="cases to send (default: as the test, 10,000)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args()

    from tests.web.test_fuzz import ALL_OPERATIONS, DEFAULT_CASES, SLOW_S, build_app, run_fuzz

    cases = args.cases or DEFAULT_CASES
    print(f"machine: {machine()}")
    t0 = time.perf_counter()
    app, token, bundle = build_app(Path(tempfile.mkdtemp(prefix="bench-fuzz-")))
    setup_s = time.perf_counter() - t0

    def progress(n: int) -> None:
        if not args.quiet:
            print(f"  ... {n} cases, {time.perf_counter() - t1:.0f} s", flush=True)

    t1 = time.perf_counter()
    fuzz = run_fuzz(app, token, bundle, cases=cases, progress=progress)
    wall = time.perf_counter() - t1

    times = sorted(s for v in fuzz.seconds.values() for s in v)
    print(f"build and start: {setup_s:.1f} s; fuzz: {wall:.1f} s wall, {fuzz.cases / wall:.0f} cases/s")
    print("wall by part: " + ", ".join(f"{k} {v:.1f} s" for k, v in fuzz.phases.items()))
    print("cases by generator: " + ", ".join(f"{k} {v}" for k, v in sorted(fuzz.by_source.items())))
    print(f"answers: {', '.join(f'{k}: {v}' for k, v in sorted(fuzz.statuses.items(), key=str))}"
          + (f"; 503 too many jobs (back-pressure, not counted): {fuzz.busy}" if fuzz.busy else "")
          + (f"; skipped (not sendable): {fuzz.unsendable}" if fuzz.unsendable else ""))
    print(f"answer time: median {statistics.median(times) * 1e3:.1f} ms, "
          f"p99 {times[int(0.99 * (len(times) - 1))] * 1e3:.1f} ms, max {times[-1]:.2f} s  [each < {SLOW_S:.0f} s]")
    slow_wire = fuzz.slowest[1]
    if slow_wire is not None:
        print(f"slowest: {slow_wire.op} ({slow_wire.source}) {fuzz.slowest[0]:.2f} s")
    print("by operation (cases, median ms, max ms):")
    for method, path in ALL_OPERATIONS:
        op = f"{method} {path}"
        s = fuzz.seconds.get(op, [])
        if s:
            print(f"  {op}: {len(s)}, {statistics.median(s) * 1e3:.1f}, {max(s) * 1e3:.0f}")
        else:
            print(f"  {op}: not reached")
    for note in fuzz.notes:
        print(f"note: {note}")
    print(fuzz.summary_line())
    if fuzz.failures or fuzz.logged:
        print(fuzz.failure_report())
    sys.exit(1 if fuzz.failures else 0)


if __name__ == "__main__":
    main()
