from components.services.cluster import ServicesCluster
from components.services.deployment import DeploymentGuard
from components.services.migration import MigrationTask
from components.services.registry import SERVICE_NAMES, ImageRepositories
from components.services.service import ApplicationService, BlueGreen
from config.services import SPECS, Exposure, ServiceSpec

__all__ = [
    "SERVICE_NAMES",
    "SPECS",
    "ApplicationService",
    "BlueGreen",
    "DeploymentGuard",
    "Exposure",
    "ImageRepositories",
    "MigrationTask",
    "ServiceSpec",
    "ServicesCluster",
]
