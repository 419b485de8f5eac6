"""SNS: topic policies."""

from __future__ import annotations

import json
from typing import Any

from moto.sns.models import sns_backends

from emulator.services.base import AppliedModel, Fixes, Models


class TopicPolicy(AppliedModel):
    """AWS::SNS::TopicPolicy: set as each topic's Policy attribute (readable with get-topic-attributes)."""

    def __init__(self, topics: list[str]) -> None:
        self.topics = topics

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::TopicPolicy"

    @property
    def physical_resource_id(self) -> str:
        return ",".join(self.topics)

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> TopicPolicy:
        backend = sns_backends[account_id][region_name]
        for topic in props["Topics"]:
            backend.set_topic_attribute(topic, "policy", json.dumps(props["PolicyDocument"]))
        return cls(list(props["Topics"]))


MODELS: Models = (TopicPolicy,)
FIXES: Fixes = {}
