"""Who is calling: the API key a request or websocket came with, and what it acts as.
``web.auth`` finds it; access checks and resolvers read it from the context."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models import ApiKey
from models.enums import Role
from services.core.audit import Actor, ActorKind


@dataclass(frozen=True)
class Principal:
    """The API key a request came with, and what it acts as."""

    key_id: int
    prefix: str
    role: Role
    person_id: int | None
    expires_at: datetime | None = None

    @classmethod
    def of(cls, row: ApiKey) -> Principal:
        return cls(
            key_id=row.id,
            prefix=row.prefix,
            role=row.role,
            person_id=row.person_id,
            expires_at=row.expires_at,
        )

    @property
    def actor(self) -> Actor:
        """Who the audit trail records the key's changes against."""
        return Actor(
            ActorKind.API_KEY,
            key_id=self.key_id,
            key_prefix=self.prefix,
            person_id=self.person_id,
            role=self.role.value,
        )
