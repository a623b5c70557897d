"""The layers of ``ae``: each subpackage imports only the layers below it, no import cycle anywhere, no UI library.

Read from the source with ``ast`` (nothing is imported): every ``import`` in every module of ``ae/``, at the top of
a file or inside a function, is an edge of the graph.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "ae"
# Lowest first. A module may import from its own layer (without a cycle) and from any layer below it, never above.
LAYERS = ["runtime", "data", "models", "storage", "measure", "compression", "training", "export", "cli"]
TOP = {"ae", "ae.__main__"}  # the package itself and ``python -m ae``, above every layer
FORBIDDEN = ("streamlit", "plotly")  # presentation lives in ui/ and pages/
MAX_MODULES = 8  # per subpackage, not counting __init__.py
OWN = ("ae", "ui")  # the project's packages


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Every module name ``tree`` imports, wherever the statement stands; relative imports resolved."""
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}  # ``from pkg import module``
    return names


def graph(sources: dict[str, tuple[str, bool]]) -> dict[str, set[str]]:
    """module -> the modules of ``sources`` it imports (a name that is an attribute, not a module, drops away)."""
    edges = {}
    for module, (text, is_package) in sources.items():
        found = {_owner(name, sources) for name in imported(ast.parse(text), module, is_package)}
        edges[module] = {m for m in found if m and m != module and m not in TOP and not _is_parent(m, module)}
    return edges


def _owner(name: str, sources: dict) -> str | None:
    while name and name not in sources:
        name = name.rpartition(".")[0]
    return name or None


def _is_parent(package: str, module: str) -> bool:
    return module.startswith(package + ".")


def layer(module: str) -> int:
    """The index of ``module``'s layer in LAYERS; above them all for the package's top-level modules."""
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else len(LAYERS)


def upward(edges: dict[str, set[str]]) -> list[str]:
    return sorted(f"{a} -> {b}" for a, targets in edges.items() for b in targets if layer(b) > layer(a))


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Each cycle found by a depth-first search, as the path that closes it."""
    found, state = [], {}  # state: 1 on the current path, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    return found


def sources_of(root: Path = ROOT) -> dict[str, tuple[str, bool]]:
    return {module_name(p, root): (p.read_text(encoding="utf-8"), p.name == "__init__.py") for p in root.rglob("*.py")}


SOURCES = sources_of()
EDGES = graph(SOURCES)


def test_every_module_sits_in_a_layer():
    homeless = [m for m in SOURCES if m not in TOP and m.split(".")[1] not in LAYERS]
    assert not homeless, f"modules outside the layers {LAYERS}: {homeless}"


def test_no_import_points_up_a_layer():
    assert not upward(EDGES), "imports from a lower layer to a higher one:\n" + "\n".join(upward(EDGES))


def test_no_import_cycle():
    assert not cycles(EDGES), "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles(EDGES))


def test_the_core_never_imports_a_ui_library():
    bad = [
        f"{m} imports {name}"
        for m, (text, is_package) in SOURCES.items()
        for name in imported(ast.parse(text), m, is_package)
        if name.split(".")[0] in FORBIDDEN
    ]
    assert not bad, bad


def in_function_imports(tree: ast.AST) -> list[str]:
    """The project's modules (ae, ui) imported inside a function: with the layers in order nothing needs to dodge a
    cycle so (an optional or slow library imported where it is used is fine, and not counted)."""
    found = []
    for f in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)):
        for node in ast.walk(f):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] in OWN):
                found.append(f"{f.name}: from {'.' * node.level}{node.module or ''}")
            elif isinstance(node, ast.Import):
                found += [f"{f.name}: import {a.name}" for a in node.names if a.name.split(".")[0] in OWN]
    return found


def test_no_module_of_ae_is_imported_inside_a_function():
    found = {m: in_function_imports(ast.parse(text)) for m, (text, _) in SOURCES.items()}
    assert {m: f for m, f in found.items() if f} == {}


def test_the_app_imports_ae_at_the_top_of_its_files():
    """ui/, pages/ and app.py sit above every layer: an ae import inside a function there hides nothing but the
    dependency (an optional library such as the canvas component may still be imported where it is used)."""
    app = ROOT.parent
    files = [app / "app.py", *sorted((app / "ui").rglob("*.py")), *sorted((app / "pages").rglob("*.py"))]
    found = {str(f.relative_to(app)): in_function_imports(ast.parse(f.read_text(encoding="utf-8"))) for f in files}
    assert {f: names for f, names in found.items() if names} == {}


def test_subpackages_stay_small():
    sizes = {name: len([p for p in (ROOT / name).glob("*.py") if p.name != "__init__.py"]) for name in LAYERS}
    assert all(n <= MAX_MODULES for n in sizes.values()), sizes
    assert not [p for p in ROOT.glob("*.py") if p.stem not in ("__init__", "__main__")], "a module outside the layers"


@pytest.mark.parametrize(
    ("files", "expect"),
    [
        # a lower layer importing a higher one, inside a function
        ({"runtime/a.py": "def f():\n    from ae.cli import b\n", "cli/b.py": ""}, ("upward", "in function")),
        # two modules of one layer importing each other
        ({"models/a.py": "from ae.models import b\n", "models/b.py": "from ae.models.a import X\n"}, ("cycle",)),
        ({"data/a.py": "from . import b\n", "data/b.py": "from .a import X\n"}, ("cycle",)),  # relative imports
        ({"runtime/a.py": "import streamlit as st\n"}, ("ui",)),
        (
            {"cli/a.py": "def f():\n    import onnxruntime\n    from ae.runtime import b\n", "runtime/b.py": ""},
            ("in function",),
        ),
        ({"storage/a.py": "from ae.runtime import b\n", "runtime/b.py": "import json\n"}, None),  # downward: fine
    ],
)
def test_the_checks_catch_what_they_forbid(tmp_path, files, expect):
    root = tmp_path / "ae"
    for name, text in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(text)
    sources = sources_of(root)
    edges = graph(sources)
    ui = [n for m, (t, p) in sources.items() for n in imported(ast.parse(t), m, p) if n.split(".")[0] in FORBIDDEN]
    hidden = [f for text, _ in sources.values() for f in in_function_imports(ast.parse(text))]
    found = {"upward": bool(upward(edges)), "cycle": bool(cycles(edges)), "ui": bool(ui), "in function": bool(hidden)}
    assert found == {kind: kind in (expect or ()) for kind in found}
