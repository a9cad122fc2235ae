"""The ``fourway`` command: serve, migrate, demo, sweep, prune, worker, schema."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import click

from services.core.errors import DomainError
from settings import Settings, get_settings

T = TypeVar("T")


@click.group(help="fourway keeps what was promised, bought, needed and delivered in step.")
def main() -> None:
    pass


def _run(coroutine: Coroutine[Any, Any, T], database_url: str) -> T:
    """Run ``coroutine``; a database that cannot be used is a one-line error, not a traceback."""
    from tortoise.exceptions import BaseORMException

    from models.db import DatabaseUrlError

    try:
        return asyncio.run(coroutine)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    except DatabaseUrlError as error:
        raise click.ClickException(str(error)) from None
    except (OSError, BaseORMException) as error:
        raise click.ClickException(
            f"cannot use the database at {_without_credentials(database_url)}: {error}"
        ) from None


def _without_credentials(database_url: str) -> str:
    parts = urlsplit(database_url)
    host = f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname or ""
    return urlunsplit(parts._replace(netloc=host))


def _log(settings: Settings) -> None:
    """Log the service's messages (a line per request and per delivery attempt, sweeps,
    failures) and uvicorn's to stderr, as JSON lines or text (FOURWAY_LOG_FORMAT)."""
    from observability.logs import configure

    configure(settings.log_format, debug=settings.debug)


def _migrate(database_url: str) -> None:
    from models.db import apply_migrations

    applied = _run(apply_migrations(database_url), database_url)
    for name in applied:
        click.echo(f"applied {name}")
    click.echo(f"{len(applied)} migration(s) applied; the database is up to date.")


@main.command(help="Apply pending migrations, then serve GraphQL at /graphql.")
@click.option("--host", default=None, help="Address to listen on (FOURWAY_HOST, 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to listen on (FOURWAY_PORT, 8000).")
@click.option(
    "--workers",
    default=1,
    type=click.IntRange(1, 64),
    help="Processes serving the port (uvicorn workers); use PostgreSQL for more than one.",
)
def serve(host: str | None, port: int | None, workers: int) -> None:
    import uvicorn

    from web.app import create_app

    settings = get_settings()
    _log(settings)
    # Once, before any worker starts: workers must not race to migrate or to make the key.
    _migrate(settings.database_url)
    _first_admin_key(settings.database_url)
    uvicorn.run(
        # Several workers each build the app from the environment in their own process.
        create_app(settings) if workers == 1 else "web.app:create_worker_app",
        factory=workers > 1,
        workers=workers,
        host=host or settings.host,
        port=port or settings.port,
        log_level="debug" if settings.debug else "info",
        # uvicorn's messages go through the handler _log set up; the app logs one line per
        # request itself (with its id, duration and operation), so uvicorn's access log is off.
        log_config=None,
        access_log=False,
        server_header=False,
    )


def _first_admin_key(database_url: str) -> None:
    """On a service without any API key, make an ADMIN key and print it, this once."""
    from services.access.api_keys import first_admin_key

    made = _run(_with_database(database_url, first_admin_key()), database_url)
    if made is not None:
        click.echo(
            "No API key existed, so this ADMIN key was made. Store it now: it is not shown "
            "again. Send it as 'Authorization: Bearer <key>'; make more with "
            "'fourway apikey create'."
        )
        click.echo(made.key)


async def _with_database(database_url: str, work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` with the ORM open on ``database_url``."""
    from tortoise import Tortoise

    from models.db import tortoise_config

    await Tortoise.init(config=tortoise_config(database_url))
    try:
        return await work
    finally:
        await Tortoise.close_connections()


@main.command(help="Apply pending migrations to DATABASE_URL and exit.")
def migrate() -> None:
    _migrate(get_settings().database_url)


@main.command(help="Load a sample portfolio (clients, engagements, mismatched sides).")
def demo() -> None:
    from tortoise import Tortoise

    from demo.portfolio import DemoAlreadyLoaded, load_demo
    from models.db import tortoise_config

    settings = get_settings()
    _migrate(settings.database_url)

    async def run() -> str:
        await Tortoise.init(config=tortoise_config(settings.database_url))
        try:
            return await load_demo()
        except DemoAlreadyLoaded as loaded:
            # Loading twice is not a failure: the portfolio is there, as asked.
            return str(loaded)
        finally:
            await Tortoise.close_connections()

    click.echo(_run(run(), settings.database_url))


@main.command(help="Re-evaluate every active engagement now, once, and print a summary.")
def sweep() -> None:
    from tortoise import Tortoise

    from models.db import tortoise_config
    from services.alerts.sweep import sweep as sweep_once

    settings = get_settings()

    async def run() -> str:
        await Tortoise.init(config=tortoise_config(settings.database_url))
        try:
            return str(await sweep_once())
        finally:
            await Tortoise.close_connections()

    click.echo(_run(run(), settings.database_url))


@main.command(
    help="Delete events, finished webhook deliveries and audit entries older than "
    "FOURWAY_RETENTION_*_DAYS allow, once, and print what was deleted."
)
def prune() -> None:
    from services.core.retention import Retention
    from services.core.retention import prune as prune_once

    settings = get_settings()
    url = settings.database_url
    pruned = _run(_with_database(url, prune_once(retention=Retention.from_settings(settings))), url)
    click.echo(str(pruned))


@main.command(
    help="Send webhook deliveries until stopped (Ctrl-C or SIGTERM), beside or instead of "
    "the dispatcher in `serve` (FOURWAY_WEBHOOKS_DISPATCH_IN_SERVE=false)."
)
def worker() -> None:
    import signal

    from tortoise import Tortoise

    from models.db import tortoise_config
    from services.core.feed import listen_for_commits
    from webhooks.wiring import build_dispatcher, dispatch_forever

    settings = get_settings()
    _log(settings)

    async def run() -> None:
        await Tortoise.init(
            config=tortoise_config(settings.database_url, pool_max_size=settings.db_pool_max_size)
        )
        dispatcher = build_dispatcher()
        # Woken at once by the API processes' commits, not only at its next poll.
        listener = await listen_for_commits(settings.database_url)
        loop = asyncio.get_running_loop()
        for stop in (signal.SIGTERM, signal.SIGINT):
            # Graceful: the sends in flight finish and are recorded before it exits.
            loop.add_signal_handler(stop, dispatcher.stop)
        logging.getLogger(__name__).info("dispatching webhook deliveries; stop with Ctrl-C")
        try:
            await dispatch_forever(dispatcher)
        finally:
            if listener is not None:
                await listener.close()
            await Tortoise.close_connections()

    _run(run(), settings.database_url)


@main.group(help="Make, list and revoke API keys.")
def apikey() -> None:
    pass


@apikey.command(
    "create", help="Make an API key; the key is printed alone on the last line, this once."
)
@click.option(
    "--role",
    required=True,
    type=click.Choice(["ADMIN", "FINANCE", "SALES", "DELIVERY", "VIEWER"], case_sensitive=False),
)
@click.option("--name", required=True, help="What the key is for, e.g. 'finance export'.")
@click.option("--person", default=None, help="The Person the key acts for (its global id).")
@click.option(
    "--expires-at",
    default=None,
    help="When it stops working, ISO 8601 with an offset (2027-01-01T00:00:00+00:00).",
)
def apikey_create(role: str, name: str, person: str | None, expires_at: str | None) -> None:
    import datetime as dt

    from api.core.relay import from_global_id
    from services.access.api_keys import create_api_key
    from services.core.audit import COMMAND, acting_as

    options: dict[str, Any] = {}
    if person is not None:
        try:
            type_name, options["person_id"] = from_global_id(person)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--person") from None
        if type_name != "Person":
            raise click.BadParameter("names no Person", param_hint="--person")
    if expires_at is not None:
        try:
            options["expires_at"] = dt.datetime.fromisoformat(expires_at)
        except ValueError:
            raise click.BadParameter(
                "must be ISO 8601, such as 2027-01-01T00:00:00+00:00", param_hint="--expires-at"
            ) from None
    url = get_settings().database_url
    with acting_as(COMMAND):
        made = _run(
            _with_database(url, create_api_key(name=name, role=role.upper(), **options)), url
        )
    click.echo(
        f"made {made.api_key.prefix} ({made.api_key.role.value}, {made.api_key.name!r}); "
        "store the key now, it is not shown again:"
    )
    click.echo(made.key)


@apikey.command("list", help="List API keys by their visible prefix (never the keys).")
def apikey_list() -> None:
    from services.access.api_keys import list_api_keys

    url = get_settings().database_url
    rows = _run(_with_database(url, list_api_keys()), url)
    click.echo("prefix       role      state     expires                    name")
    for row in rows:
        state = "revoked" if row.revoked_at else "active"
        expires = row.expires_at.isoformat() if row.expires_at else "never"
        click.echo(f"{row.prefix:<12} {row.role.value:<9} {state:<9} {expires:<26} {row.name}")


@apikey.command("revoke", help="Stop the key with this prefix (fw_...) from working.")
@click.argument("prefix")
def apikey_revoke(prefix: str) -> None:
    from services.access.api_keys import revoke_api_key
    from services.core.audit import COMMAND, acting_as

    url = get_settings().database_url
    with acting_as(COMMAND):
        row = _run(_with_database(url, revoke_api_key(prefix=prefix)), url)
    click.echo(f"revoked {row.prefix} ({row.name!r})")


@main.command(
    help="Write the GraphQL schema (SDL) to PATH (./schema.graphql), or to stdout with -."
)
@click.argument("path", default=None, required=False)
def schema(path: str | None) -> None:
    from api.schema import schema_sdl

    sdl = schema_sdl()
    if path == "-":
        sys.stdout.write(sdl)
        return
    target = path or "schema.graphql"
    with open(target, "w", encoding="utf-8") as handle:
        handle.write(sdl)
    click.echo(f"wrote {target}")


if __name__ == "__main__":
    main()
