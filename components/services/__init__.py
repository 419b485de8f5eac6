from components.services.cluster import ServicesCluster
from components.services.deployment import DeploymentGuard
from components.services.migration import MigrationTask
from components.services.registry import ImageRepositories, ReplicaSettings
from components.services.service import ApplicationService, BlueGreen

__all__ = [
    "ApplicationService",
    "BlueGreen",
    "DeploymentGuard",
    "ImageRepositories",
    "MigrationTask",
    "ReplicaSettings",
    "ServicesCluster",
]
