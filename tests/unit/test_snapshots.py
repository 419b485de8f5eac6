"""Snapshots of every stack template of every environment (refresh: make snapshot-update).

Asset hashes are blanked (tests/support.normalise), so editing a Lambda's code changes
only the snapshot of the stack that holds it, and only in its code's properties.
"""

from __future__ import annotations

from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.support import STACKS, normalise


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("name", sorted(STACKS))
def test_template_snapshot(templates: dict[str, Any], snapshot_json: SnapshotAssertion, name: str) -> None:
    assert normalise(templates[name]) == snapshot_json


def test_normalise_blanks_asset_hashes() -> None:
    digest = "ab" * 32
    template = {"Resources": {"Fn": {"Properties": {"Code": {"S3Key": f"{digest}.zip"}}}}}
    assert normalise(template)["Resources"]["Fn"]["Properties"]["Code"]["S3Key"] == "<asset-hash>.zip"
