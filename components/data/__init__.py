from components.data.database import ADMIN_USER, APP_USER, ENGINE_VERSION, PORT, Database

__all__ = ["ADMIN_USER", "APP_USER", "ENGINE_VERSION", "PORT", "Database"]
