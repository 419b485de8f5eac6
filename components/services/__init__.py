from components.services.registry import SERVICE_NAMES, ImageRepositories

__all__ = ["SERVICE_NAMES", "ImageRepositories"]
