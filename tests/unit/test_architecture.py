"""Dependencies point inward, settings are read in one place, modules stay small."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "pars"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


def test_domain_imports_only_the_standard_library() -> None:
    for path in _modules("domain"):
        for name in _imports(path):
            top = name.split(".")[0]
            ok = top in sys.stdlib_module_names or name.startswith("pars.domain")
            assert ok, f"{path.name} imports {name}"


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("domain", ("pars.services", "pars.store", "pars.web", "pars.cli", "sqlalchemy")),
        ("services", ("pars.web", "pars.cli", "fastapi", "starlette")),
        ("store", ("pars.services", "pars.web", "pars.cli", "fastapi", "starlette")),
        ("sharing", ("pars.services", "pars.store", "pars.web", "pars.cli", "sqlalchemy")),
        ("reports", ("pars.services", "pars.store", "pars.web", "pars.cli", "sqlalchemy")),
    ],
)
def test_no_outward_imports(package: str, forbidden: tuple[str, ...]) -> None:
    for path in _modules(package):
        for name in _imports(path):
            assert not name.startswith(forbidden), f"{package}/{path.name} imports {name}"


def test_only_config_reads_the_environment() -> None:
    for path in SRC.rglob("*.py"):
        if path.name == "config.py":
            continue
        text = path.read_text()
        assert "os.environ" not in text and "getenv" not in text, path


# The stand-alone verifier is one file on purpose: an outside auditor copies that single file
# and runs it with nothing but Python and `cryptography` (issue 4), so it cannot be split.
_ONE_FILE_BY_DESIGN = {"audit/standalone.py"}


def test_modules_stay_small() -> None:
    for path in SRC.rglob("*.py"):
        if str(path.relative_to(SRC)) in _ONE_FILE_BY_DESIGN:
            continue
        lines = len(path.read_text().splitlines())
        assert lines <= 500, f"{path.relative_to(SRC)} has {lines} lines; split it by stage"


def test_every_setting_is_documented() -> None:
    from pars.config import Settings

    doc = (SRC.parents[1] / "docs" / "operations.md").read_text()
    for name in Settings.model_fields:
        assert f"`PARS_{name.upper()}`" in doc, name


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Module -> the PARS modules it imports, at module level or inside a function (a late
    import is still a dependency), but not under `if TYPE_CHECKING:`. `from pkg import sub`
    is an edge to the submodule `pkg.sub`, not to the package."""
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        skipped = {
            id(n)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for n in ast.walk(node)
        }
        edges: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                edges.update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    if sub in modules:
                        edges.add(sub)
                    elif node.module in modules:
                        edges.add(node.module)
        graph[name] = edges - {name}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of two or more modules: the circles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return circles


def test_no_two_modules_import_each_other_in_a_circle() -> None:
    graph = _import_graph()
    # the graph is the real one: the relay loop drives the transports, late imports count
    assert "pars.services.delivery.webhooks" in graph["pars.services.delivery.loop"]
    assert "pars.services.delivery.loop" in graph["pars.cli.main"]  # a late import
    assert _circles(graph) == []


def test_the_circle_check_finds_circles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e2"}, "e2": {"e"}}
    assert _circles(graph) == [["a", "b", "c"], ["e", "e2"]]
