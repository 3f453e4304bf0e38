"""Platform settings, read once from the environment (prefix ``LOCATIONS_``) and ``.env``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The project's root folder: where ``data/`` and the embedded cluster live.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Geometries are stored in ETRS89-LAEA: metres, equal area, valid across SI and AT.
STORAGE_SRID = 3035


class Settings(BaseSettings):
    """Everything configurable about the platform.

    ``DATABASE_URL`` (without prefix) points at an external PostGIS; when it is
    unset the platform runs its own embedded cluster under ``embedded_dir``.
    """

    model_config = SettingsConfigDict(env_prefix="LOCATIONS_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "LOCATIONS_DATABASE_URL")
    )
    embedded_dir: Path = PROJECT_ROOT / ".data" / "pg"
    embedded_db: str = "locations"
    pg_bin: Path = Path("/usr/lib/postgresql/15/bin")
    data_dir: Path = PROJECT_ROOT / "data"
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 20 * 1024 * 1024
    # GIS files uploaded to POST /imports: a region's cadastral file runs to hundreds of MB.
    max_upload_bytes: int = 1024 * 1024 * 1024
    # Plots in one download (GET /exports/plots): a whole search is built in memory, so an
    # unbounded one from anybody is a way to tie up the server. The CLI has no limit.
    max_export_rows: int = 250_000


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache to change them)."""
    return Settings()
