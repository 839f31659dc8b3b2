"""The shape of the code: which package may import which, no import cycles, no oversized files.

The import graph is read with ``ast`` (nothing is imported), from every ``import`` statement in
tracker/, dashboard/ and importers/: at module level and inside functions alike, since an import
tucked into a function is still an arrow between the two modules. ``from pkg import name`` points
at ``pkg.name`` when that is a module, else at ``pkg``; relative imports are resolved.

The allow-lists below name what other work is still taking apart. Each entry is checked to be still
true, so an entry that is no longer needed fails the test and the list can only shrink.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("tracker", "dashboard", "importers")
MAX_LINES = 800
ARCHITECTURE = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")

# Import cycles still being broken, each one strongly connected component, exactly. Empty: a new
# cycle is broken by direction (the callee never imports its caller), not listed here.
KNOWN_CYCLES: list[frozenset[str]] = []

# Product files over MAX_LINES that are being split by their owners.
OVERSIZED: set[str] = set()

# Imports of the project's own modules inside functions (counted as lines). Each left has a reason
# written beside it: create_app loads the pages, the API, Dash and the CLI only when an app is
# built (a script that needs the models loads none of them), and seed-demo loads the demo data only
# when it runs. Any other import belongs at the top of its module. The bound may only fall.
MAX_FUNCTION_IMPORTS = 5

# The layers, top to bottom. A module may import its own layer and the layers below it.
APP_FACTORY = "tracker"  # create_app: wires every layer together
FRONTS = ("tracker.web", "tracker.api", "dashboard")  # HTML pages, the JSON API, the board
HTTP = "tracker.http"  # login, errors, CSRF and headers that every front stands on
CLI = "tracker.cli"  # tracker.cli and tracker.cli_* commands

# The services are grouped by subject (docs/ARCHITECTURE.md, "Where things are"); only what every
# subject stands on sits at the top of tracker/services/.
SHARED_SERVICES = {"access", "actors", "audit", "calendar", "submissions", "validation"}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported project module
    path: str  # the importing file, relative to the repository
    line: int
    in_function: bool


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _product_files() -> dict[str, Path]:
    files = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            files[_module_name(path)] = path
    return files


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _resolve(name: str, modules: set[str]) -> str | None:
    """The project module an import of ``name`` reaches: ``name`` itself, or its nearest parent."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: set[str]) -> list[str]:
    if isinstance(node, ast.Import):
        found = [_resolve(alias.name, modules) for alias in node.names]
        return [t for t in found if t]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    out = []
    for alias in node.names:
        submodule = f"{prefix}.{alias.name}"
        target = submodule if submodule in modules else _resolve(prefix, modules)
        if target:
            out.append(target)
    return out


def _imports_of(module: str, path: Path, modules: set[str]) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for target in _targets(child, module, _is_package(path), modules):
                    if target != module:
                        found.append(Import(module, target, str(path.relative_to(ROOT)), child.lineno, in_function))
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return found


def import_graph() -> list[Import]:
    files = _product_files()
    modules = set(files)
    return [imp for module, path in files.items() for imp in _imports_of(module, path, modules)]


def strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: the components of mutually reachable modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            components.append(component)

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return components


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _layer(module: str) -> str:
    if module == APP_FACTORY:
        return "app"
    for front in FRONTS:
        if _within(module, front):
            return front
    if _within(module, HTTP):
        return "http"
    if module == CLI or module.startswith(CLI + "_"):
        return "cli"
    return "business"


# What each layer must not import. The business layer (models, workflow, rules, services, calendar,
# clock, jobs, importers, ...) knows nothing of HTTP; the API and the board stand on the shared
# plumbing, not on the HTML pages; the plumbing stands on no front.
FORBIDDEN = {
    "business": {"tracker.web", "tracker.api", "dashboard", "http", "cli", "app"},
    "http": {"tracker.web", "tracker.api", "dashboard", "cli", "app"},
    "tracker.api": {"tracker.web", "dashboard", "cli", "app"},
    "dashboard": {"tracker.web", "tracker.api", "cli", "app"},
    "tracker.web": {"tracker.api", "dashboard", "cli", "app"},
    "cli": {"tracker.web", "tracker.api", "dashboard", "http", "app"},
}


def test_no_import_cycles():
    edges: dict[str, set[str]] = {}
    for imp in import_graph():
        edges.setdefault(imp.source, set()).add(imp.target)
    cycles = [frozenset(c) for c in strongly_connected(edges) if len(c) > 1]
    unexpected = [sorted(c) for c in cycles if c not in KNOWN_CYCLES]
    assert not unexpected, f"import cycles (break them by direction): {unexpected}"
    gone = [sorted(c) for c in KNOWN_CYCLES if c not in cycles]
    assert not gone, f"KNOWN_CYCLES lists cycles that are gone or changed; update the list: {gone}"


def test_imports_point_down():
    wrong = sorted(
        {
            f"{imp.path}:{imp.line} {imp.source} -> {imp.target}"
            for imp in import_graph()
            if _layer(imp.target) in FORBIDDEN.get(_layer(imp.source), ())
        }
    )
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_the_graph_reader_sees_submodules_relative_and_function_imports():
    modules = {"pkg", "pkg.sub", "pkg.sub.leaf", "pkg.other"}
    tree = ast.parse("from pkg import sub\nfrom .. import other\nfrom .leaf import x\nimport pkg.sub.leaf.nothing\n")
    got = [t for node in tree.body for t in _targets(node, "pkg.sub", True, modules)]
    assert got == ["pkg.sub", "pkg.other", "pkg.sub.leaf", "pkg.sub.leaf"]
    got = [t for t in _targets(ast.parse("from . import other").body[0], "pkg.sub", False, modules)]
    assert got == ["pkg.other"]
    assert strongly_connected({"a": {"b"}, "b": {"a", "c"}, "c": set()}) == [{"c"}, {"a", "b"}]


def _line_counts() -> dict[str, int]:
    return {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in _product_files().values()
    }


def test_no_product_file_over_the_limit():
    counts = _line_counts()
    over = {path for path, n in counts.items() if n > MAX_LINES}
    unexpected = sorted(f"{path} ({counts[path]} lines)" for path in over - OVERSIZED)
    assert not unexpected, f"files over {MAX_LINES} lines (split them by concern): {unexpected}"
    done = sorted(OVERSIZED - over)
    assert not done, f"OVERSIZED lists files now gone or within {MAX_LINES} lines; remove them: {done}"


def test_imports_inside_functions_only_fall():
    inside = [imp for imp in import_graph() if imp.in_function]
    statements = sorted({(imp.path, imp.line, imp.target) for imp in inside})
    lines = sorted({(path, line) for path, line, _ in statements})
    listing = "\n".join(f"{path}:{line} -> {target}" for path, line, target in statements)
    assert len(lines) <= MAX_FUNCTION_IMPORTS, (
        f"{len(lines)} imports of the project's own modules inside functions (at most "
        f"{MAX_FUNCTION_IMPORTS}); import at the top of the module instead:\n{listing}"
    )


def test_services_are_grouped_by_subject():
    services = ROOT / "tracker" / "services"
    flat = {p.stem for p in services.glob("*.py")} - {"__init__"}
    assert flat == SHARED_SERVICES, (
        f"modules at the top of tracker/services/ that belong in a subject package: "
        f"{sorted(flat - SHARED_SERVICES)}; gone from the shared list: {sorted(SHARED_SERVICES - flat)}"
    )
    for package in sorted(p for p in services.iterdir() if p.is_dir() and p.name != "__pycache__"):
        init = package / "__init__.py"
        assert init.exists(), f"{package.name}/ has no __init__.py"
        tree = ast.parse(init.read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), f"{package.name}/__init__.py should say in one line what the package holds"
        assert len(tree.body) == 1, f"{package.name}/__init__.py holds code; it should hold only its docstring"
        assert f"`{package.name}/`" in ARCHITECTURE, f"docs/ARCHITECTURE.md does not list services/{package.name}/"
