"""The packages form layers that only point down, with no import circles.

Every import in every module (top-level and inside functions) is read with `ast`, so a lazy
import cannot hide an upward dependency. `__main__` modules are entry points and exempt.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Bottom to top; a module may import its own layer's package or any package of a lower layer.
LAYERS = (
    ("runspec",),                      # specs, canonical JSON, run ids: no torch, no loaders
    ("nets",),                         # torch modules only
    ("cache",),                        # the run store: folders, states, readers, writers, model loading
    ("training",),                     # datasets, probes, trainer, jobs, presets
    ("analysis",),                     # pure functions and chart builders
    ("postprocess",),                  # predictions, sub-network scores, precompute
    ("reglab",),                       # the public API for the user's own models
    ("ui",),                           # Streamlit helpers
    ("lessons", "walkthroughs"),       # the registry and the lesson-file loader
    ("views", "app", "cli", "bench"),  # entry points: nothing imports them
)
LEVEL = {package: level for level, packages in enumerate(LAYERS) for package in packages}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    found = {}
    for package in LEVEL:
        root = REPO / package
        files = [REPO / f"{package}.py"] if (REPO / f"{package}.py").exists() else sorted(root.rglob("*.py"))
        found.update({module_name(f): f for f in files if f.name != "__main__.py"})
    return found


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """Project modules `path` imports (resolved to the longest known module name)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for guard in [n for n in ast.walk(tree) if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING"]:
        guard.body = []   # imports for type checkers only: never run, so neither a dependency nor a circle
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:   # relative: resolve against this module's package
                package = name.split(".")[: -node.level if path.name != "__init__.py" else None]
                base = ".".join([*package, base] if base else package)
            submodules = {f"{base}.{alias.name}" for alias in node.names} & known
            # `from pkg import sub` needs the module pkg.sub; `from pkg import name` needs pkg itself
            targets.update(submodules if len(submodules) == len(node.names) else {*submodules, base})
    resolved = set()
    for target in targets:
        parts = target.split(".")
        for i in range(len(parts), 0, -1):
            if ".".join(parts[:i]) in known:
                resolved.add(".".join(parts[:i]))
                break
    return resolved - {name}


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(path, name, set(modules)) for name, path in modules.items()}


def top(name: str) -> str:
    return name.split(".")[0]


def test_every_package_of_the_repo_has_a_layer():
    packages = {p.name for p in REPO.iterdir() if (p / "__init__.py").exists()} - {"tests"}
    assert packages <= set(LEVEL), f"give these packages a layer in tests/test_layers.py: {packages - set(LEVEL)}"


def test_no_import_points_up():
    upward = [f"{name} -> {target}" for name, targets in import_graph().items() for target in targets
              if LEVEL[top(target)] > LEVEL[top(name)]
              or (LEVEL[top(target)] == LEVEL[top(name)] and top(target) != top(name))]
    assert not upward, "imports that point up (or sideways between packages of one layer):\n" + "\n".join(upward)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}   # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_circles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


@pytest.mark.parametrize("graph, has_cycle", [
    ({"a": {"b"}, "b": {"c"}, "c": set()}, False),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, True),
    ({"a": {"a.x"}, "a.x": {"a"}}, True),
])
def test_the_cycle_finder_itself(graph, has_cycle):
    assert (find_cycle(graph) is not None) == has_cycle


def test_the_spec_layer_imports_neither_torch_nor_a_loader():
    import subprocess
    import sys

    code = "import sys, runspec; runspec.build_spec({'name': 'x'}); print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'training', 'numpy')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
