from components.security.secrets import ApplicationSecrets

__all__ = ["ApplicationSecrets"]
