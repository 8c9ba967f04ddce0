"""Boundaries: lstm_core never imports streamlit and holds no page text; no import cycle
anywhere; nothing unpickles or uses unsafe YAML."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import ROOT


def _sources(folder: str):
    """The folder's Python files, its subpackages' too (changepoints/, interpret/...); the
    repository root's own files only for "."."""
    base = ROOT / folder
    return sorted(base.glob("*.py") if folder == "." else base.rglob("*.py"))


def test_lstm_core_never_imports_streamlit():
    for path in _sources("lstm_core"):
        text = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+streamlit", text, re.MULTILINE), path.name


def test_no_unpickling_or_unsafe_yaml_anywhere():
    for folder in ("lstm_core", "pages", "ui", "benchmarks", "tools", "."):
        for path in _sources(folder):
            text = path.read_text()
            assert not re.search(r"pickle\.loads?\(", text), path
            assert not re.search(r"yaml\.(load|unsafe_load)\(", text), path
            for m in re.finditer(r"(?<!safetensors\.)torch\.load\(([^)]*)\)", text):
                assert "weights_only=True" in m.group(1), path


def test_pages_stay_thin():
    """Pages call lstm_core and ui; arrays, tensors and their maths live in lstm_core."""
    for path in _sources("pages"):
        text = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+(torch|numpy)", text, re.MULTILINE), path.name
        assert text.count("\n") <= 150, f"{path.name} has grown past a thin page"


# ---------------------------------------------------------------- import graph: no cycles

PACKAGES = ("lstm_core", "ui", "pages", "benchmarks", "tools")


def _module_names() -> dict[str, Path]:
    """Every module of the packages (recursively) and app.py, by dotted name."""
    files = [ROOT / "app.py"] + [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    names = {}
    for path in files:
        parts = path.relative_to(ROOT).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules ``name`` imports anywhere in its file: at the top, in functions, under
    TYPE_CHECKING. ``from a import b`` counts ``a`` and, when it is a module, ``a.b``; a bare
    name in a folder without ``__init__.py`` (benchmarks/, tools/: scripts run with their own
    folder on the path) counts the sibling file of that name."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    script_dir = not (path.parent / "__init__.py").exists() and path.parent != ROOT

    def resolve(module: str) -> str | None:
        if module in modules:
            return module
        sibling = f"{package}.{module}"
        return sibling if script_dir and sibling in modules else None

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {resolve(a.name) for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                head = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(head + ([base] if base else []))
            base = resolve(base) or base
            found |= {resolve(base)} | {resolve(f"{base}.{a.name}") for a in node.names}
    return found - {None, name}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_import_graph_has_no_cycle():
    modules = _module_names()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert len(graph) > 80 and "lstm_core.changepoints.pipeline" in graph  # it read them all
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_one():
    """A lazy import inside a function is a cycle too, and the message names its modules."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


# ---------------------------------------------------------------- no page text in the engine

PAGE_WORDS = re.compile(
    r"\b(page|pages|click|clicks|button|buttons|sidebar|press|tab)\b", re.IGNORECASE
)


def test_lstm_core_strings_never_speak_of_pages():
    """What the engine says (its strings, not its docstrings) names no page, button or
    sidebar: such text lives in ui/."""
    for path in _sources("lstm_core"):
        tree = ast.parse(path.read_text())
        docs = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docs
            ):
                assert not PAGE_WORDS.search(node.value), f"{path.name}: {node.value!r}"


def test_no_module_is_over_500_lines_and_long_functions_say_why():
    """Small rooms: every module of the app, the engine, the benchmarks and the tools is at most
    500 lines, and a function over 80 lines carries a comment or docstring on why it stays
    whole ("stays whole", "one function", "on purpose", "long for")."""
    import ast

    for folder in ("lstm_core", "ui", "pages", "benchmarks", "tools", "."):
        for path in _sources(folder):
            text = path.read_text()
            assert text.count("\n") <= 500, f"{path} has {text.count(chr(10))} lines"
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    body = "\n".join(text.split("\n")[node.lineno - 1 : node.end_lineno])
                    if node.end_lineno - node.lineno + 1 > 80:
                        assert re.search(r"stays? (whole|one)|one function|on purpose|[Ll]ong for", body), (
                            f"{path}:{node.lineno} {node.name} is over 80 lines without saying why"
                        )
