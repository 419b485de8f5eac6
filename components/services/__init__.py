from components.services.cluster import ServicesCluster, log_group_name
from components.services.registry import SERVICE_NAMES, ImageRepositories

__all__ = ["SERVICE_NAMES", "ImageRepositories", "ServicesCluster", "log_group_name"]
