"""`make diff-local`: `cdk diff` of dev against the session's emulator, as an operator types it.

Before emulator/change_sets.py, every stack's change set failed (DeleteChangeSet answered HTTP
500, retried by the SDK for ~45 s), and the CLI fell back to a template-only diff after about
240 s for dev's five stacks. Now it is the change-set diff: replacements from the resource
schemas, and the ECS services that move to their new task definitions, which a template-only
diff does not show (their own text does not change).
"""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any

import pytest

from tests.integration.conftest import Deployed
from tests.support import ROOT

pytestmark = pytest.mark.integration
STACKS = ("network", "data", "secrets", "registry", "services", "monitoring", "alerting", "audit", "access")
FALLBACK = "Could not create a change set"
# Generous for a shared machine (a synth of dev and six change sets); the fallback took ~240 s.
SECONDS = 120
# A new image tag: every task definition is replaced (ContainerDefinitions is create-only) ...
REPLACED = {
    "[~] AWS::ECS::TaskDefinition services/Bot/Task BotTask14D6FF80 replace",
    "[~] AWS::ECS::TaskDefinition services/MlService/Task MlServiceTaskEA105650 replace",
    "[~] AWS::ECS::TaskDefinition services/DataIngestion/Task DataIngestionTask5BC14557 replace",
    "[~] AWS::ECS::TaskDefinition services/Migration/Task MigrationTask2EA9AC9B replace",
    "[~] AWS::ECS::TaskDefinition services/Mlflow/Task MlflowTaskFC607059 replace",
}
# ... and, only the change set knows, each service moves to its new one (updated in place).
MOVED = {
    "[~] AWS::ECS::Service services/Bot/Service/Service BotServiceC5E12EB9",
    "[~] AWS::ECS::Service services/MlService/Service/Service MlService5E5BAFFB",
    "[~] AWS::ECS::Service services/DataIngestion/Service/Service DataIngestionService62BA7949",
    "[~] AWS::ECS::Service services/Mlflow/Service/Service MlflowServiceC8B373FD",
}


def _diff(deployed: Deployed, **variables: str) -> tuple[str, float]:
    state, port, _ = deployed
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"LOCAL_PORT": str(port), "LOCAL_STATE": str(state), **variables}
    started = time.monotonic()
    result = subprocess.run(
        ["make", "-s", "diff-local"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert FALLBACK not in output and "Traceback" not in output, output
    return output, elapsed


def _deployed_tag(clients: dict[str, Any]) -> str:
    """The image tag dev runs now (another test may have redeployed it)."""
    definition = clients["ecs"].describe_task_definition(taskDefinition="clever-better-dev-migrate")
    return str(definition["taskDefinition"]["containerDefinitions"][0]["image"].rsplit(":", 1)[1])


def test_diff_local_shows_the_change_set_diff_in_seconds(deployed: Deployed, clients: dict[str, Any]) -> None:
    deployed_tag = _deployed_tag(clients)
    other_tag = "v7.7.7" if deployed_tag != "v7.7.7" else "v7.7.8"

    same, seconds = _diff(deployed, IMAGE_TAG=deployed_tag)
    assert seconds < SECONDS, seconds
    assert same.count("Hold on while we create a read-only change set") == len(STACKS), same
    for stack in STACKS:
        assert f"Stack dev/{stack} (clever-better-dev-{stack})" in same, same
    assert same.count("There were no differences") == len(STACKS), same
    assert "Number of stacks with differences: 0" in same, same

    changed, seconds = _diff(deployed, IMAGE_TAG=other_tag)
    assert seconds < SECONDS, seconds
    assert "Number of stacks with differences: 1" in changed, changed
    resources = {line.strip() for line in changed.splitlines() if " AWS::" in line and line.startswith("[")}
    assert resources == REPLACED | MOVED, changed
    assert changed.count("(requires replacement)") == len(REPLACED), changed
    assert f'"/bot:{other_tag}"' in changed and f'"/bot:{deployed_tag}"' in changed, changed
    assert changed.count('[+] "{{changeSet:KNOWN_AFTER_APPLY}}"') == len(MOVED), changed

    # A diff changes nothing: the stacks, the task definitions and no change set left behind.
    cfn = clients["cloudformation"]
    for stack in STACKS:
        name = f"clever-better-dev-{stack}"
        (described,) = cfn.describe_stacks(StackName=name)["Stacks"]
        assert described["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
        # moto lists every stack's change sets (cdk bootstrap's executed one too): filtered here.
        summaries = cfn.list_change_sets(StackName=name)["Summaries"]
        assert [s["ChangeSetName"] for s in summaries if s["StackName"] == name] == []
    assert _deployed_tag(clients) == deployed_tag
