"""Alembic migrations for monitor.storage.models; shipped inside the package."""
