"""API keys called directly: made and shown once, checked, revoked, expired."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from models import ApiKey, AuditEntry
from models.enums import Role
from services.access.api_keys import (
    authenticate,
    create_api_key,
    dead_among,
    first_admin_key,
    is_live,
    list_api_keys,
    revoke_api_key,
)
from services.core.errors import Conflict, ErrorCode, FieldError, Invalid, NotFound
from tests.services.scenarios import scene


async def test_a_key_is_stored_only_as_its_hash_and_found_by_its_prefix(database_url):
    s = await scene()

    made = await create_api_key(name="Finance export", role="VIEWER", person_id=s.seller)

    prefix = made.api_key.prefix
    assert prefix.startswith("fw_") and len(prefix) == 11
    assert made.key.startswith(prefix + "_")
    assert len(made.key.removeprefix(prefix + "_")) >= 32  # the secret may hold "_" itself
    stored = await ApiKey.get(id=made.api_key.id)
    assert stored.key_hash == hashlib.sha256(made.key.encode()).hexdigest()
    assert (stored.role, stored.person_id) == (Role.VIEWER, s.seller)
    entry = await AuditEntry.get(action="api_key.created")
    assert entry.after is not None and entry.after["prefix"] == prefix
    assert made.key not in json.dumps(entry.after) and "keyHash" not in entry.after
    assert await authenticate(made.key) == stored


async def test_a_key_with_a_bad_role_or_a_missing_person_is_not_made(database_url):
    with pytest.raises(Invalid) as refused:
        await create_api_key(name="", role="OWNER", person_id=99999)

    assert {(e.field, e.code) for e in refused.value.errors} == {
        ("name", ErrorCode.VALIDATION),
        ("role", ErrorCode.VALIDATION),
        ("person_id", ErrorCode.NOT_FOUND),
    }
    assert not await ApiKey.all().exists()


@pytest.mark.parametrize(
    "wrong", ["", "nope", "fw_short_secret", "fw_abcdefgh_", "fw_abcdefgh_not-the-secret"]
)
async def test_anything_but_the_whole_key_is_nobody(database_url, wrong):
    await create_api_key(name="tests", role="ADMIN")

    assert await authenticate(wrong) is None


async def test_a_key_with_the_right_prefix_and_a_wrong_secret_is_nobody(database_url):
    made = await create_api_key(name="tests", role="ADMIN")

    assert await authenticate(made.key + "x") is None
    assert await authenticate(made.key[:-1]) is None


async def test_a_revoked_key_stops_working_even_where_it_was_trusted(database_url):
    made = await create_api_key(name="tests", role="SALES")
    assert await authenticate(made.key, trust_seconds=3600) is not None

    revoked = await revoke_api_key(prefix=f" {made.api_key.prefix} ")

    assert revoked.revoked_at is not None
    assert await authenticate(made.key, trust_seconds=3600) is None
    assert await is_live(made.api_key.id) is False
    assert [k.prefix for k in await list_api_keys()] == [made.api_key.prefix]  # still listed
    entry = await AuditEntry.get(action="api_key.revoked")
    assert entry.changed_fields == ["revokedAt"]


async def test_a_key_is_revoked_once_and_an_unknown_prefix_is_not_found(database_url):
    made = await create_api_key(name="tests", role="SALES")
    await revoke_api_key(prefix=made.api_key.prefix)

    with pytest.raises(Conflict) as twice:
        await revoke_api_key(prefix=made.api_key.prefix)
    with pytest.raises(NotFound) as unknown:
        await revoke_api_key(prefix="fw_zzzzzzzz")

    assert twice.value.errors[0].field == "prefix"
    assert twice.value.errors[0].message.startswith("The key was revoked at ")
    assert unknown.value.errors == (
        FieldError("prefix", "No API key starts with 'fw_zzzzzzzz'.", ErrorCode.NOT_FOUND),
    )
    assert await AuditEntry.filter(action="api_key.revoked").count() == 1


async def test_an_expired_key_is_nobody_from_its_expiry_on(database_url):
    expiry = datetime(2030, 1, 1, tzinfo=UTC)
    made = await create_api_key(name="contractor", role="VIEWER", expires_at=expiry)
    other = await create_api_key(name="forever", role="VIEWER")

    assert await authenticate(made.key, now=expiry - timedelta(seconds=1)) is not None
    assert await authenticate(made.key, now=expiry) is None
    assert await is_live(made.api_key.id, now=expiry) is False
    assert await dead_among([made.api_key.id, other.api_key.id, 99999], now=expiry) == {
        made.api_key.id,
        99999,
    }
    assert await dead_among([]) == set()


async def test_the_first_admin_key_is_made_only_on_a_service_without_keys(database_url):
    first = await first_admin_key()

    assert first is not None and first.api_key.role == Role.ADMIN
    assert await first_admin_key() is None
    assert await ApiKey.all().count() == 1
