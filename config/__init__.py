"""Per-environment configuration as frozen, validated dataclasses."""

from config.environments import load
from config.model import ConfigError, EnvironmentConfig

__all__ = ["ConfigError", "EnvironmentConfig", "load"]
