"""Worker scripts of ``benchmarks/bench_engines.py``: each runs under its engine's own venv."""
