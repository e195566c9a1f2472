"""The import direction of jobs/: jobs on top, domain packages in the middle, I/O and foundations at the bottom.

The graph is read from the source with `ast` (every `import`, module level or inside a function), so an
import hidden in a function body counts as much as one at the top. A module may import its own layer or
a lower one, never a higher one, and no two modules, nor two packages, may import each other in a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

JOBS = Path(__file__).resolve().parent.parent / "jobs"

# The one definition of the layers. A unit is a top-level module of jobs/ or one of its packages.
TOP = "top"
DOMAIN = "domain"
FOUNDATION = "foundation"
RANK = {FOUNDATION: 0, DOMAIN: 1, TOP: 2}
DOMAIN_PACKAGES = frozenset({"features", "quality", "monitoring", "offline_store", "online_store", "sample_data"})
TOP_UNITS = frozenset({"__main__", "cli", "demo", "deploy"})
FOUNDATION_UNITS = frozenset(
    {
        "__init__",
        "aws_credentials",
        "config",
        "config_source",
        "delta_io",
        "errors",
        "feast_repo",
        "feature_windows",
        "resources",
        "schemas",
        "session",
        "spark_errors",
        "tables",
    }
)


def layer_of(unit: str) -> str:
    if unit in TOP_UNITS or unit.endswith("_job"):
        return TOP
    if unit in DOMAIN_PACKAGES:
        return DOMAIN
    if unit in FOUNDATION_UNITS:
        return FOUNDATION
    raise AssertionError(f"jobs/{unit} is in no layer: add it to one in tests/test_architecture.py")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def unit_of(module: str) -> str:
    """`jobs.online_store.tables` -> `online_store`; `jobs` (its __init__) -> `__init__`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imported_modules(path: Path, module: str, known: set[str]) -> Iterable[tuple[str, int]]:
    """The jobs modules `path` imports (anywhere in it), each with the line of its import; imports under
    `if TYPE_CHECKING:` are for annotations only (they never run) and do not count."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    type_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for statement in node.body
        for inner in ast.walk(statement)
    }
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _known(alias.name, known, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                # `from jobs import delta_io` imports the module jobs.delta_io, not the package jobs.
                yield from _known(submodule if submodule in known else base, known, node.lineno)


def _known(name: str, known: set[str], line: int) -> Iterable[tuple[str, int]]:
    while name and name not in known:
        name = name.rpartition(".")[0]
    if name:
        yield name, line


def import_graph(root: Path = JOBS) -> dict[str, dict[str, int]]:
    """module -> {imported module: line}, for every module under `root`."""
    paths = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    known = set(paths)
    graph: dict[str, dict[str, int]] = {}
    for module, path in paths.items():
        edges: dict[str, int] = {}
        for target, line in imported_modules(path, module, known):
            if target != module:
                edges.setdefault(target, line)
        graph[module] = edges
    return graph


def upward_imports(graph: dict[str, dict[str, int]]) -> list[str]:
    found = []
    for module, edges in graph.items():
        for target, line in edges.items():
            source_layer, target_layer = layer_of(unit_of(module)), layer_of(unit_of(target))
            if RANK[target_layer] > RANK[source_layer]:
                found.append(f"{module}:{line} ({source_layer}) imports {target} ({target_layer})")
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def module_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    return cycles({module: set(edges) for module, edges in graph.items()})


def unit_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    units: dict[str, set[str]] = {}
    for module, edges in graph.items():
        source = unit_of(module)
        units.setdefault(source, set()).update(unit_of(t) for t in edges if unit_of(t) != source)
    return cycles(units)


def test_every_module_is_in_a_layer():
    for module in import_graph():
        layer_of(unit_of(module))


def test_no_module_imports_a_higher_layer():
    assert upward_imports(import_graph()) == []


def test_no_import_cycle_between_modules():
    assert module_cycles(import_graph()) == []


def test_no_import_cycle_between_packages():
    assert unit_cycles(import_graph()) == []


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "jobs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "jobs"


def test_function_local_upward_import_is_found(tmp_path):
    root = _write(
        tmp_path,
        {
            "__init__.py": "",
            "errors.py": "",
            "materialize_job.py": "from jobs.online_store import writer\n",
            "online_store/__init__.py": "",
            "online_store/writer.py": "from jobs import errors\n\n\ndef run():\n    from jobs import materialize_job\n",
        },
    )
    assert upward_imports(import_graph(root)) == [
        "jobs.online_store.writer:5 (domain) imports jobs.materialize_job (top)"
    ]


def test_cycles_are_found_between_modules_and_between_packages(tmp_path):
    root = _write(
        tmp_path,
        {
            "__init__.py": "",
            "online_store/__init__.py": "",
            "online_store/embedded.py": "def f():\n    from .tables import client\n",
            "online_store/tables.py": "def g():\n    from jobs.online_store.embedded import CREDENTIALS\n",
            "quality/__init__.py": "",
            "quality/wap.py": "import jobs.monitoring.history\n",
            "monitoring/__init__.py": "",
            "monitoring/history.py": "from jobs.quality import wap\n",
        },
    )
    graph = import_graph(root)
    assert module_cycles(graph) == [
        ["jobs.monitoring.history", "jobs.quality.wap"],
        ["jobs.online_store.embedded", "jobs.online_store.tables"],
    ]
    assert unit_cycles(graph) == [["monitoring", "quality"]]


@pytest.mark.parametrize("unit", ["features_job", "deploy", "cli"])
def test_jobs_and_the_cli_are_the_top_layer(unit):
    assert layer_of(unit) == TOP


README = JOBS.parent / "README.md"
MAP_LAYERS = {"**Jobs**": TOP, "**Domain packages**": DOMAIN, "**I/O and foundations**": FOUNDATION}


def module_map(text: str) -> dict[str, tuple[str, set[str]]]:
    """README's module map: `jobs/x.py` or `jobs/pkg/` -> (the layer it is listed under, modules named)."""
    section = text.split("\n## Module map\n", 1)[1].split("\n## ", 1)[0]
    listed: dict[str, tuple[str, set[str]]] = {}
    layer = None
    for line in section.splitlines():
        layer = next((lay for heading, lay in MAP_LAYERS.items() if line.startswith(heading)), layer)
        if line.startswith("| `jobs/"):
            first = line.split("|")[1]
            name = first.split("`")[1]
            assert layer is not None, line
            listed[name] = (layer, set(first.split("`")[3::2]))
    return listed


def test_the_readme_module_map_matches_the_tree():
    listed = module_map(README.read_text())
    expected: dict[str, tuple[str, set[str]]] = {}
    for path in sorted(JOBS.glob("*.py")):
        if path.name != "__init__.py":
            expected[f"jobs/{path.name}"] = (layer_of(path.stem), set())
    for package in sorted(p for p in JOBS.iterdir() if (p / "__init__.py").is_file()):
        modules = {p.stem for p in package.glob("*.py") if p.name != "__init__.py"}
        expected[f"jobs/{package.name}/"] = (layer_of(package.name), modules)
    assert listed == expected
