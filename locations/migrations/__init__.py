"""Alembic migrations of the platform's schema."""
