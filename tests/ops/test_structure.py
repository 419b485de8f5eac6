"""How ops/ is put together: quick to start (no aws-cdk), layered core <- sections <- cli."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

OPS = ROOT / "ops"
# The CDK side of the repository: loading it costs seconds (jsii starts Node).
CDK_MODULES = {"aws_cdk", "constructs", "jsii", "stacks", "components", "cdk_nag"}


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, absolute (`from . import x` in ops/ reads as ops.x)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join((["ops"] if node.level else []) + ([node.module] if node.module else []))
            found.add(base)
            # `from ops import backup` imports the module ops.backup.
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def _ops_modules() -> dict[str, set[str]]:
    return {path.stem: _imports(path) for path in sorted(OPS.glob("*.py"))}


def test_no_ops_module_imports_the_cdk_side() -> None:
    for module, imports in _ops_modules().items():
        cdk = sorted(name for name in imports if name.split(".")[0] in CDK_MODULES)
        assert not cdk, f"ops/{module}.py imports {cdk}"


def test_layers_core_then_sections_then_cli() -> None:
    modules = _ops_modules()
    for module, imports in modules.items():
        ops_imports = {name.split(".")[1] for name in imports if name.startswith("ops.")}
        if module == "core":
            assert not ops_imports, f"ops/core.py imports {ops_imports}"
        elif module not in ("cli", "__main__", "__init__"):
            assert ops_imports <= {"core"}, f"ops/{module}.py imports {ops_imports}"
        if module != "__main__":
            assert "cli" not in ops_imports, f"ops/{module}.py imports ops.cli"
        # ops uses the hook's public smoke module, not the handler's internals.
        assert "lambdas.deployment_hook.handler" not in imports, f"ops/{module}.py imports the handler"


def test_help_does_not_load_aws_cdk() -> None:
    script = """
import contextlib, io, json, sys
from ops.cli import main

def help_of(*argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            main([*argv, "--help"])
        except SystemExit as exit:
            assert exit.code == 0, exit.code
    return out.getvalue()

top, restore = help_of(), help_of("db-restore")
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("aws_cdk", "constructs", "jsii"))
print(json.dumps({"top": top, "restore": restore, "loaded": loaded}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["loaded"] == []
    assert "db-restore" in result["top"] and "smoke-test" in result["top"]
    restore = result["restore"]
    assert "--snapshot" in restore and "--env" in restore and "--dry-run" in restore
    assert "--file" not in restore and "--service" not in restore and "--url" not in restore


def test_python_m_ops_help() -> None:
    """Exactly as an operator runs it; -X importtime lists every module the process imported."""
    for argv in (["--help"], ["db-restore", "--help"]):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "ops", *argv],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("usage: python -m ops")
        imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
        assert "ops.cli" in imported and "config.names" in imported
        assert sorted(m for m in imported if m.split(".")[0] in CDK_MODULES) == []
