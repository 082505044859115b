"""Packages import only downwards (issue 27, item 7): ``lint-imports`` holds the layers of
``pyproject.toml``; this holds what a layers contract cannot — no two packages import each other,
even the siblings a layer lets import one another — and that the contract itself can fail."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]


def package_edges() -> dict[str, set[str]]:
    graph = grimp.build_graph("quantum_trader")
    edges: dict[str, set[str]] = defaultdict(set)
    for module in list(graph.modules):
        if module.count(".") < 1:
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            a, b = module.split(".")[1], imported.split(".")[1] if "." in imported else ""
            if b and a != b:
                edges[a].add(b)
    return edges


def test_no_two_packages_import_each_other() -> None:
    edges = package_edges()

    def reaches(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    cycles = sorted((a, b) for a in list(edges) for b in edges[a] if a in reaches(b))
    assert not cycles, f"package import cycles: {cycles}"


def test_the_layers_contract_fails_on_an_upward_import(tmp_path: Path) -> None:
    tool = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if tool is None:
        pytest.skip("import-linter is not installed")
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "quantum_trader", copy / "quantum_trader")
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    run = [tool, "--no-cache", "--no-logo"]
    ok = subprocess.run(run, cwd=copy, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout[-2000:]
    pnl = copy / "quantum_trader" / "core" / "pnl.py"
    pnl.write_text(pnl.read_text() + "\nimport quantum_trader.pipeline  # noqa\n")
    bad = subprocess.run(run, cwd=copy, capture_output=True, text=True, check=False)
    assert bad.returncode != 0
    assert "quantum_trader.core is not allowed to import quantum_trader.pipeline" in bad.stdout


def _rewirings(path: Path, where: str | None = None) -> list[str]:
    """Assignments to an attribute of something else (``x.y = …``, ``p.x.y = …``) — in the
    function ``where`` only, when given — outside ``self``'s own attributes."""
    import ast

    tree = ast.parse(path.read_text())
    scope: ast.AST = tree
    if where is not None:
        scope = next(
            n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == where
        )
    out = []
    for node in ast.walk(scope):
        targets = node.targets if isinstance(node, ast.Assign) else []
        for t in targets:
            if isinstance(t, ast.Attribute):
                base = t.value
                if isinstance(base, ast.Name) and base.id == "self":
                    continue
                out.append(f"{path.name}:{node.lineno} {ast.unparse(t)}")
    return out


def test_one_composition_root_builds_by_constructor() -> None:
    """build_pipeline wires every service through its constructor, and the backtester hands its
    parts in (``Simulation``) instead of rewiring a built pipeline (before: 11 attributes set
    after construction, 6 more by the backtester)."""
    pkg = ROOT / "quantum_trader"
    found = _rewirings(pkg / "pipeline.py", "build_pipeline")
    found += _rewirings(pkg / "backtest" / "runner.py")
    found += [r for r in _rewirings(pkg / "backtest" / "fastforward.py") if " p." in f" {r}"]
    assert not found, found
