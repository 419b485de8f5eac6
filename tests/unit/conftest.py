"""Fixtures of the unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from emulator.adapter import install
from tests.support import offline_aws


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in-process with the local emulator's adapter installed (no server, no CDK CLI)."""
    offline_aws(monkeypatch)
    install()
    with mock_aws():
        yield
