"""The Tortoise configuration for a database URL, shared by the server, the CLI and tests."""

from __future__ import annotations

from typing import Any

APP_LABEL = "fourway"


def tortoise_config(database_url: str, *, pool_max_size: int = 10) -> dict[str, Any]:
    """Return Tortoise's config for ``database_url`` (``sqlite://`` or ``postgres://``)."""
    connection: str | dict[str, Any] = database_url
    if database_url.startswith(("postgres://", "postgresql://", "asyncpg://")):
        from tortoise.backends.base.config_generator import expand_db_url

        connection = expand_db_url(database_url)
        connection["credentials"].setdefault("maxsize", pool_max_size)
    return {
        "connections": {"default": connection},
        "apps": {
            APP_LABEL: {
                "models": ["models"],
                "migrations": "migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def apply_migrations(database_url: str) -> list[str]:
    """Apply pending migrations to ``database_url``; return the names applied, in order."""
    from tortoise import Tortoise
    from tortoise.migrations.api import migrate

    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")

    try:
        await migrate(config=tortoise_config(database_url), progress=progress)
    finally:
        await Tortoise.close_connections()
    return applied
