"""Construct and output ids from runbook names: `ml-service` -> `MlService`."""

from __future__ import annotations


def pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))
