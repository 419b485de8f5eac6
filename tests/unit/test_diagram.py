"""docs/ARCHITECTURE.md is what tools/diagram.py makes of the synthesized app, and it shows
the flows the stacks define."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT
from tools import diagram

ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"
NODE = re.compile(r'^\s*(\w+)(?:\["|\[\("|\[\["|\{\{"|\(\(")(.*?)(?:"\]|"\)\]|"\]\]|"\}\}|"\)\))$')
EDGE = re.compile(r'^\s*(\w+) (==>|-->|-\.->)(?:\|"(.*)"\|)? (\w+)$')


def _blocks(text: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)```", text, flags=re.S)


def _graph(block: str) -> tuple[dict[str, str], list[tuple[str, str, str, str]]]:
    """Labels by node id, and (source label, arrow, edge label, target label) per edge."""
    nodes = {m.group(1): m.group(2) for line in block.splitlines() if (m := NODE.match(line))}
    edges = [
        (nodes[m.group(1)], m.group(2), m.group(3) or "", nodes[m.group(4)])
        for line in block.splitlines()
        if (m := EDGE.match(line))
    ]
    return nodes, edges


@pytest.fixture(scope="module")
def rendered(templates: dict[str, Any]) -> str:
    return diagram.render(templates)


@pytest.fixture(scope="module")
def views(rendered: str) -> list[tuple[dict[str, str], list[tuple[str, str, str, str]]]]:
    blocks = _blocks(rendered)
    assert len(blocks) == 2, "expected the production view and the DR pair"
    return [_graph(block) for block in blocks]


def test_the_committed_diagram_is_current(rendered: str) -> None:
    assert ARCHITECTURE.read_text() == rendered, "docs/ARCHITECTURE.md is stale: run make diagram"


def test_the_diagram_is_deterministic(templates: dict[str, Any], rendered: str) -> None:
    reordered = {name: templates[name] for name in sorted(templates, reverse=True)}
    assert diagram.render(reordered) == rendered


def test_every_line_of_each_flowchart_is_a_node_an_edge_or_a_subgraph(rendered: str) -> None:
    """The structure GitHub's Mermaid needs: declared nodes, balanced subgraphs, unique ids."""
    blocks = _blocks(rendered)
    for block, (min_nodes, min_edges) in zip(blocks, [(40, 50), (20, 12)], strict=True):
        lines = block.strip().splitlines()
        assert lines[0] == "flowchart LR"
        nodes, edges = _graph(block)
        assert len(nodes) >= min_nodes and len(edges) >= min_edges, (len(nodes), len(edges))
        depth = 0
        for line in lines[1:]:
            if line.strip().startswith("subgraph "):
                depth += 1
            elif line.strip() == "end":
                depth -= 1
                assert depth >= 0
            else:
                assert NODE.match(line) or EDGE.match(line), line
        assert depth == 0
        ids = [m.group(1) for line in lines if (m := NODE.match(line))]
        subgraphs = [line.split()[1].split("[")[0] for line in lines if line.strip().startswith("subgraph ")]
        assert len(set(ids + subgraphs)) == len(ids) + len(subgraphs)


def _has(edges: list[tuple[str, str, str, str]], source: str, target: str, label: str = "") -> bool:
    return any(s == source and t == target and label in text for s, _, text, t in edges)


PUBLIC_ALB = "ALB clever-better-prod<br/>internet-facing"
HTTPS = "HTTPS :443<br/>certificate api.clever-better.com"
BOT = "ECS service bot<br/>2 tasks · blue/green"
ML = "ECS service ml-service<br/>2 tasks · blue/green"
PROXY = "RDS Proxy clever-better-prod"
DATABASE = "PostgreSQL 17.9<br/>clever-better-prod<br/>db.r7g.large · Multi-AZ"
VAULT = "backup vault clever-better-prod · Vault Lock"
DR_VAULT = "backup vault clever-better-prod-dr · Vault Lock"
MLFLOW = "S3 clever-better-prod-mlflow-ACCOUNT-us-east-1"


@pytest.mark.parametrize(
    ("source", "target", "label"),
    [
        # traffic: Internet -> ALB -> listener -> target groups -> service
        ("Internet", PUBLIC_ALB, ":443"),
        ("WAF web ACL clever-better-prod", PUBLIC_ALB, "inspects"),
        (PUBLIC_ALB, HTTPS, ""),
        (HTTPS, "target group :8080 · blue", ""),
        (HTTPS, "target group :8080 · green", ""),
        ("target group :8080 · blue", BOT, ""),
        ("target group :8080 · green", BOT, ""),
        (BOT, "ALB clever-better-prod-ml<br/>internal", "ML_SERVICE_URL"),
        ("target group :8000 · blue", ML, ""),
        # data: services -> RDS Proxy -> instance; buckets; secrets; images
        (BOT, PROXY, ":5432"),
        (BOT, PROXY, "DB_HOST"),
        (PROXY, DATABASE, "IAM auth"),
        ("one-off task clever-better-prod-migrate", DATABASE, ":5432"),
        (ML, MLFLOW, "IAM"),
        ("secret clever-better/prod/betfair", BOT, "secret"),
        ("4 ECR repositories<br/>bot · data-ingestion · ml-service · mlflow", BOT, "image"),
        # the MLflow tracking server: reached by the ml-service, on its own database and prefix
        (ML, "ALB clever-better-prod-ml<br/>internal", ":5000 · MLFLOW_TRACKING_URI"),
        ("ECS service mlflow<br/>1 tasks · rolling", DATABASE, ":5432 · DB_HOST"),
        ("secret clever-better/prod/database-mlflow", "ECS service mlflow<br/>1 tasks · rolling", "secret"),
        ("ECS service mlflow<br/>1 tasks · rolling", MLFLOW, "IAM"),
        ("target group :5000 · primary", "ECS service mlflow<br/>1 tasks · rolling", ""),
        # backups, alarms, hooks, rotation
        (DATABASE, VAULT, "AWS Backup clever-better-prod: Daily, Hourly"),
        ("3 deployment alarms of bot<br/>5xx · latency · unhealthy", BOT, "roll back"),
        (BOT, "λ clever-better-prod-bot-deployment-hook", "lifecycle hook"),
        (
            "λ clever-better-prod-betfair-rotation",
            "secret clever-better/prod/betfair",
            "rotates every 180 days",
        ),
    ],
)
def test_the_production_view_shows_the_flows(
    views: list[tuple[dict[str, str], list[tuple[str, str, str, str]]]], source: str, target: str, label: str
) -> None:
    _, edges = views[0]
    assert _has(edges, source, target, label), sorted(e for e in edges if e[0] == source)


@pytest.mark.parametrize(
    ("source", "target", "label"),
    [
        (VAULT, DR_VAULT, "copy: Daily, Hourly"),
        (MLFLOW, "S3 clever-better-prod-mlflow-ACCOUNT-us-west-2", "replication"),
        (
            "S3 clever-better-prod-backups-ACCOUNT-us-east-1",
            "S3 clever-better-prod-backups-ACCOUNT-us-west-2",
            "",
        ),
        (DATABASE, "1 automated-backup replica<br/>clever-better-prod", "automated backups"),
        (
            "secret clever-better/prod/config",
            "6 secret replicas<br/>clever-better/prod/alerting · clever-better/prod/betfair · "
            "clever-better/prod/config · "
            "clever-better/prod/database · clever-better/prod/database-admin · "
            "clever-better/prod/database-mlflow",
            "replica",
        ),
        (
            "4 ECR repositories<br/>bot · data-ingestion · ml-service · mlflow",
            "3 image repositories<br/>bot · data-ingestion · ml-service",
            "replication",
        ),
        (
            "ECR creation template<br/>for replication",
            "3 image repositories<br/>bot · data-ingestion · ml-service",
            "",
        ),
    ],
)
def test_the_dr_view_shows_what_reaches_the_dr_region(
    views: list[tuple[dict[str, str], list[tuple[str, str, str, str]]]], source: str, target: str, label: str
) -> None:
    _, edges = views[1]
    assert _has(edges, source, target, label), sorted(e for e in edges if e[0] == source)


def test_repeated_resources_are_collapsed(views: list[tuple[dict[str, str], list[Any]]]) -> None:
    labels = set(views[0][0].values())
    assert {
        "3 NAT gateways",
        "9 subnets<br/>3 isolated · 3 private · 3 public",
        "9 interface endpoints<br/>"
        "ecr.api · ecr.dkr · ecs · kms · logs · monitoring · secretsmanager · ssm · sts",
    } <= labels
    assert "1 NAT gateway" in set(views[1][0].values())  # the DR region's
    # the production view stays within production's region: no DR stack, no replica
    # ("prod-dr-": the DR stacks' prefix; the drift check is clever-better-prod-drift-check)
    assert not any("us-west-2" in label or "prod-dr-" in label for label in labels)


def test_alarm_notifications_are_derived(rendered: str) -> None:
    # The catalogue's 54 alarms (9 of them security's) notify their severity's topic, the 6
    # deployment alarms the P1 topic (by its ARN, from the services stack); ml-service's 2
    # scaling alarms only scale.
    assert "60 of the 62 alarms notify an SNS topic (drawn as `notify`)." in rendered
    deployment = "group_prod_services_deployment_alarms_of_bot"
    assert f'{deployment} -.->|"notify"| res_prod_monitoring_AlarmsP1Topic8268C779' in rendered
    for severity, count in (("P0", 8), ("P1", 18), ("P2", 10), ("P3", 18)):
        assert f'{{"{count} {severity} alarms"}}' in rendered
        edge = f'group_prod_monitoring_{severity}_alarms -.->|"notify"| res_prod_monitoring_Alarms{severity}'
        assert edge + "Topic" in rendered


def test_the_cli_reads_an_assembly_and_honours_dry_run(
    assembly_dir: Path, rendered: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    target = tmp_path / "ARCHITECTURE.md"
    monkeypatch.setattr(diagram, "OUTPUT", target)
    target.write_text("stale\n")
    monkeypatch.setenv("DRY_RUN", "1")
    assert diagram.main(["--assembly", str(assembly_dir)]) == 0
    assert target.read_text() == "stale\n"
    assert "-stale" in capsys.readouterr().out
    assert diagram.main(["--check", "--assembly", str(assembly_dir)]) == 1
    monkeypatch.delenv("DRY_RUN")
    assert diagram.main(["--assembly", str(assembly_dir)]) == 0
    assert target.read_text() == rendered
    assert diagram.main(["--check", "--assembly", str(assembly_dir)]) == 0
    with pytest.raises(SystemExit, match=r"^error: .* is not a cloud assembly \(no manifest.json\)$"):
        diagram.main(["--assembly", str(tmp_path)])
