"""Move top-level definitions verbatim from one module to another (a restructuring aid).

    python tools/movedefs.py SRC_MODULE DST_MODULE NAME[=NEWNAME] ...

Cuts each named top-level function, class or assignment (with its decorators and the
comment lines right above it) out of SRC, appends it to DST (created with SRC's import
block when new), renames it when ``=NEWNAME`` is given (in the moved code, SRC and every
importer), then rewrites ``from SRC import NAME`` everywhere in geo_service/, tests/,
benchmarks/ and tools/ to import from DST, and leaves SRC importing what it still uses.
Run ``ruff check --select F401,F811,F821,I --fix`` after it.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def path_of(module: str) -> Path:
    base = ROOT / module.replace(".", "/")
    p = base.with_suffix(".py")
    return p if p.exists() or not base.is_dir() else base / "__init__.py"


def top_level_spans(tree: ast.Module, lines: list[str]) -> dict[str, tuple[int, int]]:
    spans: dict[str, tuple[int, int]] = {}
    for node in tree.body:
        names: list[str] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names = [node.target.id]
        if not names:
            continue
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
        while start > 0 and lines[start - 1].lstrip().startswith("#"):
            start -= 1
        end = node.end_lineno or node.lineno
        # a docstring-style string right after an assignment belongs to it
        idx = tree.body.index(node)
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and idx + 1 < len(tree.body):
            nxt = tree.body[idx + 1]
            if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
                end = nxt.end_lineno or end
        for n in names:
            spans[n] = (start, end)
    return spans


def import_block(text: str) -> str:
    tree = ast.parse(text)
    out = []
    lines = text.splitlines()
    for node in tree.body:
        type_checking = isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        if isinstance(node, (ast.Import, ast.ImportFrom)) or type_checking:
            out.append("\n".join(lines[node.lineno - 1 : node.end_lineno]))
    return "\n".join(out)


def main(argv: list[str]) -> None:
    src_mod, dst_mod, *specs = argv
    renames = dict((s.split("=", 1) + [s.split("=", 1)[0]])[:2] for s in specs)
    src, dst = path_of(src_mod), path_of(dst_mod)
    text = src.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    spans = top_level_spans(ast.parse(text), [ln.rstrip("\n") for ln in lines])
    missing = [n for n in renames if n not in spans]
    if missing:
        sys.exit(f"not top-level in {src_mod}: {missing}")
    chosen = sorted({spans[n] for n in renames})
    moved = "\n\n".join("".join(lines[a:b]).rstrip() for a, b in chosen)
    keep = [ln for k, ln in enumerate(lines) if not any(a <= k < b for a, b in chosen)]
    rest = re.sub(r"\n{4,}", "\n\n\n", "".join(keep))
    for old, new in renames.items():
        if old != new:
            moved = re.sub(rf"\b{re.escape(old)}\b", new, moved)
            rest = re.sub(rf"\b{re.escape(old)}\b", new, rest)
    # SRC imports what it still uses of the moved names (ruff removes the unused ones).
    used = [renames[n] for n in renames if re.search(rf"\b{re.escape(renames[n])}\b", rest)]
    if used:
        block = f"from {dst_mod} import {', '.join(sorted(set(used)))}\n"
        tree = ast.parse(rest)
        last = max((n.end_lineno for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))), default=0)
        rl = rest.splitlines(keepends=True)
        rest = "".join(rl[:last]) + block + "".join(rl[last:])
    src.write_text(rest, encoding="utf-8")
    if dst.exists():
        dtext = dst.read_text(encoding="utf-8").rstrip() + "\n\n\n" + moved + "\n"
        tree = ast.parse(dtext)
        last = max((n.end_lineno for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))), default=0)
        dl = dtext.splitlines(keepends=True)
        block = "\n".join(ln for ln in import_block(text).splitlines() if not ln.startswith(f"from {dst_mod} import"))
        dtext = "".join(dl[:last]) + block + "\n" + "".join(dl[last:])
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        doc = f'"""{dst_mod.rsplit(".", 1)[-1]}: moved from {src_mod}."""\n\nfrom __future__ import annotations\n\n'
        dtext = doc + import_block(text).replace("from __future__ import annotations\n", "") + "\n\n\n" + moved + "\n"
    dst.write_text(dtext, encoding="utf-8")
    # importers elsewhere
    for d in ("geo_service", "tests", "benchmarks", "tools"):
        for f in (ROOT / d).rglob("*.py"):
            if f in (src, dst) or f.name == "movedefs.py":
                continue
            t = f.read_text(encoding="utf-8")
            t2 = retarget(t, src_mod, dst_mod, renames)
            if t2 != t:
                f.write_text(t2, encoding="utf-8")


def retarget(text: str, src_mod: str, dst_mod: str, renames: dict[str, str]) -> str:
    """``from SRC import a, b`` lines (parenthesised or not) split so moved names come from DST."""

    def fix(m: re.Match[str]) -> str:
        indent, body = m.group(1), m.group(2) or m.group(3)
        stay, go = [], []
        for n in (x.strip() for x in body.replace("\n", " ").split(",")):
            if not n:
                continue
            base, _, alias = (p.strip() for p in n.partition(" as "))
            if base in renames:
                new = renames[base]
                go.append(new + (f" as {alias}" if alias else (f" as {base}" if new != base else "")))
            else:
                stay.append(n)
        out = [f"{indent}from {src_mod} import {', '.join(stay)}"] if stay else []
        if go:
            out.append(f"{indent}from {dst_mod} import {', '.join(go)}")
        return "\n".join(out)

    pattern = rf"^(\s*)from {re.escape(src_mod)} import (?:\(([^)]*)\)|([^(\n][^\n]*))$"
    # Attribute uses through "import src as x" are left for ruff and mypy to catch.
    return re.sub(pattern, fix, text, flags=re.M)


if __name__ == "__main__":
    main(sys.argv[1:])
