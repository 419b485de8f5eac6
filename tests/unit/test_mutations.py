"""The promises issue 11 found unguarded, each broken on purpose: a named non-snapshot test
must fail. A snapshot shows that something changed; these show which promise broke.

Two kinds of mutation, both fast enough for every `make test`:

* in source: one exact text replaced in a copy of the repository's tracked files, and the
  named tests run there (tests that need no synthesis: configuration, helpers);
* in templates: the session's synthesized templates (or acknowledgements), deep-copied, with
  one change the product code could make; the named property test is called on the copy.

Each mutation first shows its test passing on the unmutated input, so a failure is the
mutation's doing.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT
from tests.unit import test_properties as properties
from tests.unit import test_quality_gates as quality_gates
from tests.unit import test_services as services

Templates = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class SourceMutation:
    """Replace `old` (found exactly once) by `new` in `path`; then `tests` must fail."""

    path: str
    old: str
    new: str
    tests: tuple[str, ...]


@dataclass(frozen=True)
class TemplateMutation:
    """`mutate` changes a deep copy of the templates; `check` (a property test's body) must fail."""

    mutate: Callable[[Templates], None]
    check: Callable[[Templates], None]


DEV = "clever-better-dev-services"


def _dev(templates: Templates) -> dict[str, Any]:
    resources: dict[str, Any] = templates[DEV]["Resources"]
    return resources


def _bot_task_role(templates: Templates) -> str:
    (definition,) = [
        r["Properties"]
        for r in _dev(templates).values()
        if r["Type"] == "AWS::ECS::TaskDefinition" and r["Properties"]["Family"] == "clever-better-dev-bot"
    ]
    return str(definition["TaskRoleArn"]["Fn::GetAtt"][0])


def _add(templates: Templates, logical_id: str, kind: str, properties: dict[str, Any]) -> None:
    _dev(templates)[logical_id] = {
        "Type": kind,
        "Properties": properties,
        "Metadata": {"aws:cdk:path": f"dev/services/{logical_id}/Resource"},
    }


def _open_public_load_balancer(templates: Templates) -> None:
    """Issue 11, found 2: the public load balancer's group open to all TCP from anywhere."""
    (group,) = [g for stack, g in properties._public_groups(templates) if stack == DEV]
    _add(
        templates,
        "MutationIngress",
        "AWS::EC2::SecurityGroupIngress",
        {"GroupId": {"Fn::GetAtt": [group, "GroupId"]}, "IpProtocol": "tcp", "FromPort": 0,
         "ToPort": 65535, "CidrIp": "0.0.0.0/0"},
    )  # fmt: skip


def _open_a_service_to_ipv6(templates: Templates) -> None:
    public = {g for stack, g in properties._public_groups(templates) if stack == DEV}
    group = next(
        r for k, r in _dev(templates).items() if r["Type"] == "AWS::EC2::SecurityGroup" and k not in public
    )
    group["Properties"].setdefault("SecurityGroupIngress", []).append(
        {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "CidrIpv6": "::/0"}
    )


def _s3_star_managed_policy_on_a_task_role(templates: Templates) -> None:
    """Issue 11, found 3: `s3:*` in a managed policy, which the old task-role test never read."""
    statement = {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::mutation"}
    _add(
        templates,
        "MutationPolicy",
        "AWS::IAM::ManagedPolicy",
        {"PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]},
         "Roles": [{"Ref": _bot_task_role(templates)}]},
    )  # fmt: skip


def _resource_list_star_on_a_task_role(templates: Templates) -> None:
    """Issue 11, found 3: a Resource of ["*"], which a `Resource != "*"` check misses."""
    role = _bot_task_role(templates)
    (policy,) = [
        r
        for r in _dev(templates).values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"].get("Roles", [])
    ]
    policy["Properties"]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["*"]}
    )


def _aws_managed_policy_on_a_task_role(templates: Templates) -> None:
    role = _dev(templates)[_bot_task_role(templates)]["Properties"]
    role.setdefault("ManagedPolicyArns", []).append("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")


def _both(*checks: Callable[[Templates], None]) -> Callable[[Templates], None]:
    """Each check must fail on its own: the mutation is caught by every one of them."""

    def check(templates: Templates) -> None:
        failures = 0
        for each in checks:
            try:
                each(templates)
            except AssertionError:
                failures += 1
        assert failures in (0, len(checks)), f"only {failures} of {len(checks)} checks caught it"
        if failures:
            raise AssertionError("caught")

    return check


def _task_roles(templates: Templates) -> None:
    services.test_task_roles_are_least_privilege(templates, "dev")


TEMPLATE_MUTATIONS: dict[str, TemplateMutation] = {
    "public load balancer open to all TCP": TemplateMutation(
        _open_public_load_balancer,
        _both(
            properties.test_only_the_public_load_balancer_admits_the_internet,
            lambda t: properties.test_test_listener_is_never_open_to_the_internet(t, "dev"),
        ),
    ),
    "service group open to ::/0": TemplateMutation(
        _open_a_service_to_ipv6, properties.test_only_the_public_load_balancer_admits_the_internet
    ),
    "s3:* in a managed policy on a task role": TemplateMutation(
        _s3_star_managed_policy_on_a_task_role,
        _both(properties.test_iam_wildcards_are_only_the_allowed_ones, _task_roles),
    ),
    'Resource ["*"] on a task role': TemplateMutation(
        _resource_list_star_on_a_task_role,
        _both(properties.test_iam_wildcards_are_only_the_allowed_ones, _task_roles),
    ),
    "an AWS managed policy on a task role": TemplateMutation(
        _aws_managed_policy_on_a_task_role,
        _both(properties.test_aws_managed_policies_are_only_the_allowed_ones, _task_roles),
    ),
}
Acknowledgements = list[tuple[str, str, str]]
_SSH = "NIST.800.53.R5::NIST.800.53.R5-EC2RestrictedSSH"
# Issue 11, found 4: a new acknowledgement of a rule already acknowledged elsewhere, on a new
# construct (port 22 opened to the world), passed a pin of rule IDs alone.
ACKNOWLEDGEMENT_MUTATIONS: dict[str, Callable[[Acknowledgements], Acknowledgements]] = {
    "EC2RestrictedSSH acknowledged on a new rule": lambda acks: [
        *acks,
        ("dev/services/Public/Ssh", _SSH, "Operators need SSH during incidents, so it stays open for now."),
    ],
    "a reason reworded": lambda acks: [(p, r, reason + " Reviewed.") for p, r, reason in acks[:1]] + acks[1:],
    "an acknowledgement gone": lambda acks: acks[1:],
}

_BAD = "tests/unit/test_config.py::test_bad_value_names_environment_and_field"
_PROMISED = "tests/unit/test_config.py::test_promised_value"
SOURCE_MUTATIONS: dict[str, SourceMutation] = {
    # Issue 11, found 1: the check that production (and staging) keep deletion protection.
    "deletion protection check deleted": SourceMutation(
        "config/model.py",
        '        cfg.name == "dev" or cfg.deletion_protection,\n',
        "        True,\n",
        (f"{_BAD}[production without deletion protection]", f"{_BAD}[staging without deletion protection]"),
    ),
    "Multi-AZ check deleted": SourceMutation(
        "config/model.py",
        '    check(\n        cfg.database.multi_az,\n        "database.multi_az",',
        '    check(\n        True,\n        "database.multi_az",',
        (f"{_BAD}[production single-AZ database]",),
    ),
    "30-day backup retention check deleted": SourceMutation(
        "config/model.py",
        "        cfg.backup.retention_days >= 30,\n",
        "        True,\n",
        (f"{_BAD}[production backups kept 29 days]",),
    ),
    "02:00 UTC backup check deleted": SourceMutation(
        "config/model.py",
        "        cfg.backup.daily_hour_utc == RUNBOOK_BACKUP_HOUR_UTC,\n",
        "        True,\n",
        (f"{_BAD}[production backup hour other than the runbook's 02:00]",),
    ),
    "rotation period check deleted": SourceMutation(
        "config/model.py",
        "            getattr(cfg.rotation, period) <= days,\n",
        "            True,\n",
        (f"{_BAD}[production admin rotation beyond 30 days]",),
    ),
    "15-minute bake time check deleted": SourceMutation(
        "config/model.py",
        "        cfg.deployment.bake_time_minutes >= 15,\n",
        "        True,\n",
        (f"{_BAD}[production bake time under 15 minutes]",),
    ),
    "production stateful stacks not termination-protected": SourceMutation(
        "config/model.py",
        'termination-protected in production only."""\n        return self.is_production',
        'termination-protected in production only."""\n        return False',
        (f"{_PROMISED}[production-termination_protection-True]",),
    ),
}


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The tracked files as committed or changed in the working tree, with the installs linked."""
    copy_root = tmp_path_factory.mktemp("mutant") / "repo"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = ROOT / name.decode()
        if source.is_file():
            target = copy_root / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    for install in (".venv", "node_modules"):
        os.symlink(ROOT / install, copy_root / install)
    yield copy_root


def _pytest(repository: Path, tests: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        cwd=repository,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_every_mutation_is_listed() -> None:
    """The audit's findings (issue 11), each with at least one mutation here."""
    assert len(SOURCE_MUTATIONS) >= 7 and len(TEMPLATE_MUTATIONS) >= 5 and len(ACKNOWLEDGEMENT_MUTATIONS) >= 3


@pytest.mark.parametrize("name", sorted(SOURCE_MUTATIONS))
def test_source_mutation_fails_its_test(repository: Path, name: str) -> None:
    mutation = SOURCE_MUTATIONS[name]
    path = repository / mutation.path
    original = path.read_text()
    assert original.count(mutation.old) == 1, f"{mutation.path} no longer holds the text {name} changes"
    baseline = _pytest(repository, mutation.tests)
    assert baseline.returncode == 0, baseline.stdout[-2000:]
    path.write_text(original.replace(mutation.old, mutation.new))
    try:
        mutated = _pytest(repository, mutation.tests)
    finally:
        path.write_text(original)
    assert mutated.returncode == 1, f"{name}: {mutation.tests} still pass\n{mutated.stdout[-2000:]}"


@pytest.mark.parametrize("name", sorted(TEMPLATE_MUTATIONS))
def test_template_mutation_fails_its_test(templates: Templates, name: str) -> None:
    mutation = TEMPLATE_MUTATIONS[name]
    mutation.check(templates)
    mutant = copy.deepcopy(templates)
    mutation.mutate(mutant)
    with pytest.raises(AssertionError):
        mutation.check(mutant)


@pytest.mark.parametrize("name", sorted(ACKNOWLEDGEMENT_MUTATIONS))
def test_acknowledgement_mutation_fails_the_pin(app: Any, name: str) -> None:
    acks = quality_gates._acknowledgements(app)
    quality_gates.check_acknowledgements_pinned(acks)
    with pytest.raises(AssertionError):
        quality_gates.check_acknowledgements_pinned(ACKNOWLEDGEMENT_MUTATIONS[name](list(acks)))
