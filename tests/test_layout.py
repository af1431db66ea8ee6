"""The package's shape: small modules, short functions, no private names across modules.

These are the rules of the restructure (README, "Layout"); the import floors themselves are
checked by import-linter in CI (``[tool.importlinter]`` in pyproject.toml).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "geo_service"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 100


def _modules(*folders: str) -> list[Path]:
    return sorted(p for d in folders for p in (ROOT / d).rglob("*.py"))


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@pytest.mark.parametrize("path", _modules("geo_service"), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_and_functions_are_small(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_MODULE_LINES, f"{lines} lines"
    long = [(n.name, n.end_lineno - n.lineno + 1) for n in ast.walk(_tree(path))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            and (n.end_lineno or n.lineno) - n.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, long


def test_no_private_name_crosses_a_module() -> None:
    """`from geo_service.x import _name` nowhere: what crosses a module has a public name."""
    found = []
    for path in _modules("geo_service", "tests", "benchmarks", "tools"):
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("geo_service"):
                found += [f"{path.relative_to(ROOT)}: {node.module}.{a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    assert not found, found


def test_every_package_says_what_it_owns() -> None:
    for init in PACKAGE.rglob("__init__.py"):
        doc = ast.get_docstring(_tree(init))
        assert doc and len(doc) > 20, init


def test_server_start_loads_no_page_renderer_solver_or_broker_client() -> None:
    """Making the app from a bundle imports what answers requests, not what one page or one job
    needs (start-up time: each of these costs 0.1-0.4 s); they load on first use."""
    import subprocess
    import sys

    heavy = ("folium", "branca", "huey", "highspy", "pyvrp", "vroom", "geopandas", "matplotlib", "playwright",
             "psycopg", "redis", "osmium")
    code = ("import sys; from geo_service import create_app; create_app({'TESTING': True}); "
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "", f"loaded at start: {out.stdout.strip()}"
