from components.data.database import ENGINE_VERSION, PORT, Database

__all__ = ["ENGINE_VERSION", "PORT", "Database"]
