"""One local emulator per test session, with dev deployed into it by the real CDK CLI (the
code path of `make deploy-local`); torn down with `make destroy-local`."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from emulator import local
from tests.support import ROOT

Deployed = tuple[Path, int, dict[str, dict[str, str]]]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    state = tmp_path_factory.mktemp("local")
    port = _free_port()
    try:
        outputs = local.deploy(state, port)
        yield state, port, outputs
    finally:
        subprocess.run(
            ["make", "-s", "destroy-local"],
            cwd=ROOT,
            env={**os.environ, "LOCAL_STATE": str(state)},
            capture_output=True,
            timeout=120,
            check=False,
        )
        stopped = not state.exists() and not local.is_up(port)
        if not stopped:  # never leave an emulator running
            local.stop(state)
        assert stopped, "make destroy-local left the emulator or its state behind"


@pytest.fixture(scope="session")
def clients(deployed: Deployed) -> dict[str, Any]:
    _, port, _ = deployed
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=local.REGION
    )
    names = (
        "cloudformation", "ec2", "logs", "kms", "rds", "secretsmanager", "backup", "lambda", "sns",
        "s3", "ecr", "ecs", "elbv2", "wafv2", "cloudwatch", "ssm", "iam", "scheduler", "sqs",
        "sts", "cloudtrail", "guardduty", "config", "events", "route53",
    )  # fmt: skip
    return {name: session.client(name, endpoint_url=local.endpoint(port)) for name in names}
