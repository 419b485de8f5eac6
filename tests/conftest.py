from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, build, synth_zoned

# jsii and the CDK run on the pinned Node 22 from node_modules, as under `make`.
os.environ["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"


@pytest.fixture(scope="session")
def assembly_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cdk.out")


@pytest.fixture(scope="session")
def synthesized(assembly_dir: Path) -> tuple[Any, dict[str, dict[str, Any]]]:
    """The whole app, synthesized once per test session (cdk-nag included)."""
    return build(assembly_dir)


@pytest.fixture(scope="session")
def app(synthesized: tuple[Any, dict[str, dict[str, Any]]]) -> Any:
    return synthesized[0]


@pytest.fixture(scope="session")
def templates(synthesized: tuple[Any, dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    return synthesized[1]


@pytest.fixture(scope="session")
def zoned_synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Production and its DR stage with a hosted zone (which no environment configures yet):
    cdk-nag's unacknowledged findings and the templates by stack name."""
    return synth_zoned(tmp_path_factory.mktemp("zoned"))
