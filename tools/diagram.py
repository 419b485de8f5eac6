"""`make diagram`: docs/ARCHITECTURE.md, Mermaid diagrams generated from the synthesized app.

    python tools/diagram.py                   # synthesize production offline, write the file
    python tools/diagram.py --assembly DIR    # read a synthesized assembly instead (cdk.out, ...)
    python tools/diagram.py --check           # exit 1 if the committed file is stale

Nothing is drawn by hand: every node is a resource of production's templates (several of one
kind collapsed into one node, e.g. "9 interface endpoints"), or a replica that a template asks
AWS to keep in the DR region; every edge is a reference in the templates:

* traffic: security-group ingress rules (the Internet where a rule admits 0.0.0.0/0), and
  load balancer -> listener -> target group (listeners, rules) -> ECS service (its load balancers);
* data: task definitions' environment and secrets, task and execution roles' IAM policies
  (buckets, images), load-balancer and bucket access logs, flow logs, the proxy's target;
* backups and replication: the backup plan's selection, rules and copy actions, and the
  replication settings of buckets, secrets, the database's automated backups and ECR;
* control: deployment alarms and scaling alarms, lifecycle hooks, rotation schedules, WAF.

DRY_RUN=1 prints the diff instead of writing. Errors are one line.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import load  # noqa: E402 - after the path, as a script
from tools.assembly import synthesize, templates  # noqa: E402

OUTPUT = ROOT / "docs" / "ARCHITECTURE.md"
# The alarm catalogue names its alarms `...-P0` to `...-P3` (config/names.py `alarm`).
SEVERITY = re.compile(r"-(P[0-3])$")
Template = Mapping[str, Any]
Key = tuple[str, ...]  # a node: ("res", stack, logical id), ("group", stack, what), ...
INTERNET: Key = ("internet",)
# How each kind of edge is drawn, strongest first (an edge found several ways keeps the first).
ARROWS = {"traffic": "==>", "data": "-->", "backup": "-.->", "control": "-.->"}
SHAPES = {
    "box": '["{}"]',
    "store": '[("{}")]',
    "function": '[["{}"]]',
    "alarm": '{{{{"{}"}}}}',
    "edge": '(("{}"))',
}


def _views() -> tuple[list[str], list[str], str, str]:
    """Production's stacks in its region, and those of its DR region (config/names.py)."""
    (production,) = load(("production",))
    assert production.disaster_recovery is not None
    names = production.names
    return (
        list(names.stacks()),
        list(names.stacks(dr=True)),
        production.region,
        production.disaster_recovery.region,
    )


class Model:
    """Nodes and edges of a set of stacks, from their templates."""

    def __init__(self, templates: Mapping[str, Template], stacks: Sequence[str], regions: Mapping[str, str]):
        self.templates = templates
        self.stacks = list(stacks)
        self.regions = regions
        self.labels: dict[Key, str] = {INTERNET: "Internet"}
        self.shapes: dict[Key, str] = {INTERNET: "edge"}
        self.homes: dict[Key, str] = {}  # node -> the subgraph it is drawn in ("" for none)
        self.members: dict[Key, list[str]] = defaultdict(list)  # a collapsed node's members
        self.node_of: dict[tuple[str, str], Key] = {}  # (stack, logical id) -> node
        self.owners: dict[tuple[str, str], set[Key]] = defaultdict(set)  # security group -> nodes
        self.edges: dict[tuple[Key, Key], tuple[str, set[str]]] = {}
        self.homes[INTERNET] = ""
        self.exports = {
            output["Export"]["Name"]: (stack, output["Value"])
            for stack, template in templates.items()
            for output in template.get("Outputs", {}).values()
            if "Export" in output
        }
        self.physical: dict[tuple[str, str], tuple[str, str]] = {}  # (type, name) -> resource
        for stack, lid, resource in self._resources(list(templates)):
            props = resource.get("Properties", {})
            for prop in ("BucketName", "BackupVaultName", "AlarmName", "RepositoryName", "TopicName"):
                if isinstance(props.get(prop), str):
                    region = regions.get(stack, "")
                    name = props[prop] if prop == "BucketName" else f"{region}/{props[prop]}"
                    self.physical[(resource["Type"], name)] = (stack, lid)
        self._nodes()
        self._edges()

    # --- references -------------------------------------------------------------------------

    def _resources(self, stacks: Sequence[str]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
        for stack in stacks:
            for lid, resource in sorted(self.templates[stack]["Resources"].items()):
                yield stack, lid, resource

    def refs(self, stack: str, value: Any) -> Iterator[tuple[str, str]]:
        """Every resource `value` refers to: Ref, GetAtt, ImportValue (through the producer's
        export), GetStackOutput (through the named stack's output), or an ARN or name of a
        bucket, repository, backup vault or alarm written out literally."""
        if isinstance(value, list):
            for item in value:
                yield from self.refs(stack, item)
        elif isinstance(value, dict):
            if isinstance(value.get("Ref"), str) and value["Ref"] in self.templates[stack]["Resources"]:
                yield stack, value["Ref"]
            elif "Fn::GetAtt" in value:
                attribute = value["Fn::GetAtt"]
                lid = attribute[0] if isinstance(attribute, list) else str(attribute).split(".")[0]
                yield stack, lid
            elif isinstance(value.get("Fn::ImportValue"), str) and value["Fn::ImportValue"] in self.exports:
                producer, exported = self.exports[value["Fn::ImportValue"]]
                yield from self.refs(producer, exported)
            elif "Fn::GetStackOutput" in value:
                output = value["Fn::GetStackOutput"]
                if output["StackName"] in self.templates:
                    named = self.templates[output["StackName"]]["Outputs"][output["OutputName"]]["Value"]
                    yield from self.refs(output["StackName"], named)
            else:
                for item in value.values():
                    yield from self.refs(stack, item)
        elif isinstance(value, str):
            yield from self._literal(value)

    def _literal(self, text: str) -> Iterator[tuple[str, str]]:
        patterns = (
            (r"arn:aws:s3:::([^/]+)(?:/.*)?", "AWS::S3::Bucket", "{0}"),
            (r"arn:aws:ecr:([^:]+):\d+:repository/(.+)", "AWS::ECR::Repository", "{0}/{1}"),
            (r"arn:aws:backup:([^:]+):\d+:backup-vault:(.+)", "AWS::Backup::BackupVault", "{0}/{1}"),
            (r"([a-z0-9][a-z0-9.-]+-\d{12}-[a-z]{2}-[a-z]+-\d)", "AWS::S3::Bucket", "{0}"),  # a bucket name
        )
        for pattern, resource_type, name in patterns:
            if match := re.fullmatch(pattern, text):
                found = self.physical.get((resource_type, name.format(*match.groups())))
                if found:
                    yield found
                return

    def _type(self, key: Key) -> str:
        """The resource type a node stands for (of its first member, if collapsed)."""
        for (stack, lid), node in sorted(self.node_of.items()):
            if node == key:
                return str(self.templates[stack]["Resources"][lid]["Type"])
        return ""

    def _nodes_of(self, stack: str, value: Any) -> list[Key]:
        return sorted({self.node_of[r] for r in self.refs(stack, value) if r in self.node_of})

    def _alarm(self, stack: str, name: str) -> Key | None:
        found = self.physical.get(("AWS::CloudWatch::Alarm", f"{self.regions.get(stack, '')}/{name}"))
        return self.node_of.get(found) if found else None

    # --- nodes ------------------------------------------------------------------------------

    def _add(
        self, key: Key, label: str, shape: str, home: str, *, resource: tuple[str, str] | None = None
    ) -> Key:
        self.labels.setdefault(key, label)
        self.shapes.setdefault(key, shape)
        self.homes.setdefault(key, home)
        if resource:
            self.node_of[resource] = key
        return key

    def _group(self, stack: str, what: str, member: str, shape: str, resource: tuple[str, str]) -> Key:
        key = ("group", stack, what)
        self.members[key].append(member)
        return self._add(key, what, shape, stack, resource=resource)

    def _nodes(self) -> None:
        for stack, lid, resource in self._resources(self.stacks):  # first: services are drawn inside
            if resource["Type"] == "AWS::ECS::Cluster":
                self.node_of[(stack, lid)] = ("res", stack, lid)
                self.labels[("res", stack, lid)] = f"ECS cluster {resource['Properties']['ClusterName']}"
        colours = self._colours()
        guarded = self._guarded_alarms()
        for stack, lid, resource in self._resources(self.stacks):
            kind, props, where = resource["Type"], resource.get("Properties", {}), (stack, lid)
            key: Key = ("res", stack, lid)
            if kind == "AWS::EC2::VPC":
                self._add(key, f"VPC {props.get('CidrBlock', '')}", "box", stack, resource=where)
            elif kind == "AWS::EC2::Subnet":
                tags = {t["Key"]: t["Value"] for t in props.get("Tags", [])}
                self._group(stack, "subnets", tags.get("aws-cdk:subnet-type", "?").lower(), "box", where)
            elif kind == "AWS::EC2::NatGateway":
                self._group(stack, "NAT gateways", "NAT gateway", "box", where)
            elif kind == "AWS::EC2::VPCEndpoint" and props.get("VpcEndpointType") == "Interface":
                service = str(props.get("ServiceName", "")).split(".", 3)[-1]
                self._group(stack, "interface endpoints", service, "box", where)
            elif kind == "AWS::EC2::VPCEndpoint":
                self._add(key, "S3 gateway endpoint", "box", stack, resource=where)
            elif kind == "AWS::EC2::FlowLog":
                for log_group in self.refs(stack, props.get("LogGroupName")):
                    name = self.templates[log_group[0]]["Resources"][log_group[1]]["Properties"][
                        "LogGroupName"
                    ]
                    self._add(
                        ("res", *log_group), f"flow logs<br/>{name}", "store", stack, resource=log_group
                    )
            elif kind == "AWS::RDS::DBInstance":
                label = (
                    f"PostgreSQL {props.get('EngineVersion', '')}<br/>{props['DBInstanceIdentifier']}<br/>"
                    f"{props.get('DBInstanceClass', '')}{' · Multi-AZ' if props.get('MultiAZ') else ''}"
                )
                self._add(key, label, "store", stack, resource=where)
            elif kind == "AWS::RDS::DBProxy":
                self._add(key, f"RDS Proxy {props['DBProxyName']}", "box", stack, resource=where)
            elif kind == "AWS::Backup::BackupVault":
                lock = " · Vault Lock" if props.get("LockConfiguration") else ""
                self._add(
                    key, f"backup vault {props['BackupVaultName']}{lock}", "store", stack, resource=where
                )
            elif kind == "AWS::S3::Bucket":
                # A bucket CloudFormation names (the audit trail's) by its logical ID's stem.
                label = (
                    _bucket(props["BucketName"])
                    if "BucketName" in props
                    else re.sub(r"[0-9A-F]{8}$", "", lid)
                )
                self._add(key, f"S3 {label}", "store", stack, resource=where)
            elif kind == "AWS::SecretsManager::Secret":
                self._add(key, f"secret {props['Name']}", "store", stack, resource=where)
            elif kind == "AWS::SecretsManager::SecretTargetAttachment":
                for secret in self.refs(stack, props["SecretId"]):
                    self.node_of[where] = ("res", *secret)
            elif kind == "AWS::Lambda::Function" and "FunctionName" in props:
                self._add(key, f"λ {props['FunctionName']}", "function", stack, resource=where)
            elif kind == "AWS::SNS::Topic":
                self._add(key, f"SNS {props.get('TopicName', lid)}", "box", stack, resource=where)
            elif kind == "AWS::SSM::Parameter":
                self._add(key, f"SSM {props['Name']}", "store", stack, resource=where)
            elif kind == "AWS::ECR::Repository":
                self._group(stack, "ECR repositories", props["RepositoryName"], "store", where)
            elif kind == "AWS::ECR::RepositoryCreationTemplate":
                applied = ", ".join(props.get("AppliedFor", []))
                self._add(
                    key, f"ECR creation template<br/>for {applied.lower()}", "box", stack, resource=where
                )
            elif kind == "AWS::ECS::Service":
                strategy = props.get("DeploymentConfiguration", {}).get("Strategy", "ROLLING")
                strategy = strategy.lower().replace("blue_green", "blue/green")
                count = props.get("DesiredCount", "?")
                label = f"ECS service {props['ServiceName']}<br/>{count} tasks · {strategy}"
                self._add(key, label, "box", stack, resource=where)
                cluster = self._nodes_of(stack, props.get("Cluster"))
                self.homes[key] = f"{stack}/{cluster[0][2]}" if cluster else stack
            elif kind == "AWS::ECS::TaskDefinition" and not self._run_by_service(stack, lid):
                self._add(key, f"one-off task {props['Family']}", "box", stack, resource=where)
            elif kind == "AWS::ElasticLoadBalancingV2::LoadBalancer":
                self._add(
                    key, f"ALB {props['Name']}<br/>{props.get('Scheme', '')}", "box", stack, resource=where
                )
            elif kind == "AWS::ElasticLoadBalancingV2::Listener":
                self._add(key, self._listener(stack, props), "box", stack, resource=where)
            elif kind == "AWS::ElasticLoadBalancingV2::TargetGroup":
                colour = f" · {colours[where]}" if where in colours else ""
                self._add(key, f"target group :{props.get('Port', '')}{colour}", "box", stack, resource=where)
            elif kind == "AWS::WAFv2::WebACL":
                self._add(key, f"WAF web ACL {props['Name']}", "box", stack, resource=where)
            elif kind == "AWS::CloudWatch::Alarm" and where in guarded:
                name = str(props.get("AlarmName", ""))
                self._group(
                    stack, f"deployment alarms of {guarded[where]}", name.rsplit("-", 1)[-1], "alarm", where
                )
            elif kind == "AWS::CloudWatch::Alarm" and (
                severity := SEVERITY.search(str(props.get("AlarmName", "")))
            ):
                # The catalogue's alarms (config/alarms.py), one group per severity.
                self._group(stack, f"{severity.group(1)} alarms", lid, "alarm", where)
            elif kind == "AWS::CloudWatch::Alarm":
                self._group(stack, "scaling alarms", lid, "alarm", where)
            elif kind == "AWS::ApplicationAutoScaling::ScalableTarget":
                label = f"auto scaling<br/>{props['MinCapacity']} to {props['MaxCapacity']} tasks"
                self._add(key, label, "box", stack, resource=where)
            elif kind == "AWS::SecretsManager::RotationSchedule" and "HostedRotationLambda" in props:
                hosted = props["HostedRotationLambda"]
                self._group(stack, "hosted rotation", hosted.get("RotationType", ""), "function", where)
                for security_group in self.refs(stack, hosted.get("VpcSecurityGroupIds")):
                    self.owners[security_group].add(("group", stack, "hosted rotation"))
        for stack, lid, resource in self._resources(self.stacks):  # scaling policies act through their target
            if resource["Type"] == "AWS::ApplicationAutoScaling::ScalingPolicy":
                for scaled in self._nodes_of(stack, resource["Properties"].get("ScalingTargetId")):
                    self.node_of[(stack, lid)] = scaled
        self._collapse_labels()
        self._security_group_owners()

    def _collapse_labels(self) -> None:
        for key, members in self.members.items():
            what, count = key[2], len(members)
            if count == 1:
                what = what.replace("gateways", "gateway")
            if what == "subnets":
                counts = {m: members.count(m) for m in sorted(set(members))}
                self.labels[key] = f"{count} subnets<br/>" + " · ".join(f"{n} {m}" for m, n in counts.items())
            elif what.startswith("deployment alarms"):
                self.labels[key] = f"{count} {what}<br/>" + " · ".join(sorted(members))
            elif what == "hosted rotation":
                self.labels[key] = (
                    f"hosted rotation of {count} secrets<br/>{' · '.join(sorted(set(members)))}"
                )
            elif what in ("ECR repositories", "interface endpoints"):
                self.labels[key] = f"{count} {what}<br/>" + " · ".join(sorted(members))
            else:
                self.labels[key] = f"{count} {what}"

    def _colours(self) -> dict[tuple[str, str], str]:
        """Target groups a blue/green service uses: its production one (blue) and alternate (green)."""
        found = {}
        for stack, _, resource in self._resources(self.stacks):
            if resource["Type"] == "AWS::ECS::Service":
                for balancer in resource["Properties"].get("LoadBalancers", []):
                    alternate = balancer.get("AdvancedConfiguration", {}).get("AlternateTargetGroupArn")
                    for target in self.refs(stack, balancer.get("TargetGroupArn")):
                        found[target] = "blue" if alternate else "primary"
                    for target in self.refs(stack, alternate):
                        found[target] = "green"
        return found

    def _guarded_alarms(self) -> dict[tuple[str, str], str]:
        """Deployment alarms, by the service whose deployments they roll back."""
        found = {}
        for stack, _, resource in self._resources(self.stacks):
            if resource["Type"] == "AWS::ECS::Service":
                props = resource["Properties"]
                for name in props.get("DeploymentConfiguration", {}).get("Alarms", {}).get("AlarmNames", []):
                    alarm = self.physical.get(
                        ("AWS::CloudWatch::Alarm", f"{self.regions.get(stack, '')}/{name}")
                    )
                    if alarm:
                        found[alarm] = props["ServiceName"]
        return found

    def _run_by_service(self, stack: str, task: str) -> bool:
        return any(
            r["Type"] == "AWS::ECS::Service"
            and (stack, task) in set(self.refs(stack, r["Properties"]["TaskDefinition"]))
            for r in self.templates[stack]["Resources"].values()
        )

    def _listener(self, stack: str, props: Mapping[str, Any]) -> str:
        label = f"{props.get('Protocol', '')} :{props.get('Port', '')}"
        for action in props.get("DefaultActions", []):
            if action.get("Type") == "redirect":
                redirect = action["RedirectConfig"]
                label += f"<br/>redirect to {redirect.get('Protocol', '')} :{redirect.get('Port', '')}"
        for certificate in props.get("Certificates", []):
            for found in self.refs(stack, certificate.get("CertificateArn")):
                domain = self.templates[found[0]]["Resources"][found[1]]["Properties"].get("DomainName")
                label += f"<br/>certificate {domain}"
        return label

    def _security_group_owners(self) -> None:
        """Which drawn nodes each security group is attached to."""
        attached = (
            ("AWS::ECS::Service", ("NetworkConfiguration", "AwsvpcConfiguration", "SecurityGroups")),
            ("AWS::ElasticLoadBalancingV2::LoadBalancer", ("SecurityGroups",)),
            ("AWS::RDS::DBProxy", ("VpcSecurityGroupIds",)),
            ("AWS::RDS::DBInstance", ("VPCSecurityGroups",)),
            ("AWS::Lambda::Function", ("VpcConfig", "SecurityGroupIds")),
            ("AWS::EC2::VPCEndpoint", ("SecurityGroupIds",)),
        )
        for stack, lid, resource in self._resources(self.stacks):
            for resource_type, path in attached:
                value: Any = resource.get("Properties", {})
                for step in path:
                    value = value.get(step, {}) if isinstance(value, dict) else {}
                if resource["Type"] == resource_type and (stack, lid) in self.node_of:
                    for group in self.refs(stack, value):
                        self.owners[group].add(self.node_of[(stack, lid)])
        # One-off tasks have no attachment in a template: RunTask passes the groups the stack's
        # outputs name beside the task definition (outputs with the same description).
        for stack in self.stacks:
            by_purpose: dict[str, list[Any]] = defaultdict(list)
            for output in self.templates[stack].get("Outputs", {}).values():
                by_purpose[output.get("Description", "")].append(output["Value"])
            for values in by_purpose.values():
                tasks = [self.node_of[r] for r in self.refs(stack, values) if r in self.node_of]
                tasks = [t for t in tasks if self.labels[t].startswith("one-off task")]
                for task in tasks:
                    for group in self.refs(stack, values):
                        if (
                            self.templates[group[0]]["Resources"][group[1]]["Type"]
                            == "AWS::EC2::SecurityGroup"
                        ):
                            self.owners[group].add(task)

    # --- edges ------------------------------------------------------------------------------

    def _edge(self, source: Key, target: Key, kind: str, label: str = "") -> None:
        if source == target:
            return
        previous_kind, labels = self.edges.get((source, target), (kind, set()))
        strongest = min(previous_kind, kind, key=list(ARROWS).index)
        self.edges[(source, target)] = (strongest, labels | ({label} if label else set()))

    def _edges(self) -> None:
        for stack, lid, resource in self._resources(self.stacks):
            kind, props = resource["Type"], resource.get("Properties", {})
            node = self.node_of.get((stack, lid))
            handler = getattr(self, "_on_" + re.sub(r"\W", "_", kind), None)
            if handler:
                handler(stack, lid, props, node)

    def _on_AWS__EC2__SecurityGroupIngress(self, stack: str, lid: str, props: Any, node: Key | None) -> None:
        self._ingress(stack, props, props.get("GroupId"))

    def _on_AWS__EC2__SecurityGroup(self, stack: str, lid: str, props: Any, node: Key | None) -> None:
        for rule in props.get("SecurityGroupIngress", []):
            self._ingress(stack, rule, {"Ref": lid})

    def _ingress(self, stack: str, rule: Mapping[str, Any], group: Any) -> None:
        port = rule.get("FromPort")
        label = f":{port}" if isinstance(port, int) else ""
        targets = {o for g in self.refs(stack, group) for o in self.owners.get(g, set())}
        sources = {
            o for g in self.refs(stack, rule.get("SourceSecurityGroupId")) for o in self.owners.get(g, set())
        }
        if rule.get("CidrIp") == "0.0.0.0/0":
            sources.add(INTERNET)
        for source in sorted(sources):
            for target in sorted(targets):
                if (
                    self._type(source) == "AWS::ElasticLoadBalancingV2::LoadBalancer"
                    and self._type(target) == "AWS::ECS::Service"
                ):
                    continue  # drawn through the listener and target group
                self._edge(source, target, "traffic", label)

    def _on_AWS__ElasticLoadBalancingV2__Listener(
        self, stack: str, lid: str, props: Any, node: Key | None
    ) -> None:
        for balancer in self._nodes_of(stack, props.get("LoadBalancerArn")):
            if node:
                self._edge(balancer, node, "traffic")
        for target in self._nodes_of(
            stack, [a.get("TargetGroupArn") for a in props.get("DefaultActions", [])]
        ):
            if node:
                self._edge(node, target, "traffic")

    def _on_AWS__ElasticLoadBalancingV2__ListenerRule(
        self, stack: str, lid: str, props: Any, node: Key | None
    ) -> None:
        for listener in self._nodes_of(stack, props.get("ListenerArn")):
            for target in self._nodes_of(stack, props.get("Actions")):
                self._edge(listener, target, "traffic")

    def _on_AWS__ElasticLoadBalancingV2__LoadBalancer(
        self, stack: str, lid: str, props: Any, node: Key | None
    ) -> None:
        for attribute in props.get("LoadBalancerAttributes", []):
            if attribute["Key"] == "access_logs.s3.bucket" and node:
                for bucket in self._nodes_of(stack, attribute["Value"]):
                    self._edge(node, bucket, "data", "access logs")

    def _on_AWS__WAFv2__WebACLAssociation(self, stack: str, lid: str, props: Any, node: Key | None) -> None:
        for acl in self._nodes_of(stack, props.get("WebACLArn")):
            for protected in self._nodes_of(stack, props.get("ResourceArn")):
                self._edge(acl, protected, "control", "inspects")

    def _on_AWS__ECS__Service(self, stack: str, lid: str, props: Any, node: Key | None) -> None:
        assert node is not None
        for balancer in props.get("LoadBalancers", []):
            for target in self._nodes_of(
                stack, [balancer.get("TargetGroupArn"), balancer.get("AdvancedConfiguration")]
            ):
                self._edge(target, node, "traffic")
        deployment = props.get("DeploymentConfiguration", {})
        for name in deployment.get("Alarms", {}).get("AlarmNames", []):
            if alarm := self._alarm(stack, name):
                self._edge(alarm, node, "control", "roll back")
        for hook in deployment.get("LifecycleHooks", []):
            for function in self._nodes_of(stack, hook.get("HookTargetArn")):
                self._edge(node, function, "control", "lifecycle hook")
        for task in self.refs(stack, props.get("TaskDefinition")):
            self._task(task, node)

    def _on_AWS__ECS__TaskDefinition(self, stack: str, lid: str, props: Any, node: Key | None) -> None:
        if node:  # a one-off task; a service's task definition is drawn as the service
            self._task((stack, lid), node)

    def _task(self, task: tuple[str, str], node: Key) -> None:
        stack, props = task[0], self.templates[task[0]]["Resources"][task[1]]["Properties"]
        for container in props.get("ContainerDefinitions", []):
            for variable in container.get("Environment", []):
                for target in self._nodes_of(stack, variable["Value"]):
                    self._edge(node, target, "data", variable["Name"])
            for secret in container.get("Secrets", []):
                for target in self._nodes_of(stack, secret["ValueFrom"]):
                    self._edge(target, node, "data", "secret")
        for role, direction in (("TaskRoleArn", "out"), ("ExecutionRoleArn", "in")):
            for statement_resource in self._policy_resources(stack, props.get(role)):
                for target in self._nodes_of(stack, statement_resource):
                    if direction == "out" and self._type(target) in ("AWS::S3::Bucket", "AWS::RDS::DBProxy"):
                        self._edge(node, target, "data", "IAM")
                    elif direction == "in" and self._type(target) == "AWS::ECR::Repository":
                        self._edge(target, node, "data", "image")

    def _policy_resources(self, stack: str, role: Any) -> Iterator[Any]:
        """The statements' resources of every policy attached to `role`."""
        roles = set(self.refs(stack, role))
        for policy_stack, _, resource in self._resources([stack]):
            if resource["Type"] == "AWS::IAM::Policy" and roles & set(
                self.refs(policy_stack, resource["Properties"]["Roles"])
            ):
                for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                    yield statement.get("Resource")

    def _on_AWS__Lambda__Function(self, stack: str, lid: str, props: Any, node: Key | None) -> None:
        if node:
            for name, value in sorted(props.get("Environment", {}).get("Variables", {}).items()):
                for target in self._nodes_of(stack, value):
                    self._edge(node, target, "control", name)

    def _on_AWS__CloudWatch__Alarm(self, stack: str, lid: str, props: Any, node: Key | None) -> None:
        if node is None:
            return
        for source in self._nodes_of(stack, [props.get("Dimensions"), props.get("Metrics")]):
            if self.labels[source].startswith("ALB "):
                self._edge(source, node, "control", "metrics")
        for action in self._nodes_of(stack, props.get("AlarmActions")):
            notify = self._type(action) == "AWS::SNS::Topic"
            self._edge(node, action, "control", "notify" if notify else "scale")
        # A topic of another stack named by its ARN (the deployment alarms' P1 topic).
        for name in sns_names(props.get("AlarmActions")):
            found = self.physical.get(("AWS::SNS::Topic", f"{self.regions.get(stack, '')}/{name}"))
            if found and found in self.node_of:
                self._edge(node, self.node_of[found], "control", "notify")

    def _on_AWS__ApplicationAutoScaling__ScalableTarget(
        self, stack: str, lid: str, props: Any, node: Key | None
    ) -> None:
        for service in self._nodes_of(stack, props.get("ResourceId")):
            if node and self.labels[service].startswith("ECS service"):
                self._edge(node, service, "control", "desired count")

    def _on_AWS__SecretsManager__RotationSchedule(
        self, stack: str, lid: str, props: Any, node: Key | None
    ) -> None:
        rate = re.sub(
            r"rate\((.*)\)", r"every \1", props.get("RotationRules", {}).get("ScheduleExpression", "")
        )
        rotators = self._nodes_of(stack, props.get("RotationLambdaARN")) or ([node] if node else [])
        for secret in self._nodes_of(stack, props.get("SecretId")):
            for rotator in rotators:
                self._edge(rotator, secret, "control", f"rotates {rate}".strip())

    def _on_AWS__RDS__DBProxyTargetGroup(self, stack: str, lid: str, props: Any, node: Key | None) -> None:
        for proxy in self._nodes_of(stack, props.get("DBProxyName")):
            for instance in self._nodes_of(stack, props.get("DBInstanceIdentifiers")):
                self._edge(proxy, instance, "traffic", "IAM auth")

    def _on_Custom__DatabaseBootstrap(self, stack: str, lid: str, props: Any, node: Key | None) -> None:
        for function in self._nodes_of(stack, props.get("ServiceToken")):
            for instance in self._nodes_of(stack, props.get("InstanceIdentifier")):
                self._edge(function, instance, "control", "roles and grants")

    def _on_AWS__EC2__FlowLog(self, stack: str, lid: str, props: Any, node: Key | None) -> None:
        for vpc in self._nodes_of(stack, props.get("ResourceId")):
            for group in self._nodes_of(stack, props.get("LogGroupName")):
                self._edge(vpc, group, "data", "flow logs")

    def _on_AWS__S3__Bucket(self, stack: str, lid: str, props: Any, node: Key | None) -> None:
        assert node is not None
        for target in self._nodes_of(
            stack, props.get("LoggingConfiguration", {}).get("DestinationBucketName")
        ):
            self._edge(node, target, "data", "access logs")
        for rule in props.get("ReplicationConfiguration", {}).get("Rules", []):
            for target in self._nodes_of(stack, rule["Destination"]["Bucket"]):
                self._edge(node, target, "backup", "replication")

    def _on_AWS__Backup__BackupSelection(self, stack: str, lid: str, props: Any, node: Key | None) -> None:
        selection = props["BackupSelection"]
        for plan_stack, plan_lid in self.refs(stack, props["BackupPlanId"]):
            plan = self.templates[plan_stack]["Resources"][plan_lid]["Properties"]["BackupPlan"]
            rules: dict[tuple[Key, Key], list[str]] = defaultdict(list)
            for rule in plan["BackupPlanRule"]:
                for vault in self._nodes_of(plan_stack, rule["TargetBackupVault"]):
                    for selected in self._nodes_of(stack, selection.get("Resources")):
                        rules[(selected, vault)].append(rule["RuleName"])
                    for action in rule.get("CopyActions", []):
                        for copy in self._nodes_of(plan_stack, action["DestinationBackupVaultArn"]):
                            rules[(vault, copy)].append(rule["RuleName"])
            for (source, target), names in sorted(rules.items()):
                copying = self.labels[source].startswith("backup vault")
                what = "copy" if copying else f"AWS Backup {plan['BackupPlanName']}"
                self._edge(source, target, "backup", f"{what}: {', '.join(names)}")

    # Replicas that AWS keeps in another region: no template there defines them.
    def _replica(self, region: str, what: str, member: str) -> Key:
        key = ("replica", region, what)
        self.members[key].append(member)
        names = " · ".join(sorted(self.members[key]))
        count = len(self.members[key])
        self.labels[key] = f"{count} {what if count > 1 else what.replace('replicas', 'replica')}<br/>{names}"
        self.shapes[key] = "store"
        self.homes[key] = f"replicas in {region}"
        return key

    def _on_AWS__RDS__DBInstance(self, stack: str, lid: str, props: Any, node: Key | None) -> None:
        assert node is not None
        if region := props.get("AutomaticBackupReplicationRegion"):
            replica = self._replica(region, "automated-backup replicas", props["DBInstanceIdentifier"])
            self._edge(node, replica, "backup", "automated backups")

    def _on_AWS__SecretsManager__Secret(self, stack: str, lid: str, props: Any, node: Key | None) -> None:
        assert node is not None
        for replica in props.get("ReplicaRegions", []):
            self._edge(
                node, self._replica(replica["Region"], "secret replicas", props["Name"]), "backup", "replica"
            )

    def _on_AWS__ECR__ReplicationConfiguration(
        self, stack: str, lid: str, props: Any, node: Key | None
    ) -> None:
        repositories = ("group", stack, "ECR repositories")
        for rule in props["ReplicationConfiguration"]["Rules"]:
            prefixes = [f["Filter"] for f in rule.get("RepositoryFilters", [])]
            for destination in rule["Destinations"]:
                replica: Key | None = None
                for name in sorted(self.members.get(repositories, [])):
                    if any(name.startswith(p) for p in prefixes):
                        replica = self._replica(destination["Region"], "image repositories", name)
                if replica:
                    self._edge(repositories, replica, "backup", "replication")
                    for template_stack, template_lid, resource in self._resources(self.stacks):
                        in_region = self.regions.get(template_stack) == destination["Region"]
                        if resource["Type"] == "AWS::ECR::RepositoryCreationTemplate" and in_region:
                            self._edge(("res", template_stack, template_lid), replica, "control", "creates")

    # --- views ------------------------------------------------------------------------------

    def mermaid(
        self, keep: set[Key], edges: Sequence[tuple[Key, Key]], regions: Mapping[str, str] | None
    ) -> str:
        """A flowchart of the nodes in `keep`, grouped by stack (and region, if given)."""
        lines = ["flowchart LR"]
        homes: dict[str, list[Key]] = defaultdict(list)
        for key in sorted(keep):
            homes[self.homes[key]].append(key)

        def block(home: str, indent: str) -> None:
            for key in homes.get(home, []):
                lines.append(indent + _id(key) + SHAPES[self.shapes[key]].format(_escape(self.labels[key])))
            for inner in sorted(h for h in homes if h.startswith(f"{home}/")):
                cluster = ("res", *inner.split("/", 1))
                lines.append(f'{indent}subgraph {_id(cluster)}["{_escape(self.labels[cluster])}"]')
                block(inner, indent + "  ")
                lines.append(f"{indent}end")

        region_of = {
            **self.regions,
            **{h: h.rsplit(" ", 1)[-1] for h in homes if h.startswith("replicas in")},
        }
        outer = sorted({h.split("/")[0] for h in homes if h})
        for region in sorted({region_of[h] for h in outer}) if regions else [""]:
            indent = "  "
            if regions:
                lines.append(f'  subgraph {_id(("region", region))}["{region} · {regions[region]}"]')
                indent = "    "
            for home in (h for h in outer if not regions or region_of[h] == region):
                lines.append(f'{indent}subgraph {_id(("home", home))}["{home}"]')
                block(home, indent + "  ")
                lines.append(f"{indent}end")
            if regions:
                lines.append("  end")
        block("", "  ")
        for source, target in edges:
            kind, labels = self.edges[(source, target)]
            text = f'|"{_escape(" · ".join(sorted(labels)))}"|' if labels else ""
            lines.append(f"  {_id(source)} {ARROWS[kind]}{text} {_id(target)}")
        return "\n".join(lines)


def _bucket(name: str) -> str:
    """A bucket's name with the account as ACCOUNT (names carry it; the diagram need not)."""
    return re.sub(r"-\d{12}-", "-ACCOUNT-", name)


def _escape(text: str) -> str:
    return text.replace('"', "#quot;")


def _id(key: Key) -> str:
    return re.sub(r"\W+", "_", "_".join(key).replace("clever-better-", "")).strip("_")


def render(templates: Mapping[str, Template]) -> str:
    """docs/ARCHITECTURE.md for these templates (the whole app's, or production's alone)."""
    primary, dr, region, dr_region = _views()
    regions = {**dict.fromkeys(primary, region), **dict.fromkeys(dr, dr_region)}
    production = Model(templates, primary, regions)
    keep = {k for k in production.labels if k[0] != "replica" and k[1:2] != ("region",)}
    keep = {k for k in keep if k == INTERNET or k[1] in primary} & set(production.homes)
    edges = sorted(pair for pair in production.edges if pair[0] in keep and pair[1] in keep)
    pair = Model(templates, primary + dr, regions)
    replicated = {k for (s, t), (kind, _) in pair.edges.items() if kind == "backup" for k in (s, t)}
    dr_keep = {k for k in pair.homes if k != INTERNET and (k in replicated or regions.get(k[1]) == dr_region)}
    dr_keep |= {k for k in pair.homes if k[0] == "replica"}
    dr_edges = sorted(
        p for p, (kind, _) in pair.edges.items()
        if p[0] in dr_keep and p[1] in dr_keep and (kind == "backup" or regions.get(p[0][1]) == dr_region)
    )  # fmt: skip
    counts = [
        f"| `{stack}` | {regions[stack]} | {len(templates[stack]['Resources'])} |" for stack in primary + dr
    ]
    return TEMPLATE.format(
        region=region,
        dr_region=dr_region,
        production=production.mermaid(keep, edges, None),
        pair=pair.mermaid(dr_keep, dr_edges, {region: "production", dr_region: "production-dr"}),
        counts="\n".join(counts),
        notifications=_notifications(templates, primary),
    )


def _notifications(templates: Mapping[str, Template], stacks: Sequence[str]) -> str:
    """Which alarms tell a person (an action on an SNS topic), from the templates."""
    topics = {
        lid for s in stacks for lid, r in templates[s]["Resources"].items() if r["Type"] == "AWS::SNS::Topic"
    }
    alarms = [
        r.get("Properties", {})
        for s in stacks
        for r in templates[s]["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    ]
    notifying = [
        a
        for a in alarms
        if topics & set(re.findall(r'"Ref": "(\w+)"', json.dumps(a.get("AlarmActions", []))))
        or sns_names(a.get("AlarmActions"))
    ]
    if not notifying:
        return f"None of the {len(alarms)} alarms notifies anyone: no alarm action names an SNS topic."
    return f"{len(notifying)} of the {len(alarms)} alarms notify an SNS topic (drawn as `notify`)."


def sns_names(actions: Any) -> list[str]:
    """Topic names of alarm actions given as an SNS ARN (a string or an Fn::Join of one)."""
    found = []
    for action in actions if isinstance(actions, list) else []:
        text = (
            "".join(p for p in action["Fn::Join"][1] if isinstance(p, str))
            if isinstance(action, dict) and "Fn::Join" in action
            else action
        )
        if isinstance(text, str) and ":sns:" in text:
            found.append(text.rsplit(":", 1)[-1])
    return found


TEMPLATE = """# Architecture

<!-- Generated by `make diagram` (tools/diagram.py) from the synthesized app: do not edit.
     `make test` fails when this file is stale (tests/unit/test_diagram.py). -->

Generated from production's synthesized templates by `make diagram`
([`tools/diagram.py`](../tools/diagram.py)); nothing here is drawn by hand. Each box is a
resource (or several of one kind, counted), grouped by stack; each arrow is a reference
between them in the templates. Thick arrows: traffic (security-group rules; load balancer,
listener, target group, service). Plain arrows: data (task environment and secrets, IAM
policies, logs). Dotted arrows: backups and replication, and control (alarms, hooks,
rotation, scaling). Keys, IAM roles, log groups other than flow logs, route tables and
security groups themselves are left out; security groups appear as the arrows they allow.
{notifications}
dev and staging are built from the same stacks (differences: README, "Configuration reference").

## Production ({region})

```mermaid
{production}
```

## Production and its DR region ({region} → {dr_region})

What production copies into {dr_region}: the DR stacks, and the replicas AWS keeps there
for the primary region's database, secrets and image repositories (no template of the DR
region defines those; the primary's templates ask for them).

```mermaid
{pair}
```

## Stacks

| stack | region | resources |
|---|---|---|
{counts}
"""


def read_assembly(directory: Path) -> dict[str, dict[str, Any]]:
    """Every stack's template in a synthesized assembly (cdk.out or a deploy's cdk.out.ENV)."""
    return templates(directory)


def synthesize_production(outdir: Path) -> dict[str, dict[str, Any]]:
    """Production and its DR stage, offline, as `cdk synth` would run app.py."""
    synthesize(outdir, context={"environments": "production"})
    return read_assembly(outdir)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/diagram.py", description="Regenerate docs/ARCHITECTURE.md")
    parser.add_argument(
        "--assembly", type=Path, help="a synthesized assembly to read instead of synthesizing"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/ARCHITECTURE.md is stale")
    args = parser.parse_args(argv)
    if args.assembly:
        if not (args.assembly / "manifest.json").is_file():
            raise SystemExit(f"error: {args.assembly} is not a cloud assembly (no manifest.json)")
        text = render(read_assembly(args.assembly))
    else:
        with tempfile.TemporaryDirectory() as outdir:
            text = render(synthesize_production(Path(outdir)))
    current = OUTPUT.read_text() if OUTPUT.exists() else ""
    relative = OUTPUT.relative_to(ROOT) if OUTPUT.is_relative_to(ROOT) else OUTPUT
    if args.check or os.environ.get("DRY_RUN"):
        diff = list(
            difflib.unified_diff(
                current.splitlines(), text.splitlines(), f"a/{relative}", f"b/{relative}", lineterm=""
            )
        )
        print("\n".join(diff) if diff else f"{relative} is up to date")
        return 1 if args.check and diff else 0
    if text == current:
        print(f"{relative} is up to date")
    else:
        OUTPUT.write_text(text)
        print(f"wrote {relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
