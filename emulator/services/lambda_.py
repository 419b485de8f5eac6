"""Lambda: what CreateFunction refuses, checked before moto creates the function.

* A function in a VPC whose execution role may not manage its network interfaces: Lambda
  creates them with the role and fails CreateFunction with "The provided execution role does
  not have permissions to call CreateNetworkInterface on EC2" (Lambda developer guide, "Giving
  Lambda functions access to resources in an Amazon VPC"). The role's inline and attached
  policies are evaluated for the calls Lambda makes: CreateNetworkInterface in each of the
  function's subnets with its security groups, DescribeNetworkInterfaces, and
  DeleteNetworkInterface of an interface in those subnets; Lambda's own calls carry no
  lambda:SourceFunctionArn.
* A dead-letter queue the execution role may not send to: "The provided execution role does not
  have permissions to call SendMessage on SQS". One whose key the role may not use is accepted
  and loses every failed event, so it is refused here as locally refused
  (emulator.services.sqs).
* A reserved concurrency that would leave the account less unreserved concurrency than Lambda
  keeps (100, or the whole quota where the quota is below 100). The modelled account is a new
  one at Lambda's reduced quota of 10, so any reservation is refused, as it would be there.
"""

from __future__ import annotations

from typing import Any

from moto.awslambda.models import LambdaFunction, lambda_backends
from moto.ec2.models import ec2_backends
from moto.iam.exceptions import NotFoundException
from moto.utilities.utils import get_partition

from emulator.services.base import Fix, Fixes, Models
from emulator.services.iam import allows, backend_for
from emulator.services.refusals import LocallyRefused
from emulator.services.sqs import key_fault, send_message_fault

# A new account's concurrency quota (Lambda's reduced default); Lambda keeps min(100, quota)
# of it unreserved.
ACCOUNT_CONCURRENCY = 10


class InvalidParameterValueException(Exception):
    """Lambda's error code for both refusals."""


def _check_vpc_access(props: dict[str, Any], account_id: str, region_name: str) -> None:
    vpc_config = props.get("VpcConfig") or {}
    subnets = [str(s) for s in vpc_config.get("SubnetIds", [])]
    if not subnets:
        return
    try:
        role = backend_for(account_id, region_name).get_role_by_arn(str(props["Role"]))
    except NotFoundException:
        raise InvalidParameterValueException(
            "The role defined for the function cannot be assumed by Lambda."
        ) from None
    arn = f"arn:{get_partition(region_name)}:ec2:{region_name}:{account_id}"
    ec2 = ec2_backends[account_id][region_name]
    groups = [f"{arn}:security-group/{g}" for g in vpc_config.get("SecurityGroupIds", [])]
    for subnet_id in subnets:
        subnet = f"{arn}:subnet/{subnet_id}"
        context = {
            "aws:Region": region_name,
            "ec2:Region": region_name,
            "ec2:Subnet": subnet,
            "ec2:Vpc": f"{arn}:vpc/{ec2.get_subnet(subnet_id).vpc_id}",
        }
        for action, resources in (
            ("CreateNetworkInterface", [f"{arn}:network-interface/*", subnet, *groups]),
            ("DescribeNetworkInterfaces", ["*"]),
            ("DeleteNetworkInterface", [f"{arn}:network-interface/*"]),
        ):
            if not allows(role, f"ec2:{action}", resources, context):
                raise InvalidParameterValueException(
                    f"The provided execution role does not have permissions to call {action} on EC2"
                )


def _check_dead_letter(props: dict[str, Any], account_id: str, region_name: str) -> None:
    target = str((props.get("DeadLetterConfig") or {}).get("TargetArn") or "")
    if ":sqs:" not in target:
        return
    try:
        role = backend_for(account_id, region_name).get_role_by_arn(str(props["Role"]))
    except NotFoundException:
        raise InvalidParameterValueException(
            "The role defined for the function cannot be assumed by Lambda."
        ) from None
    if send_message_fault(role, target) is not None:
        raise InvalidParameterValueException(
            "The provided execution role does not have permissions to call SendMessage on SQS"
        )
    fault = key_fault(role, target)
    if fault is not None:
        raise LocallyRefused(
            f"dead-letter queue of {props.get('FunctionName')}: {fault}",
            "Lambda drops each failed event it cannot encrypt for the queue",
        )


def _check_concurrency(name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
    reserved = props.get("ReservedConcurrentExecutions")
    if reserved is None:
        return
    others = sum(
        int(f.reserved_concurrency)
        for f in lambda_backends[account_id][region_name].list_functions()
        if f.reserved_concurrency and f.function_name != name
    )
    minimum = min(100, ACCOUNT_CONCURRENCY)
    if ACCOUNT_CONCURRENCY - others - int(reserved) < minimum:
        raise InvalidParameterValueException(
            "Specified ReservedConcurrentExecutions for function decreases account's "
            f"UnreservedConcurrentExecution below its minimum value of [{minimum}]."
        )


def _check_function(name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
    _check_vpc_access(props, account_id, region_name)
    _check_dead_letter(props, account_id, region_name)
    _check_concurrency(str(props.get("FunctionName", name)), props, account_id, region_name)


MODELS: Models = ()
FIXES: Fixes = {LambdaFunction: Fix(check=_check_function)}
