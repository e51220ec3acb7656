"""No two modules of the package import each other, directly or around a longer circle.

Every ``import`` and ``from ... import`` counts wherever it is written: at the top of a
module, inside a function, under ``if TYPE_CHECKING``. A circle that only closes inside a
function still means neither module can be read, tested or moved without the other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import musicalpy

PACKAGE = Path(musicalpy.__file__).parent


def module_names(root: Path) -> dict[str, Path]:
    """Dotted name -> file, for every module under ``root`` (a package's ``__init__`` is the package)."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, at any depth of its code.

    ``from .x import name`` points at the module ``x.name`` when that is a module, else at
    ``x``; an import of something outside the package is left out.
    """
    modules = module_names(root)
    top = root.name

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    prefix = ".".join(base + ([node.module] if node.module else []))
                else:
                    prefix = node.module or ""
                targets = [f"{prefix}.{alias.name}" if f"{prefix}.{alias.name}" in modules else prefix
                           for alias in node.names]
            else:
                continue
            for target in targets:
                if target == top or target.startswith(top + "."):
                    found = owner(target)
                    if found and found != name:
                        graph[name].add(found)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_package_imports_in_one_direction():
    graph = import_graph(PACKAGE)
    assert circles(graph) == []


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph(PACKAGE)
    # corpus reads the JSB files through jsb_files at the top; the token family builds its
    # networks from inside a function; the benchmark sits above the corpus.
    assert "musicalpy.jsb_files" in graph["musicalpy.corpus"]
    assert {"musicalpy.models.lstm", "musicalpy.models.wavenet"} <= graph["musicalpy.families.token"]
    assert "musicalpy.corpus" in graph["musicalpy.jsb"]
    # the networks read their settings without climbing back to the families
    for network in ("lstm", "wavenet", "transformer", "vae"):
        assert "musicalpy.models.settings" in graph[f"musicalpy.models.{network}"]
        assert not any(target.startswith("musicalpy.families") for target in graph[f"musicalpy.models.{network}"])


def test_a_circle_through_a_function_level_import_is_found(tmp_path):
    package = tmp_path / "musicalpy"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from .sub import b\n")
    (package / "sub" / "b.py").write_text("def f():\n    from ..c import g\n    return g\n")
    (package / "c.py").write_text("import musicalpy.a\n")
    (package / "d.py").write_text("from . import a\n")
    graph = import_graph(package)
    assert graph["musicalpy.sub.b"] == {"musicalpy.c"}
    assert circles(graph) == [["musicalpy.a", "musicalpy.c", "musicalpy.sub.b"]]
