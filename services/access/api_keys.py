"""API keys: made (shown once), listed by their visible prefix, revoked, and checked.

A key reads ``fw_<8 characters>_<secret>``. The first part is its prefix, stored in the
clear and shown in lists; the whole key is stored only as its SHA-256. A key carries 256
random bits, so a fast hash is enough: nothing can be guessed from it.

Connections that outlast a request (websockets) hear of a revocation at once: in the
revoking process through :func:`listen_for_revocations`, and on PostgreSQL in every
process through a NOTIFY on ``REVOKED_CHANNEL`` sent with the revoking transaction, which
each process's LISTEN connection (``services.core.feed.listen_for_commits``) turns into the
same call.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise import connections
from tortoise.transactions import in_transaction

from models import ApiKey, Person
from models.enums import Role
from services.core import audit
from services.core.errors import Conflict, NotFound
from services.core.fields import Choice, Moment, Ref, Text, clean

KEY_START = "fw_"
_ALPHABET = string.ascii_lowercase + string.digits

SPEC = {
    "name": Text(max_length=200),
    "role": Choice(enum=Role),
    "person_id": Ref(model=Person, label="person", nullable=True),
    "expires_at": Moment(nullable=True),
}


@dataclass(frozen=True)
class WithKey:
    """A new API key's record and the key itself, which is shown this once."""

    api_key: ApiKey
    key: str


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key() -> tuple[str, str]:
    prefix = KEY_START + "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return prefix, f"{prefix}_{secrets.token_urlsafe(32)}"


async def create_api_key(*, name: str, role: str, **optional: Any) -> WithKey:
    """Make a key acting in ``role`` (optionally for a person, until a time)."""
    values = await clean(
        SPEC, {"name": name, "role": role, **optional}, required=frozenset({"name", "role"})
    )
    prefix, key = _new_key()
    async with in_transaction():
        row = await ApiKey.create(prefix=prefix, key_hash=_hash(key), **values)
        await audit.created(row)
    return WithKey(row, key)


async def list_api_keys() -> list[ApiKey]:
    return await ApiKey.all().order_by("id")


async def revoke_api_key(*, prefix: str) -> ApiKey:
    """Stop a key from working, from now on; it stays listed as revoked."""
    async with in_transaction():
        row = await ApiKey.select_for_update().get_or_none(prefix=prefix.strip())
        if row is None:
            raise NotFound("prefix", f"No API key starts with {prefix.strip()!r}.")
        if row.revoked_at is not None:
            raise Conflict("prefix", f"The key was revoked at {row.revoked_at.isoformat()}.")
        before = audit.snapshot(row)
        row.revoked_at = datetime.now(UTC)
        await row.save(update_fields=["revoked_at", "updated_at"])
        await audit.updated(row, before=before, verb="revoked")
        await _notify_revoked(row.id)
    revoked(row.id)
    return row


# Every process LISTENs here; the payload is the revoked key's id. Sent inside the revoking
# transaction, so it arrives only if and when the revocation commits.
REVOKED_CHANNEL = "fourway_key_revoked"

_revocation_listeners: set[Callable[[int], None]] = set()


async def _notify_revoked(key_id: int) -> None:
    connection = connections.get("default")
    if connection.capabilities.dialect == "postgres":
        await connection.execute_query("SELECT pg_notify($1, $2)", [REVOKED_CHANNEL, str(key_id)])


def listen_for_revocations(listener: Callable[[int], None]) -> None:
    """Call ``listener`` with the id of every key revoked from now on (in this process, or
    on PostgreSQL in any)."""
    _revocation_listeners.add(listener)


def stop_listening_for_revocations(listener: Callable[[int], None]) -> None:
    _revocation_listeners.discard(listener)


def revoked(key_id: int) -> None:
    """Say that the key ``key_id`` was revoked and committed. Harmless when said twice."""
    for listener in list(_revocation_listeners):
        listener(key_id)


# Live keys this process looked up lately, by their hash: the row, and until when (on the
# monotonic clock) it is trusted without a query. Looking a key up was a quarter of the CPU
# of a request as small as `{ __typename }`.
_trusted: dict[str, tuple[ApiKey, float]] = {}
_TRUSTED_MAX = 1024
# Counts the revocations heard, so that a lookup a revocation overtook is not trusted.
_revocations_heard = 0


def _distrust(key_id: int) -> None:
    global _revocations_heard
    _revocations_heard += 1
    for digest in [d for d, (row, _) in _trusted.items() if row.id == key_id]:
        del _trusted[digest]


listen_for_revocations(_distrust)


async def authenticate(
    key: str, *, now: datetime | None = None, trust_seconds: float = 0.0
) -> ApiKey | None:
    """The live key ``key`` is, or None: unknown, wrong, revoked and expired keys alike.

    With ``trust_seconds``, a key found live is trusted that long without another query,
    unless its revocation is heard (see :func:`revoked`); its expiry is checked every time.
    """
    if not key.startswith(KEY_START):
        return None
    short, _, secret = key.removeprefix(KEY_START).partition("_")  # the secret may hold "_"
    if len(short) != 8 or not secret:
        return None
    now = now or datetime.now(UTC)
    digest = _hash(key)
    trusted = _trusted.get(digest)
    if trusted is not None and trusted[1] > time.monotonic():
        return trusted[0] if _live(trusted[0], now) else None
    heard = _revocations_heard
    row = await ApiKey.get_or_none(prefix=KEY_START + short)
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    if not _live(row, now):
        return None
    if trust_seconds > 0 and heard == _revocations_heard:
        if len(_trusted) >= _TRUSTED_MAX:
            del _trusted[next(iter(_trusted))]  # the oldest
        _trusted[digest] = (row, time.monotonic() + trust_seconds)
    return row


def _live(row: ApiKey, now: datetime) -> bool:
    return row.revoked_at is None and (row.expires_at is None or row.expires_at > now)


async def is_live(key_id: int, *, now: datetime | None = None) -> bool:
    """Whether the key is still neither revoked nor expired (for connections that last)."""
    row = await ApiKey.get_or_none(id=key_id)
    return row is not None and _live(row, now or datetime.now(UTC))


async def dead_among(key_ids: Iterable[int], *, now: datetime | None = None) -> set[int]:
    """Which of ``key_ids`` no longer work: revoked, expired or gone, in one query."""
    wanted = set(key_ids)
    if not wanted:
        return set()
    now = now or datetime.now(UTC)
    live = {row.id for row in await ApiKey.filter(id__in=wanted) if _live(row, now)}
    return wanted - live


async def first_admin_key() -> WithKey | None:
    """On a service with no key at all, make an ADMIN key (its first user's); else None."""
    async with in_transaction():
        if await ApiKey.exists():
            return None
        return await create_api_key(name="first admin key", role=Role.ADMIN.value)
