"""Import layers: config <- components <- stacks <- app; ops and Lambdas never reach the CDK side.

Read statically (ast) from every Python file of the product, so a new import that crosses a
layer or closes a circle fails here, not at 3 a.m. in `python -m ops`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import ROOT

PACKAGES = ("app", "components", "config", "emulator", "lambdas", "ops", "stacks", "tools")
CDK = {"aws_cdk", "constructs", "jsii", "cdk_nag"}
# What each layer may import from the project (besides itself) and whether it may load the CDK.
ALLOWED: dict[str, tuple[set[str], bool]] = {
    "config": (set(), False),
    "lambdas": (set(), False),
    "components": ({"config"}, True),
    "stacks": ({"components", "config"}, True),
    "app": ({"stacks", "config"}, True),
    # The operator commands share the deployment hook's public smoke check and the daily report's
    # reading (not its Slack handler), and find the local emulator (--local) where its driver
    # runs it; nothing else.
    "ops": (
        {"config", "lambdas.deployment_hook.smoke", "lambdas.daily_report.report", "emulator.local"},
        False,
    ),
    "emulator": (set(), False),
    # tools drive the operator commands in-process too (make dr-drill: ops.cli on emulator/drill.py).
    "tools": ({"config", "emulator", "lambdas", "app", "tests", "ops"}, True),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _files() -> dict[str, Path]:
    files = {"app": ROOT / "app.py"}
    for package in PACKAGES:
        if package != "app":
            files |= {_module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}
    return files


FILES = _files()


def _imports(module: str, path: Path) -> set[str]:
    """Absolute names of what `module` imports at any depth (function-level imports count too)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            modules = {f"{base}.{alias.name}" for alias in node.names} & set(FILES)
            # `from package import module` is about the module (and the package's __init__,
            # which is then checked as a module of its own).
            found |= modules if len(modules) == len(node.names) else {base, *modules}
    return found


GRAPH = {module: _imports(module, path) for module, path in FILES.items()}


def _layer(module: str) -> str:
    return module.split(".")[0]


def test_the_walk_sees_every_layer() -> None:
    assert {_layer(m) for m in FILES} == set(PACKAGES)
    assert "stacks.services_stack" in GRAPH and "ops.core" in GRAPH and "config.names" in GRAPH


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_no_import_from_a_layer_it_may_not_use(layer: str) -> None:
    allowed, cdk = ALLOWED[layer]
    modules = [m for m in GRAPH if _layer(m) == layer]
    assert modules
    for module in modules:
        for name in GRAPH[module]:
            top = name.split(".")[0]
            if top == layer and layer != "lambdas":
                continue
            if top in CDK:
                assert cdk, f"{module} imports {name}: {layer} must not load the CDK"
                continue
            if top not in PACKAGES and top != "tests":
                continue  # the standard library and third-party packages
            if layer == "lambdas":
                # Each function's asset is its own folder: it imports only itself.
                assert name.split(".")[:2] == module.split(".")[:2], f"{module} imports {name}"
                continue
            assert any(name == a or name.startswith(f"{a}.") for a in allowed), (
                f"{module} imports {name}; {layer} may import only {sorted(allowed) or 'itself'}"
            )


def test_no_import_circle() -> None:
    edges = {m: {n for n in imports if n in GRAPH and n != m} for m, imports in GRAPH.items()}
    done: set[str] = set()

    def visit(module: str, trail: list[str]) -> None:
        if module in trail:
            circle = [*trail[trail.index(module) :], module]
            raise AssertionError("import circle: " + " -> ".join(circle))
        if module in done:
            return
        for imported in sorted(edges[module]):
            visit(imported, [*trail, module])
        done.add(module)

    for module in sorted(edges):
        visit(module, [])
    assert done == set(edges)
