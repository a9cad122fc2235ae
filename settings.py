"""The one settings object, read from the environment once (``FOURWAY_`` + upper snake).

Every layer may import this module. It imports nothing of the project's own but the rules'
threshold declarations (``rules.thresholds``: pure, the standard library only, importing
nothing back), so that a threshold's setting is declared once, with its default and range,
and a bad one stops the process at its first ``get_settings()`` as every other bad setting
does, rather than at the first evaluation. (Importing it loads the ``rules`` package, which
every process that reads settings loads anyway; nothing in ``rules`` imports settings.)
"""

from __future__ import annotations

import os
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from rules.thresholds import SETTING_PREFIX, from_settings


class Settings(BaseSettings):
    """fourway's settings. Tests set the environment before the first ``get_settings()``."""

    model_config = SettingsConfigDict(env_prefix="FOURWAY_", extra="ignore")

    database_url: str = Field(
        default="sqlite://fourway.db",
        # The contract names this one without the prefix, as every hosting platform does.
        validation_alias=AliasChoices("DATABASE_URL", "FOURWAY_DATABASE_URL"),
    )
    debug: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    # The pool a PostgreSQL process keeps; SQLite uses one connection whatever this says.
    db_pool_max_size: int = 10
    sweep_interval_seconds: float = 300.0
    webhooks_allow_private_networks: bool = False
    # The dispatcher: `fourway serve` runs one unless told not to (run `fourway worker`s then).
    webhooks_dispatch_in_serve: bool = True
    webhooks_timeout_seconds: float = 10.0
    webhooks_poll_seconds: float = 1.0
    webhooks_batch_size: int = 50
    webhooks_concurrency: int = 8
    # A claim keeps other dispatchers off a batch this long; a dispatcher that dies holds
    # its batch no longer. Sends stop two timeouts before it ends (one to send, one to
    # record), so it is at least three timeouts.
    webhooks_lease_seconds: float = 60.0
    webhooks_disable_after_seconds: float = 3 * 24 * 3600
    cors_origins: list[str] = Field(default_factory=list)
    # How often live subscriptions look at the outbox when nothing wakes them (on PostgreSQL
    # a NOTIFY from the writing process usually does, at once).
    live_poll_seconds: float = 1.0
    # A websocket must send connection_init this soon after it opens, or it is closed with
    # 4408 (graphql-transport-ws). strawberry's own default is a minute: an idle socket
    # held that long costs a connection and a task for nothing.
    ws_connection_init_timeout_seconds: float = Field(default=10.0, gt=0)
    # The rules' thresholds for every engagement that does not override them, by name: each
    # is set by FOURWAY_RULES_<NAME> (FOURWAY_RULES_GRACE_DAYS), else its declared default
    # (rules.thresholds declares them all, with their ranges).
    rules_thresholds: dict[str, int | Decimal] = Field(default_factory=dict, validate_default=True)
    # What one GraphQL document may ask for; introspection can be switched off in production.
    graphql_max_depth: int = 15
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 5000
    # Fields one document selects, a fragment's counted wherever it is spread, and how often
    # one field may be selected in one selection set: they bound the work of validation
    # (api.core.shape), whose check that same-named fields merge compares them in pairs.
    graphql_max_fields: int = 1000
    graphql_max_repeats: int = 10
    graphql_introspection: bool = True
    # The nodes one request may ask for across its connections (api.core.limits.NodeBudget):
    # each connection counts its page (`first`/`last`, else the default page) times the
    # pages of the connections around it. bench/read_path.py's read of one engagement
    # (200 nodes with their fields) takes about 12 ms in process, some 60 us a node: 10,000
    # nodes is about half a second of one core, GitHub's 500,000 (with the same maximum
    # page of 100) would be half a minute. It admits a default page of engagements with
    # four full sides each (20 + 4 * 20 * 100 = 8,020) and refuses a full page inside a
    # full page (100 + 100 * 100 = 10,100): page the inner list with cursors instead.
    graphql_max_nodes: int = 10_000
    # "Did you mean ...?" in errors names the schema's fields and values; switch it off
    # with introspection when the schema is not public.
    graphql_suggestions: bool = True
    # Bigger request bodies get 413 unread; a document at max_tokens is tens of KB.
    graphql_max_body_bytes: int = 1024 * 1024
    # A request body must have arrived whole this long after the request began, or it is
    # answered 408 and the connection closed (0: no limit). A GraphQL document is small:
    # even a slow client sends one in well under a second.
    http_body_timeout_seconds: float = Field(default=30.0, ge=0)
    # How long a process on PostgreSQL trusts a key it has just looked up without looking
    # again (0: look up every request). Every process hears a revocation at once (NOTIFY),
    # which ends the trust; on SQLite, where `fourway apikey revoke` runs in a process the
    # server cannot hear, keys are looked up on every request whatever this says.
    auth_cache_seconds: float = Field(default=2.0, ge=0, le=60)
    # Connections: a page is `first`/`last` items, never more than `max_page_size`.
    default_page_size: int = 20
    max_page_size: int = 100
    # Operations: how `serve` and `worker` log (one JSON object per line, or plain text),
    # and whether /metrics answers (it needs no key: Prometheus scrapes it as it is).
    log_format: Literal["json", "text"] = "json"
    metrics_enabled: bool = True
    # How long /readyz and /metrics wait for the database before answering that it did not
    # (unready; the gauges left out): a probe must answer within the prober's own timeout.
    probe_timeout_seconds: float = Field(default=5.0, gt=0)
    # Retention (services.core.retention): days the outbox's events, finished webhook deliveries
    # (with their attempts) and audit entries are kept; 0 keeps them forever. An event is
    # kept while any delivery of it is. `serve` prunes every interval (0: never; run
    # `fourway prune` from cron instead).
    retention_events_days: int = Field(default=30, ge=0)
    retention_deliveries_days: int = Field(default=30, ge=0)
    retention_audit_days: int = Field(default=365, ge=0)
    retention_prune_interval_seconds: float = Field(default=3600.0, ge=0)
    # The result cache of GraphQL reads (web.result_cache): the most bytes of answers (and
    # their keys) one process keeps, least recently used dropped first; 0 switches it off.
    # 64 MiB holds a few thousand engagement pages beside a process's ~150 MB.
    result_cache_bytes: int = Field(default=64 * 1024 * 1024, ge=0)

    @field_validator("rules_thresholds", mode="before")
    @classmethod
    def _declared_thresholds(cls, given: Any) -> dict[str, int | Decimal]:
        return from_settings({str(name).lower(): str(value) for name, value in given.items()})

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            _RulesThresholds(settings_cls),
            dotenv_settings,
            file_secret_settings,
        )


class _RulesThresholds(PydanticBaseSettingsSource):
    """The FOURWAY_RULES_<NAME> variables as given, by lower-case name (in any case, as
    every other setting), for ``Settings.rules_thresholds``."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        given = {
            name[len(SETTING_PREFIX) :].lower(): value
            for name, value in os.environ.items()
            if name.upper().startswith(SETTING_PREFIX)
        }
        return {"rules_thresholds": given} if given else {}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process's settings, read from the environment on first use."""
    return Settings()
