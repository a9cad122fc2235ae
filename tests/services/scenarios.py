"""Small scenes the service tests share, built with the services themselves (no HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from models import AuditEntry, Event
from models.enums import EngagementFunction, OrganizationKind, Raci
from services.compensation.commission_plans import create_commission_plan, set_engagement_credits
from services.core.audit import Actor, ActorKind, acting_as
from services.engagements.engagements import create_engagement
from services.engagements.purchases import create_purchase
from services.engagements.roles import create_role_assignment
from services.parties.organizations import create_organization
from services.parties.people import create_person

SIGNED = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Scene:
    """A client (Acme) with a person of its own, a provider (Northbeam) with a seller and a
    delivery lead, and one PROPOSED EUR engagement for Acme."""

    client: int
    provider: int
    client_person: int
    seller: int
    lead: int
    engagement: int


async def scene(*, currency: str = "EUR") -> Scene:
    acme = await create_organization(name="Acme", kind=OrganizationKind.CLIENT)
    northbeam = await create_organization(name="Northbeam", kind=OrganizationKind.PROVIDER)
    cleo = await create_person(
        name="Cleo Client", email="cleo@acme.example", organization_id=acme.id
    )
    sam = await create_person(
        name="Sam Seller", email="sam@northbeam.example", organization_id=northbeam.id
    )
    dee = await create_person(
        name="Dee Lead", email="dee@northbeam.example", organization_id=northbeam.id
    )
    engagement = await create_engagement(name="ERP", client_id=acme.id, currency=currency)
    return Scene(acme.id, northbeam.id, cleo.id, sam.id, dee.id, engagement.record.id)


async def give_role(
    engagement_id: int, person_id: int, function: EngagementFunction, raci: Raci = Raci.RESPONSIBLE
) -> int:
    made = await create_role_assignment(
        engagement_id=engagement_id, person_id=person_id, function=function, raci=raci
    )
    return made.record.id


@contextmanager
def as_person(person_id: int | None, *, role: str = "SALES", key_id: int = 7) -> Iterator[None]:
    """Act as an API key (of ``role``) tied to ``person_id``, as a request would."""
    with acting_as(
        Actor(
            ActorKind.API_KEY, key_id=key_id, key_prefix="fw_test", person_id=person_id, role=role
        )
    ):
        yield


async def audit_actions(**where: object) -> list[str]:
    return [e.action for e in await AuditEntry.filter(**where).order_by("id")]


async def event_types(engagement_id: int | None = None) -> list[str]:
    query = Event.all() if engagement_id is None else Event.filter(engagement_id=engagement_id)
    return [e.type for e in await query.order_by("id")]


async def sale(s: Scene, *, rate: str = "0.10", floor: str = "0.20") -> int:
    """A default plan (``rate`` of the margin, nothing below ``floor``), the seller holding
    SALES and credited alone, 100,000 bought at an estimated 60,000 and signed: the deal is
    not approved yet. Returns the plan's id."""
    plan = await create_commission_plan(
        name="Standard",
        rate_on_margin=Decimal(rate),
        margin_floor_pct=Decimal(floor),
        is_default=True,
    )
    await give_role(s.engagement, s.seller, EngagementFunction.SALES, Raci.ACCOUNTABLE)
    await set_engagement_credits(
        engagement_id=s.engagement, credits=[{"person_id": s.seller, "split_pct": Decimal(1)}]
    )
    await create_purchase(
        engagement_id=s.engagement,
        item="build",
        description="Build it",
        quantity=Decimal(100),
        amount=Decimal(100000),
        estimated_cost=Decimal(60000),
        signed_at=SIGNED,
    )
    return plan.id
